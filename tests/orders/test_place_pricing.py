"""Order placement priced by the one pricing function (issue 17): the stored figures are
``orders.pricing.basket_price``'s, the shipping is the method's quote, tax follows the order's
country, coupons are redeemed in the order's transaction and given back on cancel, and every
coupon or shipping refusal leaves nothing written. Runs on SQLite and PostgreSQL."""

# ruff: noqa: F811 (the fixture imported from tests/orders/pricing_world.py is a parameter)

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from orders import services
from orders.exceptions import CouponError, OrderInvalid, ShippingMethodUnknown, ShippingZoneUnserved
from orders.models import (
    Coupon,
    CouponRedemption,
    Order,
    OrderTaxLine,
    Promotion,
    ShippingMethod,
)
from orders.pricing import basket_price
from orders.shipping import delivery_promise, location_timezone, shipping_quote
from tests.orders.pricing_world import (  # noqa: F401  (priced: the fixture)
    BOOK,
    COUPON_CASES,
    TEE_M,
    TEE_S,
    _assert_stored,
    _book,
    _coupon_case,
    _items,
    _place,
    _promotion,
    _untouched,
    _variant_id,
    priced,
)
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_ship_order_stores_what_basket_price_gives_with_tax_lines_per_rate(
    priced: Shop,
) -> None:
    lines = [(TEE_S, 2), (BOOK, 1)]
    quote = shipping_quote(
        channel_code="webshop",
        country="NL",
        postcode="1011AB",
        weight_grams=3 * 1000,  # no weights set: a kilogram each
        goods_value=D("19.99") * 2 + D("12.50"),
        currency="EUR",
        method_code="postnl",
    )
    expected = basket_price(
        channel=priced.channel,
        items=_items(lines),
        country="NL",
        shipping=quote.price,
        coupon_codes=["SAVE5"],
        customer_email="ann@example.com",
    )
    before = timezone.now()
    order = _place(lines, coupons=[" save5 "], shipping_method="postnl")

    _assert_stored(order, expected)
    assert order.shipping_method == "postnl"
    assert order.shipping_total == D("6.95") and order.tax_country == "NL"
    assert order.coupon_codes == ["SAVE5"]
    assert {p["name"] for p in order.promotions} == {"Ten off", "Five off"}
    assert order.discount_total > D("5")  # the 10 % and the coupon's 5.00
    # the total is what the customer pays: goods after discounts plus shipping, tax included
    assert order.total == order.subtotal - order.discount_total + order.shipping_total
    rows = {(t.kind, t.rate): t for t in OrderTaxLine.objects.filter(order=order)}
    assert set(rows) == {
        ("goods", D("21.00")),
        ("goods", D("9.00")),
        ("shipping", D("21.00")),
        ("shipping", D("9.00")),
    }
    shipping_parts = [t for (kind, _), t in rows.items() if kind == "shipping"]
    assert sum(t.gross for t in shipping_parts) == order.shipping_total
    assert sum(t.tax for t in rows.values()) == order.tax_total
    for line in order.lines.all():
        assert line.tax_rate == (D("9.00") if line.sku == BOOK else D("21.00"))
    assert Coupon.objects.get(code="SAVE5").uses == 1
    assert CouponRedemption.objects.get().order_id == order.pk
    # each parcel is promised the method's delivery day from its location
    postnl = ShippingMethod.objects.get(code="postnl")
    for fulfillment in order.fulfillments.select_related("location"):
        promise = delivery_promise(
            location=fulfillment.location, method=postnl, country="NL", now=before
        )
        tz = location_timezone(fulfillment.location)
        assert fulfillment.promised_at == datetime.combine(
            promise.delivered_by, time(23, 59, 59), tzinfo=tz
        )


def test_a_free_shipping_promotion_takes_the_methods_charge_off(priced: Shop) -> None:
    _promotion(priced.channel, name="Free ship", kind=Promotion.Kind.FREE_SHIPPING, value=D("0"))
    order = _place([(TEE_M, 1)], shipping_method="postnl")
    assert order.shipping_total == D("0.00") and order.shipping_discount == D("6.95")
    assert not OrderTaxLine.objects.filter(order=order, kind="shipping").exists()


def test_without_a_method_the_callers_shipping_is_charged_and_taxed(priced: Shop) -> None:
    order = _place([(TEE_M, 1)], shipping_total=D("3.00"))
    assert order.shipping_total == D("3.00") and order.shipping_method == ""
    shipping = OrderTaxLine.objects.get(order=order, kind="shipping")
    assert (shipping.rate, shipping.gross, shipping.tax) == (D("21.00"), D("3.00"), D("0.52"))


def test_a_loyalty_or_caller_discount_comes_after_the_promotions(priced: Shop) -> None:
    expected = basket_price(
        channel=priced.channel,
        items=_items([(TEE_M, 1)]),
        country="NL",
        customer_email="ann@example.com",
        extra_discount=D("2.00"),
    )
    order = _place([(TEE_M, 1)], discount_total=D("2.00"))
    _assert_stored(order, expected)
    assert order.discount_total == expected.promotion_discount + D("2.00")


def test_a_discount_beyond_what_the_promotions_leave_is_refused(priced: Shop) -> None:
    before = _untouched()
    with pytest.raises(OrderInvalid) as error:
        _place([(TEE_M, 1)], discount_total=D("19.00"))  # 19.99 less 10 % leaves 17.99
    assert error.value.errors[0]["field"] == "discount_total"
    assert _untouched() == before


@pytest.mark.parametrize("case", COUPON_CASES)
def test_every_coupon_error_on_an_order_leaves_nothing_written(priced: Shop, case: str) -> None:
    code = _coupon_case(priced, case)
    before = _untouched()
    with pytest.raises(CouponError) as error:
        _place([(TEE_M, 1)], coupons=[code], shipping_method="postnl")
    assert error.value.code == case
    assert _untouched() == before


def test_a_coupon_used_up_between_check_and_write_refuses_the_order(
    priced: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orders.services import placement

    prepare = placement._placement_prepare

    def prepare_then_spend(**kwargs: Any) -> Any:
        prepared = prepare(**kwargs)
        Coupon.objects.filter(code="SAVE5").update(uses=1)  # another checkout took it
        return prepared

    monkeypatch.setattr(placement, "_placement_prepare", prepare_then_spend)
    before = _untouched()
    with pytest.raises(CouponError) as error:
        _place([(TEE_M, 1)], coupons=["SAVE5"])
    assert error.value.code == "coupon_exhausted"
    orders, committed, uses, redemptions = _untouched()
    assert (orders, committed, redemptions) == (before[0], before[1], before[3])
    assert uses == before[2] + 1  # only the other checkout's use


def test_shipping_method_refusals_leave_nothing_written(priced: Shop) -> None:
    before = _untouched()
    with pytest.raises(ShippingMethodUnknown):
        _place([(TEE_M, 1)], shipping_method="dhl")
    with pytest.raises(ShippingZoneUnserved) as error:
        _place([(TEE_M, 1)], shipping_method="postnl", address={"country": "BE"})
    assert (error.value.code, error.value.status) == ("shipping_zone_unserved", 422)
    with pytest.raises(OrderInvalid):  # the method prices the shipping: not both
        _place([(TEE_M, 1)], shipping_method="postnl", shipping_total=D("1.00"))
    with pytest.raises(OrderInvalid):
        _place(
            [(TEE_M, 1)],
            shipping_method="postnl",
            method="pickup",
            pickup_location_code="ams-central",
        )
    assert _untouched() == before


def test_pickup_is_taxed_at_the_stores_country(priced: Shop) -> None:
    priced.amsterdam.country = "DE"
    priced.amsterdam.save()
    priced.receive(priced.amsterdam, priced.m, 2)
    order = _place([(TEE_M, 1)], method="pickup", pickup_location_code="ams-central", address={})
    assert order.tax_country == "DE"
    line = order.lines.get()
    assert line.tax_rate == D("19.00")
    expected = basket_price(channel=priced.channel, items=_items([(TEE_M, 1)]), country="DE")
    _assert_stored(order, expected)


def test_an_excl_tax_channel_adds_the_tax_on_top(priced: Shop) -> None:
    priced.channel.prices_include_tax = False
    priced.channel.save()  # the channel cache forgets it on save
    order = _place([(TEE_M, 1)])
    assert order.prices_include_tax is False
    line = order.lines.get()
    net = line.line_total - line.discount_amount
    assert line.tax_amount == (net * D("0.21")).quantize(D("0.01"))
    assert order.total == net + line.tax_amount
    assert order.tax_total == line.tax_amount


def test_cancel_gives_the_coupon_back(priced: Shop) -> None:
    order = _place([(TEE_M, 1)], coupons=["SAVE5"])
    assert Coupon.objects.get(code="SAVE5").uses == 1
    with pytest.raises(CouponError):  # used up
        _place([(TEE_M, 1)], coupons=["SAVE5"])
    services.order_cancel(order_id=order.pk)
    assert Coupon.objects.get(code="SAVE5").uses == 0
    assert CouponRedemption.objects.get(order=order).released_at is not None
    again = _place([(TEE_M, 1)], coupons=["SAVE5"])
    assert again.coupon_codes == ["SAVE5"]


def test_the_order_api_takes_coupons_and_a_method_and_shows_the_figures(
    priced: Shop, api_client_for: Callable[..., Any]
) -> None:
    client = api_client_for(channels=[priced.channel])
    body = {
        "channel": "webshop",
        "customer": {"email": "ann@example.com"},
        "lines": [{"sku": TEE_S, "quantity": 1}, {"sku": BOOK, "quantity": 1}],
        "fulfillment": {"method": "ship", "address": {"country": "NL", "postal_code": "1011AB"}},
        "coupons": ["save5"],
        "shipping_method": "postnl",
    }
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="o-1")
    assert response.status_code == 201, response.json()
    data = response.json()
    order = Order.objects.get(number=data["number"])
    assert data["coupons"] == ["SAVE5"] and data["shipping_method"] == "postnl"
    assert D(data["tax_total"]) == order.tax_total and data["tax_country"] == "NL"
    assert data["prices_include_tax"] is True
    assert D(data["shipping_discount"]) == D("0.00")
    assert {p["name"] for p in data["promotions"]} == {"Ten off", "Five off"}
    assert len(data["tax_lines"]) == 4
    assert {line["sku"]: D(line["tax_rate"]) for line in data["lines"]} == {
        TEE_S: D("21.00"),
        BOOK: D("9.00"),
    }
    assert all(D(line["discount_amount"]) > 0 for line in data["lines"])
    detail = client.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["tax_lines"] == data["tax_lines"] and detail["lines"] == data["lines"]

    # a bad coupon: its problem+json, nothing placed
    before = _untouched()
    body["coupons"] = ["SAVE5"]  # used up now
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="o-2")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "coupon_exhausted"
    assert _untouched() == before
    body["shipping_method"], body["coupons"] = "nope", []
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="o-3")
    assert (response.status_code, response.json()["code"]) == (404, "shipping_method_unknown")
