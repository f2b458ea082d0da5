"""Feeds per country and language: the plain URL keeps serving the channel's default country and
language; ``?country=&language=`` serves another pair the channel sells in, with texts in that
language (fallback: the channel's language, then English), prices for that country, and a 400
problem for a country or language the channel does not sell in."""

# ruff: noqa: F811 (the fixtures imported from the world module are the parameters)

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from catalog import services as catalog_services
from catalog.models import AttributeOption, Product
from channels import relay
from channels.feeds import services as feeds
from channels.models import Feed, FeedItem
from core import services as core_services
from core.models import Channel, ChannelCountry
from tests.cache import cache_clear
from tests.channels.feed_world import (  # noqa: F401  (fixtures)
    G,
    _render_at_once,
    feed_shop,
)
from tests.shop import Shop

DUTCH_NAME = "Biologisch shirt"
DUTCH_DESCRIPTION = "Zacht katoen, eerlijk gemaakt."


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _xml_titles(body: bytes) -> dict[str, dict[str, str]]:
    items: dict[str, dict[str, str]] = {}
    for item in ET.fromstring(body).iter("item"):
        fields = {el.tag[len(G) :]: el.text or "" for el in item}
        items[fields["id"]] = fields
    return items


def _sell_in(channel: Channel, languages: dict[str, str]) -> None:
    core_services.channel_countries_set(channel=channel, countries=list(languages))
    for country, names in languages.items():
        ChannelCountry.objects.filter(channel=channel, country=country).update(languages=names)


def _translate_tee(shop: Shop) -> None:
    """The tee in Dutch (name, description, the colour's label) and approved again."""
    product = shop.s.product
    AttributeOption.objects.filter(label="S").update(label_nl="Klein")
    catalog_services.product_translation_save(
        product=product,
        language="nl",
        values={"name": DUTCH_NAME, "description": DUTCH_DESCRIPTION},
    )
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW
    catalog_services.product_approve(product_ids=[product.pk])
    relay.relay_run()


@pytest.fixture
def dutch_shop(feed_shop: Shop) -> Shop:
    """Google and Meta sell in English by default (en-GB) in NL, and in Dutch in NL and BE,
    and in French in BE; the tee has Dutch texts, no French ones."""
    cache_clear()
    for code in ("google", "meta"):
        channel = Channel.objects.get(code=code)
        channel.locale = "en-GB"
        channel.save(update_fields=["locale"])
        _sell_in(channel, {"NL": "en, nl", "BE": "nl, fr"})
    _translate_tee(feed_shop)
    for code in ("google", "meta"):
        feeds.feed_rebuild(Channel.objects.get(code=code))
    return feed_shop


def test_the_plain_feed_stays_in_the_channels_language_and_dutch_is_asked_for(
    dutch_shop: Shop, client: Client
) -> None:
    plain = client.get("/channels/google/feed.xml")
    dutch = client.get("/channels/google/feed.xml?country=NL&language=nl")
    assert plain.status_code == dutch.status_code == 200
    english = _xml_titles(_body(plain))["ORGANIC-TEE-S"]
    assert english["title"].startswith("Organic") and DUTCH_NAME not in english["title"]
    small = _xml_titles(_body(dutch))["ORGANIC-TEE-S"]
    assert small["title"].startswith(DUTCH_NAME)
    assert small["description"] == DUTCH_DESCRIPTION
    assert (small["size"], small["gender"], small["age_group"]) == ("Klein", "unisex", "adult")
    assert small["price"] == english["price"] and small["link"] == english["link"]
    assert dutch["ETag"] != plain["ETag"]
    assert dutch["Content-Disposition"] == 'inline; filename="google-nl-nl.xml"'


def test_the_default_pair_asked_for_explicitly_is_the_plain_file(
    dutch_shop: Shop, client: Client
) -> None:
    plain = client.get("/channels/google/feed.xml")
    plain_body = _body(plain)  # read before the next request opens the same stored file
    explicit = client.get("/channels/google/feed.xml?country=nl&language=en-GB")
    assert _body(explicit) == plain_body and explicit["ETag"] == plain["ETag"]


def test_a_language_without_texts_falls_back_to_the_channels_language_then_english(
    dutch_shop: Shop, client: Client
) -> None:
    response = client.get("/channels/google/feed.tsv?country=BE&language=fr")
    assert response.status_code == 200
    lines = _body(response).decode().splitlines()
    header = lines[0].split("\t")
    rows = {
        r["id"]: r for r in (dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:])
    }
    # no French text: the channel's language (English) is next in the chain
    assert rows["ORGANIC-TEE-S"]["title"].startswith("Organic")
    # a channel whose own language is Dutch falls back to Dutch before English
    google = Channel.objects.get(code="google")
    google.locale = "nl-BE"
    google.save(update_fields=["locale"])
    feeds.feed_rebuild(google)
    again = client.get("/channels/google/feed.tsv?country=BE&language=fr")
    lines = _body(again).decode().splitlines()
    rows = {
        r["id"]: r for r in (dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:])
    }
    assert rows["ORGANIC-TEE-S"]["title"].startswith(DUTCH_NAME)


def test_the_meta_feed_in_dutch(dutch_shop: Shop, client: Client) -> None:
    response = client.get("/channels/meta/feed.csv?language=nl")  # the default country, NL
    assert response.status_code == 200
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(_body(response).decode()))}
    assert rows["ORGANIC-TEE-S"]["title"].startswith(DUTCH_NAME)
    assert rows["ORGANIC-TEE-S"]["description"] == DUTCH_DESCRIPTION
    assert rows["ORGANIC-TEE-S"]["gender"] == "unisex"
    plain = client.get("/channels/meta/feed.csv")
    plain_rows = {row["id"]: row for row in csv.DictReader(io.StringIO(_body(plain).decode()))}
    assert plain_rows["ORGANIC-TEE-S"]["title"].startswith("Organic")


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("country=DE&language=de", "unsupported_country", "country"),
        ("country=XX", "unsupported_country", "country"),
        ("country=NL&language=fr", "unsupported_locale", "language"),  # French only in BE
        ("language=de", "unsupported_locale", "language"),
        ("language=klingon", "unsupported_locale", "language"),
    ],
)
def test_a_country_or_language_the_channel_does_not_sell_in_is_a_400_problem(
    dutch_shop: Shop, client: Client, query: str, code: str, field: str
) -> None:
    files = {feed.path for feed in Feed.objects.all()}
    response = client.get(f"/channels/google/feed.xml?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["errors"][0]["field"] == field
    assert {"country": "BE", "language": "fr"} in problem["locales"]
    assert {feed.path for feed in Feed.objects.all()} == files  # nothing written


def test_an_unknown_format_or_channel_is_still_404_with_a_locale(
    dutch_shop: Shop, client: Client
) -> None:
    assert client.get("/channels/google/feed.csv?country=BE&language=fr").status_code == 404
    assert client.get("/channels/nope/feed.xml?country=BE").status_code == 404


def test_conditional_get_of_a_locale_file(dutch_shop: Shop, client: Client) -> None:
    first = client.get("/channels/google/feed.xml?country=BE&language=nl")
    etag = first["ETag"]
    again = client.get("/channels/google/feed.xml?country=BE&language=nl", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304


def test_each_pair_is_stored_in_the_item_and_the_files_follow_a_change(
    dutch_shop: Shop, client: Client
) -> None:
    google = Channel.objects.get(code="google")
    item = FeedItem.objects.get(channel=google, variant_id=dutch_shop.s.pk)
    assert set(item.fields["locales"]) == {"NL:nl", "BE:nl", "BE:fr"}
    before = client.get("/channels/google/feed.xml?country=BE&language=nl")
    assert _xml_titles(_body(before))["ORGANIC-TEE-S"]["title"].startswith(DUTCH_NAME)

    # a new Dutch name, approved: the relay marks the product, the refresh writes every file
    product = dutch_shop.s.product
    catalog_services.product_translation_save(
        product=product, language="nl", values={"name": "Nieuw shirt"}
    )
    catalog_services.product_approve(product_ids=[product.pk])
    relay.relay_run()
    after = client.get("/channels/google/feed.xml?country=BE&language=nl")
    assert _xml_titles(_body(after))["ORGANIC-TEE-S"]["title"].startswith("Nieuw shirt")
    assert after["ETag"] != before["ETag"]


def test_a_locale_file_lost_from_the_cache_is_written_again_from_the_items(
    dutch_shop: Shop, client: Client
) -> None:
    first = client.get("/channels/google/feed.xml?country=BE&language=nl")
    first_body = _body(first)
    cache_clear()
    again = client.get("/channels/google/feed.xml?country=BE&language=nl")
    assert again.status_code == 200 and again["ETag"] == first["ETag"]
    assert _body(again) == first_body and DUTCH_NAME.encode() in first_body


def test_a_language_added_to_a_country_is_served_at_once(dutch_shop: Shop, client: Client) -> None:
    google = Channel.objects.get(code="google")
    assert client.get("/channels/google/feed.xml?country=NL&language=de").status_code == 400
    ChannelCountry.objects.filter(channel=google, country="NL").update(languages="en, nl, de")
    response = client.get("/channels/google/feed.xml?country=NL&language=de")
    assert response.status_code == 200
    # no German text: the channel's language, English
    assert _xml_titles(_body(response))["ORGANIC-TEE-S"]["title"].startswith("Organic")


def test_prices_follow_the_country_of_the_file(dutch_shop: Shop, client: Client) -> None:
    google = Channel.objects.get(code="google")
    google.prices_include_tax = False
    google.save(update_fields=["prices_include_tax"])
    _sell_in(google, {"NL": "en, nl", "DE": "de"})
    feeds.feed_rebuild(google)
    nl = _xml_titles(_body(client.get("/channels/google/feed.xml")))["ORGANIC-TEE-S"]
    de = _xml_titles(_body(client.get("/channels/google/feed.xml?country=DE")))["ORGANIC-TEE-S"]
    # 24.95 without tax: NL adds 21 %, DE 19 %
    assert (nl["price"], de["price"]) == ("30.19 EUR", "29.69 EUR")
