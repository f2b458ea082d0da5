"""``?locale=`` on the products API, completeness per language, and the approved snapshot in
every language. Given/when/then."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from catalog import services
from catalog.models import (
    AttributeOption,
    ChannelContent,
    Product,
    ProductCompleteness,
)
from config import roles
from core.models import ChannelCountry
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _user(role: str) -> User:
    user = UserFactory(username=role.lower().replace(" ", "-"))
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def benelux() -> Any:
    """A webshop in Dutch (nl-NL) that sells to NL in Dutch and BE in Dutch and French."""
    channel = ChannelFactory(code="benelux", locale="nl-NL")
    channel.locations.add(LocationFactory(code="ams"))
    ChannelCountry.objects.create(channel=channel, country="NL", position=0, languages="nl")
    ChannelCountry.objects.create(channel=channel, country="BE", position=1, languages="nl, fr")
    return channel


def _translate_dutch(product: Product) -> None:
    product.name_nl = "Biologisch shirt"
    product.description_nl = "Zacht biologisch katoen."
    product.save(update_fields=["name_nl", "description_nl"])
    services.product_content_changed(product_id=product.id, fields={"name_nl"})


def _live(channel: Any, product: Product) -> Product:
    merch, approver = _user(roles.MERCHANDISER), _user(roles.CATALOG_APPROVER)
    services.product_submit(product_ids=[product.id], user=merch)
    services.product_approve(product_ids=[product.id], user=approver)
    services.product_publish(product_ids=[product.id], channel_code=channel.code, user=merch)
    return product


def test_a_product_without_dutch_texts_is_incomplete_on_a_dutch_channel(benelux: Any) -> None:
    # given a product complete in English only, on a channel selling in Dutch and French
    product = complete_product(benelux, name="Organic Tee")
    row = ProductCompleteness.objects.get(product=product, channel=benelux)
    # then the channel figure and each language's say what is missing
    assert row.percent < 100
    assert row.locales["nl"]["missing"] == ["a nl name", "a nl description"]
    assert row.locales["fr"]["missing"] == ["a fr name", "a fr description"]
    assert set(row.missing) == {
        "a nl name",
        "a nl description",
        "a fr name",
        "a fr description",
    }
    # when Dutch texts are written, Dutch is complete and French still is not
    _translate_dutch(product)
    row.refresh_from_db()
    assert row.locales["nl"] == {"percent": 100, "missing": []}
    assert row.locales["fr"]["percent"] < 100
    # and publishing is refused, naming the French texts
    from catalog.exceptions import ProductNotPublishable

    with pytest.raises(ProductNotPublishable) as refused:
        _live(benelux, product)
    assert "a fr name" in refused.value.message
    assert not product.publications.exists()


def test_an_english_only_channel_is_unchanged() -> None:
    webshop = ChannelFactory(code="webshop-en")
    product = complete_product(webshop, name="Plain Tee")
    row = ProductCompleteness.objects.get(product=product, channel=webshop)
    assert (row.percent, row.missing) == (100, [])
    assert row.locales == {"en": {"percent": 100, "missing": []}}


@pytest.fixture
def dutch_live(benelux: Any) -> Product:
    product = complete_product(benelux, name="Organic Tee")
    _translate_dutch(product)
    product.name_fr = "T-shirt bio"
    product.description_fr = ""  # no French description: falls back to Dutch, then English
    product.save(update_fields=["name_fr"])
    AttributeOption.objects.filter(attribute__code="color", code="navy").update(
        label_nl="Marineblauw"
    )
    ChannelContent.objects.create(
        product=product, channel=benelux, title="Organic Tee online", title_nl="Bio shirt online"
    )
    product.description_fr = "Coton biologique."
    product.save(update_fields=["description_fr"])
    services.completeness_refresh(product_ids=[product.id])
    return _live(benelux, product)


def test_the_api_answers_in_the_asked_language_with_fallbacks(
    api_client_for: Any, benelux: Any, dutch_live: Product
) -> None:
    client = api_client_for(scopes=["catalog:read"], channels=[benelux])
    # without locale: the channel's language (Dutch)
    response = client.get(f"/api/v1/products/{dutch_live.id}/")
    assert response.status_code == 200, response.json()
    assert response["Content-Language"] == "nl"
    body = response.json()
    assert (body["title"], body["description"]) == (
        "Bio shirt online",
        "Zacht biologisch katoen.",
    )
    assert body["variants"][0]["options"]["color"] == "Marineblauw"
    # French: its own name and description, the Dutch channel title and option label
    response = client.get(f"/api/v1/products/{dutch_live.id}/?locale=fr-BE")
    assert response["Content-Language"] == "fr"
    body = response.json()
    assert body["description"] == "Coton biologique."
    assert body["title"] == "Bio shirt online"  # no French channel title: Dutch, the channel's
    assert body["variants"][0]["options"]["color"] == "Marineblauw"
    # the list says the same
    listed = client.get("/api/v1/products/?locale=fr").json()["results"]
    assert [p["description"] for p in listed] == ["Coton biologique."]


def test_english_is_reachable_only_when_the_channel_sells_in_it(
    api_client_for: Any, benelux: Any, dutch_live: Product
) -> None:
    client = api_client_for(scopes=["catalog:read"], channels=[benelux])
    for path in (f"/api/v1/products/{dutch_live.id}/", "/api/v1/products/"):
        response = client.get(path, {"locale": "de"})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["code"] == "unsupported_locale"
        assert problem["locales"] == ["nl", "fr"]
        assert problem["errors"][0]["field"] == "locale"
    assert client.get("/api/v1/products/", {"locale": "x" * 5000}).status_code == 400


def test_an_english_channel_reads_english_and_ignores_other_languages(
    api_client_for: Any, dutch_live: Product
) -> None:
    webshop = ChannelFactory(code="webshop")
    webshop.locations.add(LocationFactory(code="web"))
    for variant in dutch_live.variants.all():
        services.price_set(variant_id=variant.id, channel_code="webshop", amount=Decimal("19.99"))
    services.completeness_refresh(product_ids=[dutch_live.id])
    services.product_publish(product_ids=[dutch_live.id], channel_code="webshop")
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])
    response = client.get(f"/api/v1/products/{dutch_live.id}/")
    assert response["Content-Language"] == "en"
    assert response.json()["description"] == "Soft organic cotton."
    assert client.get(f"/api/v1/products/{dutch_live.id}/?locale=nl").status_code == 400


def test_translations_reach_the_channels_only_through_approval(
    api_client_for: Any, benelux: Any, dutch_live: Product
) -> None:
    client = api_client_for(scopes=["catalog:read"], channels=[benelux])
    # when the Dutch description is edited through the service
    product = Product.objects.get(pk=dutch_live.pk)
    services.product_translation_save(
        product=product, language="nl", values={"description": "Nieuw."}
    )
    product.refresh_from_db()
    # then the product is back in review and the channel still shows the approved text
    assert product.status == Product.Status.IN_REVIEW
    body = client.get(f"/api/v1/products/{dutch_live.id}/").json()
    assert body["description"] == "Zacht biologisch katoen."


def test_a_dutch_only_channel_needs_dutch_texts_not_an_english_description() -> None:
    dutch = ChannelFactory(code="nl-only", locale="nl-NL")
    product = complete_product(dutch, name="Plain Tee")
    services.product_update(product=product, description="")
    product.name_nl, product.description_nl = "Shirt", "Katoen."
    product.save(update_fields=["name_nl", "description_nl"])
    services.completeness_refresh(product_ids=[product.id])
    row = ProductCompleteness.objects.get(product=product, channel=dutch)
    assert (row.percent, row.missing) == (100, [])
    assert list(row.locales) == ["nl"]
