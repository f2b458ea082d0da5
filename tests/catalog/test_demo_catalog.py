"""The demo catalog is sellable: pictures, prices, approved snapshots and publications."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from catalog.models import Product, ProductCompleteness, ProductPublication
from demo import seed as demo

pytestmark = [pytest.mark.django_db, pytest.mark.demo_seed]


def test_the_demo_webshop_key_sees_approved_published_products(client) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo", verbosity=0)
    approved = Product.objects.filter(handle__startswith="demo-", status="approved")
    drafts = Product.objects.filter(handle__startswith="demo-", status="draft")
    assert approved.count() == 48 and drafts.count() == 12
    assert not ProductPublication.objects.filter(product__in=drafts).exists()
    # the feeds require a material, which every demo product has: complete everywhere
    assert set(ProductCompleteness.objects.values_list("percent", flat=True)) == {100}

    response = client.get(
        "/api/v1/products/?channel=webshop&limit=5",
        HTTP_AUTHORIZATION=f"Api-Key {demo.DEMO_KEYS['demo-webshop']}",
    )
    assert response.status_code == 200, response.content
    first = response.json()["results"][0]
    assert first["images"][0]["url"].endswith(".jpg")
    assert first["variants"][0]["price"]["amount"] == "49.95"
    assert first["variants"][0]["available"] > 0

    call_command("seed_demo", verbosity=0)  # a second run adds nothing
    assert ProductPublication.objects.count() == 48 * 6
