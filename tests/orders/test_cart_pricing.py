"""Carts priced by the one pricing function (issue 17): coupons on the cart (set on create or
PATCH, each refusal its problem+json with the cart unchanged), the cart view's per-line discount
and tax, promotions, shipping of a method, totals (all ``basket_price``'s), and a checkout that
carries the coupons, gift cards and shipping method into the order. SQLite and PostgreSQL."""

# ruff: noqa: F811 (the fixture imported from tests/orders/pricing_world.py is a parameter)

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from orders.models import Cart, Coupon, Order, Promotion
from orders.pricing import basket_price
from orders.services import giftcards as giftcard_services
from tests.orders.pricing_world import (
    BOOK,
    COUPON_CASES,
    TEE_S,
    _coupon_case,
    _items,
    _untouched,
    priced,  # noqa: F401  (the fixture)
)
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal
LINES = [{"sku": TEE_S, "quantity": 2}, {"sku": BOOK, "quantity": 1}]


@pytest.fixture
def client(priced: Shop, api_client_for: Callable[..., Any]) -> Any:
    return api_client_for(channels=[priced.channel])


def _cart(client: Any, **body: Any) -> Any:
    body = {"channel": "webshop", "customer_email": "ann@example.com", **body}
    return client.post("/api/v1/carts/", body, format="json")


def test_the_cart_view_is_basket_price_per_line_with_shipping_and_tax(
    client: Any,
    priced: Shop,
) -> None:
    created = _cart(client, lines=LINES, coupons=["save5"])
    assert created.status_code == 201, created.json()
    token = created.json()["token"]
    assert Cart.objects.get(token=token).coupon_codes == ["SAVE5"]

    body = client.get(f"/api/v1/carts/{token}/?shipping_method=postnl&country=NL").json()
    expected = basket_price(
        channel=priced.channel,
        items=_items([(TEE_S, 2), (BOOK, 1)]),
        country="NL",
        shipping=D("6.95"),
        coupon_codes=["SAVE5"],
        customer_email="ann@example.com",
    )
    for name in ("subtotal", "discount_total", "tax_total", "total", "shipping_discount"):
        assert D(body[name]) == getattr(expected, name), name
    assert D(body["shipping"]) == expected.shipping_total == D("6.95")
    assert body["shipping_method"] == "postnl" and body["tax_country"] == "NL"
    assert body["coupons"] == ["SAVE5"] and body["coupons_refused"] == []
    assert {p["name"] for p in body["promotions"]} == {"Ten off", "Five off"}
    by_sku = {line.key: line for line in expected.lines}
    for line in body["lines"]:
        want = by_sku[line["sku"]]
        assert (D(line["discount"]), D(line["tax"]), D(line["tax_rate"])) == (
            want.discount,
            want.tax,
            want.tax_rate,
        )
        assert D(line["total"]) == want.total and D(line["line_total"]) == want.subtotal

    # without a method: no shipping, the channel's country taxes it
    plain = client.get(f"/api/v1/carts/{token}/").json()
    assert plain["shipping"] is None and plain["shipping_method"] == ""
    # a method that does not serve the country: its problem+json
    unserved = client.get(f"/api/v1/carts/{token}/?shipping_method=postnl&country=BE")
    assert (unserved.status_code, unserved.json()["code"]) == (422, "shipping_zone_unserved")
    bad = client.get(f"/api/v1/carts/{token}/?country=nl")
    assert bad.status_code == 400


@pytest.mark.parametrize("case", COUPON_CASES)
def test_every_coupon_error_on_the_cart_leaves_it_unchanged(
    client: Any,
    priced: Shop,
    case: str,
) -> None:
    token = _cart(client, lines=LINES, coupons=["SAVE5"]).json()["token"]
    code = _coupon_case(priced, case)
    before = (Cart.objects.count(), _untouched())
    response = client.patch(f"/api/v1/carts/{token}/", {"coupons": [code]}, format="json")
    assert response.status_code in (400, 409)
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == case
    assert Cart.objects.get(token=token).coupon_codes == ["SAVE5"]
    # creating a cart with the code creates nothing
    response = _cart(client, lines=LINES, coupons=[code])
    assert response.json()["code"] == case
    assert (Cart.objects.count(), _untouched()) == before


def test_patch_replaces_and_removes_the_coupons(client: Any, priced: Shop) -> None:
    token = _cart(client, lines=LINES).json()["token"]
    body = client.patch(f"/api/v1/carts/{token}/", {"coupons": ["SAVE5"]}, format="json").json()
    assert body["coupons"] == ["SAVE5"]
    body = client.patch(f"/api/v1/carts/{token}/", {"coupons": []}, format="json").json()
    assert body["coupons"] == [] and Cart.objects.get(token=token).coupon_codes == []


def test_a_coupon_that_stopped_applying_is_listed_not_charged(
    client: Any,
    priced: Shop,
) -> None:
    token = _cart(client, lines=LINES, coupons=["SAVE5"]).json()["token"]
    Coupon.objects.filter(code="SAVE5").update(is_active=False)
    body = client.get(f"/api/v1/carts/{token}/").json()
    assert body["coupons"] == []
    assert body["coupons_refused"][0]["code"] == "SAVE5"
    assert body["coupons_refused"][0]["error"] == "coupon_expired"
    assert {p["name"] for p in body["promotions"]} == {"Ten off"}


def test_checkout_carries_coupons_gift_cards_and_the_shipping_method(
    client: Any,
    priced: Shop,
) -> None:
    token = _cart(client, lines=LINES, coupons=["SAVE5"]).json()["token"]
    card = giftcard_services.giftcard_issue(amount=D("10.00"), currency="EUR")
    quoted = client.get(f"/api/v1/carts/{token}/?shipping_method=postnl&country=NL").json()
    response = client.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "fulfillment": {"method": "ship", "address": {"country": "NL"}},
            "shipping_method": "postnl",
            "gift_cards": [{"code": card.code, "amount": "10.00"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get(number=response.json()["number"])
    assert order.coupon_codes == ["SAVE5"] and order.shipping_method == "postnl"
    assert order.total == D(quoted["total"]) and order.tax_total == D(quoted["tax_total"])
    assert order.payments.filter(tender="gift_card").get().amount == D("10.00")
    assert Coupon.objects.get(code="SAVE5").uses == 1


def test_a_cart_promotion_shows_on_an_empty_cart_coupon_check(
    client: Any,
    priced: Shop,
) -> None:
    """An empty cart takes a good code (checked on its own) and refuses a bad one."""
    assert _cart(client, coupons=["SAVE5"]).status_code == 201
    response = _cart(client, coupons=["NOPE"])
    assert (response.status_code, response.json()["code"]) == (400, "coupon_unknown")
    assert Promotion.objects.filter(name="Five off").exists()
