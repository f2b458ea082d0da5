"""Google Merchant Center and Meta catalog feeds: what they say, the field rules of each
specification, conditional GETs, and incremental regeneration from the outbox."""

# ruff: noqa: F811 (the fixtures imported from the world module are the parameters)

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from catalog import services as catalog_services
from channels import relay
from channels.feeds import services as feeds
from channels.feeds import spec
from channels.models import Feed, FeedItem, FeedStale
from core.models import Channel
from tests.channels.feed_world import (  # noqa: F401  (fixtures)
    PRICE,
    G,
    _feed_channel,
    _render_at_once,
    _with_apparel_attributes,
    feed_shop,
)
from tests.shop import Shop


def _xml_items(body: bytes) -> dict[str, dict[str, Any]]:
    root = ET.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = {}
    for item in root.iter("item"):
        fields: dict[str, Any] = {}
        for element in item:
            assert element.tag.startswith(G), element.tag
            name = element.tag[len(G) :]
            if name == "additional_image_link":
                fields.setdefault(name, []).append(element.text)
            else:
                assert name not in fields, f"{name} repeated"
                fields[name] = element.text
        items[fields["id"]] = fields
    return items


def test_the_google_feed_lists_every_variant_with_the_required_attributes(
    feed_shop: Shop, client: Client
) -> None:
    response = client.get("/channels/google/feed.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    items = _xml_items(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert set(items) == {"ORGANIC-TEE-S", "ORGANIC-TEE-M", "ORGANIC-TEE-L"}
    small = items["ORGANIC-TEE-S"]
    assert small["availability"] == "in_stock"  # 7 in the warehouse the channel sells from
    assert items["ORGANIC-TEE-M"]["availability"] == "out_of_stock"  # stock elsewhere only
    assert small["price"] == "24.95 EUR"  # the feed channel's own price
    assert small["link"] == (
        f"https://shop.example.com/products/organic-tee?variant={feed_shop.s.pk}"
    )
    assert small["image_link"].startswith("https://hub.example.com/media/")
    assert small["brand"] == "Acme"
    assert small["google_product_category"] == "166"
    assert small["item_group_id"] == "organic-tee"
    assert {items[sku]["item_group_id"] for sku in items} == {"organic-tee"}
    assert (small["size"], small["color"], small["gender"], small["age_group"]) == (
        "S",
        "Navy",
        "unisex",
        "adult",
    )
    assert small["condition"] == "new"
    # no GTIN on the test tee: Google wants identifier_exists=no rather than nothing
    assert small.get("gtin") is None and small["identifier_exists"] == "no"
    for fields in items.values():
        for name in spec.GOOGLE_REQUIRED:
            assert fields.get(name), (fields["id"], name)
        assert PRICE.match(fields["price"])
        assert len(fields["title"]) <= 150 and len(fields["description"]) <= 5000
        assert spec.google_problems(fields) == []


def test_the_tsv_feed_has_google_columns_and_one_line_per_item(
    feed_shop: Shop, client: Client
) -> None:
    response = client.get("/channels/google/feed.tsv")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    header = lines[0].split("\t")
    assert tuple(header) == spec.GOOGLE_COLUMNS
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    assert sorted(row["id"] for row in rows) == ["ORGANIC-TEE-L", "ORGANIC-TEE-M", "ORGANIC-TEE-S"]
    assert all(PRICE.match(row["price"]) for row in rows)


def test_the_meta_feed_follows_the_catalog_field_reference(feed_shop: Shop, client: Client) -> None:
    response = client.get("/channels/meta/feed.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"ORGANIC-TEE-S", "ORGANIC-TEE-M", "ORGANIC-TEE-L"}
    small, medium = rows["ORGANIC-TEE-S"], rows["ORGANIC-TEE-M"]
    assert (small["availability"], small["quantity_to_sell_on_facebook"]) == ("in stock", "7")
    assert (medium["availability"], medium["quantity_to_sell_on_facebook"]) == ("out of stock", "0")
    for row in rows.values():
        for name in spec.META_REQUIRED:
            assert row[name], (row["id"], name)
        assert row["condition"] in {"new", "refurbished", "used"}
        assert PRICE.match(row["price"])
        assert row["gender"] in spec.META_GENDERS and row["age_group"] in spec.META_AGE_GROUPS
        assert spec.meta_problems({k: v for k, v in row.items() if v}) == []


def test_a_feed_is_served_with_etag_and_last_modified_and_answers_304(
    feed_shop: Shop, client: Client
) -> None:
    first = client.get("/channels/google/feed.xml")
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified
    assert client.get("/channels/google/feed.xml", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert (
        client.get("/channels/google/feed.xml", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    )
    assert client.head("/channels/google/feed.xml").status_code == 200

    # when a price changes, the feed follows with a new ETag
    catalog_services.price_set(
        variant_id=feed_shop.s.pk, channel_code="google", amount=Decimal("21.00")
    )
    relay.relay_run()
    feeds.feed_refresh(Channel.objects.get(code="google"))
    second = client.get("/channels/google/feed.xml", HTTP_IF_NONE_MATCH=etag)
    assert second.status_code == 200 and second["ETag"] != etag
    items = _xml_items(b"".join(second.streaming_content))  # type: ignore[attr-defined]
    assert items["ORGANIC-TEE-S"]["price"] == "21.00 EUR"
    assert items["ORGANIC-TEE-M"]["price"] == "24.95 EUR"


def test_only_changed_items_are_recomputed_and_the_file_only_when_something_shows(
    feed_shop: Shop, client: Client
) -> None:
    google = Channel.objects.get(code="google")
    client.get("/channels/google/feed.xml")
    feed = Feed.objects.get(channel=google, format="xml")
    before = {item.variant_id: item.updated_at for item in FeedItem.objects.filter(channel=google)}

    # 3 more S: still in stock, nothing the Google feed shows changes, no new file
    feed_shop.receive(feed_shop.warehouse, feed_shop.s, 3)
    relay.relay_run()
    assert FeedStale.objects.filter(channel=google).count() == 1  # the product, marked
    result = feeds.feed_refresh(google)
    assert (result.products, result.items_changed, result.rendered) == (1, 0, False)
    assert Feed.objects.get(pk=feed.pk).etag == feed.etag

    # the first M arrives: only that item changes and the file is written again
    feed_shop.receive(feed_shop.warehouse, feed_shop.m, 2)
    relay.relay_run()
    result = feeds.feed_refresh(google)
    assert (result.items_changed, result.rendered) == (1, True)
    after = {item.variant_id: item.updated_at for item in FeedItem.objects.filter(channel=google)}
    assert [v for v in after if after[v] != before[v]] == [feed_shop.m.pk]
    assert Feed.objects.get(pk=feed.pk).etag != feed.etag
    assert not FeedStale.objects.exists() or not FeedStale.objects.filter(channel=google).exists()


def test_a_rendered_file_waits_for_the_minimum_interval(feed_shop: Shop, settings: Any) -> None:
    google = Channel.objects.get(code="google")
    feeds.feed_rebuild(google)
    settings.CHANNELS_FEED_MIN_SECONDS = 3600
    catalog_services.price_set(
        variant_id=feed_shop.s.pk, channel_code="google", amount=Decimal("20.00")
    )
    relay.relay_run()
    result = feeds.feed_refresh(google)
    assert (result.items_changed, result.rendered) == (1, False)
    assert Feed.objects.get(channel=google, format="xml").dirty
    Feed.objects.filter(channel=google).update(generated_at=timezone.now() - timedelta(hours=2))
    assert feeds.feed_refresh(google).rendered
    assert not Feed.objects.get(channel=google, format="xml").dirty


def test_an_item_that_breaks_a_rule_is_left_out_and_counted(
    feed_shop: Shop, client: Client
) -> None:
    google = Channel.objects.get(code="google")
    Channel.objects.filter(pk=google.pk).update(product_url_template="")
    feeds.feed_rebuild(Channel.objects.get(pk=google.pk))
    response = client.get("/channels/google/feed.xml")
    assert _xml_items(b"".join(response.streaming_content)) == {}  # type: ignore[attr-defined]
    feed = Feed.objects.get(channel=google, format="xml")
    assert (feed.item_count, feed.excluded_count) == (0, 3)
    item = FeedItem.objects.filter(channel=google).first()
    assert item is not None and item.problems == ["link: missing"]
    assert feeds.feed_problem_summary(google) == {"link": 3}


def test_apparel_without_gender_and_age_group_is_refused_by_google_rules(
    shop: Shop,
) -> None:
    google = _feed_channel("google", Channel.Kind.GOOGLE_FEED, shop)
    product = shop.s.product
    for variant in product.variants.all():
        catalog_services.price_set(variant_id=variant.id, channel_code="google", amount=10)
    catalog_services.completeness_refresh(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code="google")
    feeds.feed_rebuild(google)
    problems = set(FeedItem.objects.filter(channel=google).values_list("problems", flat=True)[0])
    assert problems == {
        "gender: missing (required for apparel)",
        "age_group: missing (required for apparel)",
    }
    assert Feed.objects.get(channel=google, format="xml").item_count == 0


def test_unpublishing_removes_the_items(feed_shop: Shop, client: Client) -> None:
    for code in ("google", "meta"):
        feeds.feed_rebuild(Channel.objects.get(code=code))
    assert FeedItem.objects.filter(channel__code="meta").count() == 3
    catalog_services.product_unpublish(product_ids=[feed_shop.s.product_id], channel_code="meta")
    relay.relay_run()
    meta = Channel.objects.get(code="meta")
    feeds.feed_refresh(meta)
    assert not FeedItem.objects.filter(channel=meta).exists()
    text = b"".join(client.get("/channels/meta/feed.csv").streaming_content).decode()  # type: ignore[attr-defined]
    assert text.strip().splitlines() == [",".join(spec.META_COLUMNS)]
    assert FeedItem.objects.filter(channel__code="google").count() == 3


def test_a_promotion_shows_as_sale_price_with_its_dates(feed_shop: Shop) -> None:
    google = Channel.objects.get(code="google")
    starts = timezone.now() - timedelta(hours=1)
    ends = timezone.now() + timedelta(days=2)
    catalog_services.price_set(
        variant_id=feed_shop.s.pk,
        channel_code="google",
        amount=Decimal("14.95"),
        compare_at_amount=Decimal("24.95"),
        starts_at=starts,
        ends_at=ends,
    )
    relay.relay_run()
    feeds.feed_refresh(google)
    fields = FeedItem.objects.get(channel=google, variant_id=feed_shop.s.pk).fields
    assert (fields["price"], fields["sale_price"]) == ("24.95 EUR", "14.95 EUR")
    start_text, end_text = fields["sale_price_effective_date"].split("/")
    assert (start_text[:16], end_text[:16]) == (
        starts.isoformat(timespec="seconds")[:16],
        ends.isoformat(timespec="seconds")[:16],
    )


def test_a_promotion_that_starts_later_is_announced_to_the_channels_when_it_starts(
    feed_shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    google = Channel.objects.get(code="google")
    starts = timezone.now() + timedelta(minutes=5)
    catalog_services.price_set(
        variant_id=feed_shop.s.pk,
        channel_code="google",
        amount=Decimal("9.95"),
        compare_at_amount=Decimal("24.95"),
        starts_at=starts,
    )
    relay.relay_run()
    feeds.feed_refresh(google)
    item = FeedItem.objects.get(channel=google, variant_id=feed_shop.s.pk)
    assert item.fields["price"] == "24.95 EUR" and "sale_price" not in item.fields
    # nothing announced before it starts; announced once the window covers the start
    assert (
        catalog_services.promotions_announce(
            since=starts - timedelta(minutes=10), until=starts - timedelta(minutes=1)
        )
        == 0
    )
    assert (
        catalog_services.promotions_announce(since=starts - timedelta(minutes=1), until=starts) == 1
    )
    later = starts + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    relay.relay_run()
    feeds.feed_refresh(google)
    item.refresh_from_db()
    assert item.fields["sale_price"] == "9.95 EUR"


@pytest.mark.parametrize(
    "path",
    [
        "/channels/google/feed.csv",  # Google serves xml and tsv
        "/channels/meta/feed.xml",  # Meta serves csv
        "/channels/webshop/feed.xml",  # not a feed channel
        "/channels/nope/feed.xml",
    ],
)
def test_other_feeds_are_404(feed_shop: Shop, client: Client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_an_inactive_feed_channel_serves_nothing(feed_shop: Shop, client: Client) -> None:
    Channel.objects.filter(code="google").update(is_active=False)
    assert client.get("/channels/google/feed.xml").status_code == 404


def test_a_feed_cannot_be_written_to(feed_shop: Shop, client: Client) -> None:
    assert client.post("/channels/google/feed.xml").status_code == 405


# --- the field rules, one by one ---------------------------------------------------------------


def _valid_google() -> dict[str, Any]:
    return {
        "id": "SKU-1",
        "title": "Acme Tee",
        "description": "Soft.",
        "link": "https://shop.example.com/p/1",
        "image_link": "https://cdn.example.com/1.jpg",
        "availability": "in_stock",
        "price": "19.99 EUR",
        "brand": "Acme",
        "gtin": "4006381333931",
        "condition": "new",
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"title": "x" * 151}, "title: 151 characters, at most 150"),
        ({"id": "x" * 51}, "id: 51 characters, at most 50"),
        ({"price": "19.99"}, "price: '19.99' is not 'amount ISO-currency' (e.g. 19.99 EUR)"),
        ({"price": "0.00 EUR"}, "price: must be above zero"),
        ({"sale_price": "19.99 EUR"}, "sale_price: must be below price"),
        ({"availability": "in stock"}, "availability: 'in stock' is not a Google value"),
        ({"link": "/p/1"}, "link: '/p/1' is not an absolute http(s) URL"),
        ({"image_link": ""}, "image_link: missing"),
        (
            {"gtin": "4006381333932"},
            "gtin: '4006381333932' is not a GTIN-8/12/13/14 with a valid check digit",
        ),
        ({"gtin": ""}, "gtin: missing, with no mpn and identifier_exists not 'no'"),
        ({"brand": ""}, "brand: missing (required for new products)"),
        ({"gender": "women"}, "gender: 'women' is not male, female or unisex"),
    ],
)
def test_google_rules(change: dict[str, Any], problem: str) -> None:
    assert spec.google_problems(_valid_google()) == []
    assert spec.google_problems({**_valid_google(), **change}) == [problem]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"title": "x" * 201}, "title: 201 characters, at most 200"),
        ({"availability": "in_stock"}, "availability: 'in_stock' is not a Meta value"),
        ({"condition": "mint"}, "condition: 'mint' is not new, refurbished or used"),
        ({"age_group": "senior"}, "age_group: 'senior' is not a Meta age group"),
        (
            {"quantity_to_sell_on_facebook": "-1"},
            "quantity_to_sell_on_facebook: '-1' is not a whole number",
        ),
        ({"link": ""}, "link: missing"),
    ],
)
def test_meta_rules(change: dict[str, Any], problem: str) -> None:
    valid = spec.meta_fields(_valid_google(), available=3)
    assert valid["availability"] == "in stock" and valid["quantity_to_sell_on_facebook"] == "3"
    assert spec.meta_problems(valid) == []
    assert spec.meta_problems({**valid, **change}) == [problem]


# --- operations ------------------------------------------------------------------------------


def test_the_admin_shows_feed_files_and_why_items_are_left_out(
    feed_shop: Shop, admin_client: Any
) -> None:
    google = Channel.objects.get(code="google")
    feeds.feed_rebuild(google)
    FeedItem.objects.filter(channel=google, variant_id=feed_shop.l.pk).update(
        problems=["image_link: missing"]
    )
    changelist = admin_client.get("/admin/core/channel/").content.decode()
    assert "Feed last generated" in changelist
    page = admin_client.get(f"/admin/core/channel/{google.pk}/change/").content.decode()
    assert "/channels/google/feed.xml" in page and "3 items, 0 left out" in page
    assert "image_link: 1 item(s)" in page
    items = admin_client.get("/admin/channels/feeditem/?problems=yes").content.decode()
    assert "ORGANIC-TEE-L" in items and "ORGANIC-TEE-S" not in items


def test_the_rebuild_action_and_command_write_the_files(feed_shop: Shop, admin_client: Any) -> None:
    from django.core.management import call_command

    google = Channel.objects.get(code="google")
    response = admin_client.post(
        "/admin/core/channel/",
        {"action": "rebuild_feeds", "_selected_action": [google.pk]},
        follow=True,
    )
    assert "Rebuilt: google (1 products)." in response.content.decode()
    assert Feed.objects.filter(channel=google).count() == 2
    out = io.StringIO()
    call_command("feeds_rebuild", "meta", stdout=out)
    assert "meta/feed.csv: 3 items, 0 left out" in out.getvalue()
    with pytest.raises(Exception, match="Not an active feed channel: webshop"):
        call_command("feeds_rebuild", "webshop")


def test_a_poll_during_a_rebuild_gets_a_whole_file_never_a_500(
    feed_shop: Shop, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker writes the file again between the moment a request reads the feed's row and the
    moment it opens the file, and deletes the file that row named: the request serves the file
    that replaced it, with that file's ETag, instead of failing."""
    from channels.feeds import views as feed_views

    first = client.get("/channels/meta/feed.csv")
    assert first.status_code == 200
    old_body = b"".join(first.streaming_content)  # type: ignore[attr-defined]
    old = Feed.objects.get(channel__code="meta", format="csv")
    channel = old.channel
    # the price changes, so the next file differs from the one the request is about to open
    catalog_services.price_set(variant_id=feed_shop.s.pk, channel_code="meta", amount="19.95")
    relay.relay_run()
    lookup = feed_views.feed_for_request
    rebuilt: list[bool] = []

    def rebuilt_meanwhile(*, code: str, fmt: str) -> Feed | None:
        feed = lookup(code=code, fmt=fmt)  # the row the request read, naming the old file
        if not rebuilt:  # the worker swaps in a new file and deletes the old one
            feeds.feed_rebuild(channel)
            rebuilt.append(True)
        return feed

    monkeypatch.setattr(feed_views, "feed_for_request", rebuilt_meanwhile)
    response = client.get("/channels/meta/feed.csv")

    current = Feed.objects.get(channel__code="meta", format="csv")
    assert current.path != old.path and not feeds.default_storage.exists(old.path)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body != old_body and b"19.95 EUR" in body
    assert response["ETag"] == f'"{current.etag}"' and current.etag != old.etag
    assert response["X-Feed-Items"] == str(current.item_count)


def test_a_feed_whose_file_is_gone_is_written_again_not_a_500(
    feed_shop: Shop, client: Client
) -> None:
    """A row whose file was removed from the storage with nothing in its place: the request
    writes the file again and serves it."""
    first = client.get("/channels/meta/feed.csv")
    assert first.status_code == 200
    old_body = b"".join(first.streaming_content)  # type: ignore[attr-defined]
    feed = Feed.objects.get(channel__code="meta", format="csv")
    feeds.default_storage.delete(feed.path)
    response = client.get("/channels/meta/feed.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == old_body  # type: ignore[attr-defined]
    again = Feed.objects.get(pk=feed.pk)
    assert again.path != feed.path and feeds.default_storage.exists(again.path)
