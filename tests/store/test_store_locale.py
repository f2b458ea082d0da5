"""The store page in the store channel's language: product names, descriptions and option labels
in the language of the store's country on the store channel (``STORE_CHANNEL_CODE``), falling
back to the channel's language, then English."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import AttributeOption, Product
from core import services as core_services
from core.models import Channel, ChannelCountry
from inventory import services as stock
from inventory.models import Location
from tests.cache import cache_clear
from tests.factories import ChannelFactory, LocationFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dutch(shop: dict[str, Any], settings: Any) -> dict[str, Any]:
    """The store channel sells in Dutch (nl-NL) in NL and in French then Dutch in BE; the tee
    has Dutch and French names, a Dutch description, a Dutch label for navy."""
    cache_clear()  # the channel cache
    settings.STORE_CHANNEL_CODE = "pos"
    pos: Channel = ChannelFactory(code="pos", kind=Channel.Kind.POS, locale="nl-NL")  # type: ignore[assignment]
    core_services.channel_countries_set(channel=pos, countries=["NL", "BE"])
    ChannelCountry.objects.filter(channel=pos, country="BE").update(languages="fr, nl")
    Product.objects.filter(pk=shop["product"].pk).update(
        name_nl="Haven shirt",
        description_nl="Zacht katoen uit de haven.",
        name_fr="T-shirt du port",
        description="Soft harbour cotton.",
    )
    AttributeOption.objects.filter(attribute__code="color", code="navy").update(
        label_nl="Marineblauw"
    )
    return shop


def test_an_nl_store_shows_the_dutch_name_description_and_labels(dutch: dict[str, Any]) -> None:
    client = _client(dutch["associate"])  # a member of the centre store, in NL
    page = client.get(reverse("store:product", args=[dutch["product"].pk])).content.decode()
    assert "<h1>Haven shirt</h1>" in page and "Harbour Tee" not in page
    assert "Zacht katoen uit de haven." in page and "Soft harbour" not in page
    assert "Marineblauw" in page and "Navy" not in page
    assert "White" in page  # no Dutch label: English
    found = client.get(reverse("store:home"), {"q": "harbour"}).content.decode()
    assert "Haven shirt" in found


def test_a_be_store_shows_the_countrys_first_language_with_fallback(
    dutch: dict[str, Any],
) -> None:
    antwerp: Location = LocationFactory(code="st-antwerpen", name="Antwerpen", country="BE")  # type: ignore[assignment]
    stock.staff_member_assign(user_id=dutch["associate"].pk, location=antwerp)
    client = _client(dutch["associate"])
    url = reverse("store:product", args=[dutch["product"].pk])
    page = client.get(f"{url}?store={antwerp.code}").content.decode()
    assert "<h1>T-shirt du port</h1>" in page
    # no French description or label: the channel's language (Dutch) comes next
    assert "Zacht katoen uit de haven." in page and "Marineblauw" in page


def test_without_a_store_channel_the_page_is_in_english(
    shop: dict[str, Any], settings: Any
) -> None:
    cache_clear()
    settings.STORE_CHANNEL_CODE = "no-such-channel"
    Product.objects.filter(pk=shop["product"].pk).update(name_nl="Haven shirt")
    page = (
        _client(shop["associate"])
        .get(reverse("store:product", args=[shop["product"].pk]))
        .content.decode()
    )
    assert "<h1>Harbour Tee</h1>" in page
