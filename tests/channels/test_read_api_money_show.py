"""The partner read API's prices (``/api/v1/products/``, ``/products/{id}/``, ``/variants/``):
the sale price of a running product-level promotion with its dates, and whether the channel's
prices include tax, all from ``orders.pricing.display_prices``; a fixed number of queries per
page, and nothing cached that a promotion saved, started or ended could leave stale."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Category
from orders.models import Promotion
from orders.pricing import display_prices
from tests.catalog.factories import complete_product
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal


def category_sale(shop: Shop, *, percent: str = "20", **kwargs: Any) -> Promotion:
    """Percent off the tee's category, on the shop's channel."""
    promo = Promotion.objects.create(
        name="Apparel sale",
        kind=Promotion.Kind.PERCENT_OFF,
        value=D(percent),
        target=Promotion.Target.CATEGORIES,
        **kwargs,
    )
    promo.categories.set([Category.objects.get(full_name="Apparel & Accessories")])
    promo.channels.set([shop.channel])
    return promo


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.get_current_timezone()).isoformat().replace("+00:00", "Z")


@pytest.fixture
def client(api_client_for: Any, shop: Shop) -> Any:
    return api_client_for(scopes=["catalog:read"], channels=[shop.channel])


def prices_of(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/products/")
    assert response.status_code == 200, response.json()
    return {v["sku"]: v["price"] for p in response.json()["results"] for v in p["variants"]}


def test_a_running_category_promotion_shows_its_sale_price_and_dates(
    client: Any, shop: Shop
) -> None:
    now = timezone.now()
    starts, ends = now - timedelta(days=1), now + timedelta(days=6)
    category_sale(shop, starts_at=starts, ends_at=ends)

    prices = prices_of(client)

    assert prices["ORGANIC-TEE-S"] == {
        "amount": "19.99",
        "compare_at_amount": None,
        "currency": "EUR",
        "sale_amount": "15.99",  # 19.99 - 4.00 (20 %, rounded half-up)
        "sale_starts_at": iso(starts),
        "sale_ends_at": iso(ends),
        "includes_tax": True,
    }
    # the figures are display_prices' own
    shown = display_prices(channel=shop.channel, variant_ids=[shop.s.pk], tax=False)[shop.s.pk]
    assert (D(prices["ORGANIC-TEE-S"]["sale_amount"]), shown.sale_price) == (D("15.99"),) * 2
    detail = client.get(f"/api/v1/products/{shop.s.product_id}/").json()
    assert detail["variants"][0]["price"]["sale_amount"] == "15.99"
    variants = client.get("/api/v1/variants/", {"sku": "ORGANIC-TEE-M"}).json()
    assert variants["results"][0]["price"] == prices["ORGANIC-TEE-M"]


def test_no_promotion_no_sale_and_a_channel_excluding_tax_says_so(client: Any, shop: Shop) -> None:
    shop.channel.prices_include_tax = False
    shop.channel.save()
    # a coupon promotion and a first-order one make no sale price
    category_sale(shop, requires_coupon=True)
    category_sale(shop, customer_scope=Promotion.CustomerScope.FIRST_ORDER)

    price = prices_of(client)["ORGANIC-TEE-L"]

    assert price["sale_amount"] is None and price["sale_ends_at"] is None
    assert (price["amount"], price["includes_tax"]) == ("19.99", False)
    lookup = client.get("/api/v1/variants/", {"sku": "ORGANIC-TEE-L"}).json()
    assert lookup["results"][0]["price"] == price


def test_a_promotion_saved_started_or_ended_changes_what_is_served(
    client: Any, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    assert prices_of(client)["ORGANIC-TEE-S"]["sale_amount"] is None  # content now cached
    promo = category_sale(
        shop, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=3)
    )
    assert prices_of(client)["ORGANIC-TEE-S"]["sale_amount"] is None  # not started yet
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(hours=2))
    assert prices_of(client)["ORGANIC-TEE-S"]["sale_amount"] == "15.99"  # started, no write
    promo.value = D("50")
    promo.save()
    assert prices_of(client)["ORGANIC-TEE-S"]["sale_amount"] == "9.99"  # saved: 19.99 - 10.00
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(hours=4))
    assert prices_of(client)["ORGANIC-TEE-S"]["sale_amount"] is None  # ended


def test_the_promotions_cost_a_fixed_number_of_queries_per_page(
    client: Any, shop: Shop, django_assert_num_queries: Any
) -> None:
    category_sale(shop, ends_at=timezone.now() + timedelta(days=1))
    # the key, the channel, the content and the channel's promotion rules cached
    client.get("/api/v1/products/", {"limit": 1})
    # the page (1), price and availability (1), the page's variants and their categories (2)
    with django_assert_num_queries(4):
        one = client.get("/api/v1/products/", {"limit": 50})
    assert one.json()["results"][0]["variants"][0]["price"]["sale_amount"] == "15.99"
    for n in range(3):
        product = complete_product(shop.channel, name=f"Sale Tee {n}", sizes=("s", "m"))
        catalog_services.product_submit(product_ids=[product.pk])
        catalog_services.product_approve(product_ids=[product.pk])
        catalog_services.product_publish(product_ids=[product.pk], channel_code=shop.channel.code)
    client.get("/api/v1/products/", {"limit": 50})  # their content cached
    with django_assert_num_queries(4):
        four = client.get("/api/v1/products/", {"limit": 50})
    sales = [v["price"]["sale_amount"] for p in four.json()["results"] for v in p["variants"]]
    assert len(sales) == 9 and None not in sales
