"""The demo in Dutch and English (and French for Belgium): names and descriptions from the demo's
own vocabulary, Dutch colour labels and category names, the channels' languages, approved
snapshots that carry the translations, complete products in every language a channel sells in,
and the Google feed in Dutch by default, in French for Belgium."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import AttributeOption, Category, Product, ProductCompleteness
from channels.feeds.services import feed_rebuild
from channels.models import FeedItem
from core.models import Channel, ChannelCountry
from demo import seed as demo
from demo.catalog import COLOURS, FAMILIES
from demo.categories import DEMO_CATEGORIES
from demo.translations import (
    CATEGORIES_NL,
    COLOURS_NL,
    NOUNS_NL,
    dutch_name,
    french_name,
    translations_write,
)

pytestmark = pytest.mark.django_db

STEPS_BEFORE_FEEDS = (
    "categories (Google taxonomy)",
    "products and variants",
    "locations",
    "channels",
    "translations (Dutch) and the channels' languages",
    "catalog: pictures, prices, approval, publication",
)


def test_the_vocabulary_covers_every_word_the_demo_uses() -> None:
    assert {noun for family in FAMILIES for noun in family.nouns} <= set(NOUNS_NL)
    colours = set(COLOURS) | {v for f in FAMILIES if f.axis == "color" for v in f.values}
    assert colours <= set(COLOURS_NL)
    assert {google_id for google_id, _ in DEMO_CATEGORIES} == set(CATEGORIES_NL)
    assert dutch_name("Noordkust Navy Oxford Shirt", "Noordkust") == (
        "Noordkust Oxford-overhemd marineblauw"
    )
    assert dutch_name("Harbor & Pine Glass Vase", "Harbor & Pine") == "Harbor & Pine Glazen vaas"


@pytest.fixture
def seeded(settings: Any) -> None:
    settings.OMNIHUB_PUBLIC_URL = "https://hub.example.com"
    for label, step in demo.demo_steps("small"):
        if label in STEPS_BEFORE_FEEDS:
            step()


def test_the_small_demo_is_seeded_in_dutch_and_english(seeded: None) -> None:
    products = Product.objects.filter(handle__startswith="demo-")
    assert products.count() == 60
    assert not products.filter(name_nl__isnull=True).exists()
    assert not products.filter(description_nl__isnull=True).exists()
    assert not products.filter(name_fr__isnull=True).exists()
    assert not products.filter(description_fr__isnull=True).exists()
    tee = products.get(handle="demo-000000")
    tee_nl = products.filter(handle="demo-000000").values_list("name_nl", flat=True).get()
    assert tee_nl == dutch_name(tee.name, tee.brand) != tee.name
    navy = AttributeOption.objects.filter(attribute__code="color", code="navy")
    assert navy.values_list("label_nl", flat=True).get() == "Marineblauw"
    shirts = Category.objects.filter(google_id=212).values_list("name_nl", flat=True)
    assert shirts.get() == "Shirts en tops"
    languages = dict(
        ChannelCountry.objects.filter(channel__code="google").values_list("country", "languages")
    )
    assert languages == {"NL": "nl", "BE": "nl, fr", "DE": ""}  # DE: the channel's, Dutch
    assert Channel.objects.get(code="webshop").locale == "nl-NL"
    # approval came after the translations: the snapshots the channels read carry the Dutch
    approved = products.filter(status=Product.Status.APPROVED).first()
    assert approved is not None
    snapshot: dict[str, Any] = approved.approved_snapshot or {}
    name_nl = products.filter(pk=approved.pk).values_list("name_nl", flat=True).get()
    assert snapshot["translations"]["nl"]["name"] == name_nl
    # running it again writes nothing
    assert translations_write() == {
        "products": 0,
        "options": 0,
        "categories": 0,
        "countries": 7,  # the languages are set again, to the same values
    }
    # complete in every language each channel sells in (no fallback in completeness)
    assert set(ProductCompleteness.objects.values_list("percent", flat=True)) == {100}


def test_the_demo_google_feed_is_dutch_and_french_for_belgium(
    seeded: None,
) -> None:
    google = Channel.objects.get(code="google")
    feed_rebuild(google)
    item = FeedItem.objects.filter(channel=google).order_by("variant_id").first()
    assert item is not None
    name_nl = Product.objects.filter(pk=item.product_id).values_list("name_nl", flat=True).get()
    assert name_nl and name_nl in item.fields["title"]  # the channel's language
    assert set(item.fields["locales"]) == {"BE:nl", "BE:fr", "DE:nl"}
    for key in ("BE:nl", "DE:nl"):
        assert item.fields["locales"][key]["fields"]["title"] == item.fields["title"]
    english = Product.objects.filter(pk=item.product_id).values("name", "brand").get()
    french = item.fields["locales"]["BE:fr"]["fields"]["title"]
    assert french_name(english["name"], english["brand"]) in french
    assert item.fields["gender"] in {"unisex", "female"}  # Google's words, not translated
