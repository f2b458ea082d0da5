"""Till sales: ``sale_record`` and ``POST /api/v1/orders/`` with ``carry_out``. A sale is an order
on the POS channel fulfilled at once: the units leave the store with a ``sale`` movement, the
payments are recorded with their tender, points are earned (and may be spent), the receipt is
emailed once; every refusal leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.models import Channel
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.exceptions import InsufficientPoints
from inventory import services as inventory_services
from inventory.exceptions import InsufficientStock
from inventory.models import StockMovement
from inventory.services import StockLine
from orders import services
from orders.exceptions import CustomerNotFound, OrderInvalid, PaymentShort
from orders.models import (
    Notification,
    Order,
    Payment,
    ReturnLine,
    TimelineEvent,
)
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

TEE_M = "ORGANIC-TEE-M"


@pytest.fixture
def pos(shop: Shop) -> Channel:
    return pos_channel_add(shop)


def _sell(**overrides: Any) -> services.PlaceResult:
    fields: dict[str, Any] = {
        "channel_code": "pos",
        "location_code": "ams-central",
        "lines": [services.LineInput(TEE_M, 2)],
        "payments": [services.PaymentInput("card", Decimal("39.98"), "TERM-1")],
        "sale_key": "till-1",
    }
    fields.update(overrides)
    return services.sale_record(**fields)


def _snapshot(shop: Shop) -> tuple[int, int, int, int]:
    """What a refused sale must leave untouched: orders, payments, sale movements, Amsterdam's M."""
    return (
        Order.objects.count(),
        Payment.objects.count(),
        StockMovement.objects.filter(kind="sale").count(),
        shop.level(shop.amsterdam, shop.m)[0],
    )


# --- the service ---------------------------------------------------------------------------------


def test_a_sale_takes_units_off_the_store_and_is_complete_at_once(
    shop: Shop, pos: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    # given three M at Amsterdam
    shop.receive(shop.amsterdam, shop.m, 3)
    # when a known shopper buys two by card
    with django_capture_on_commit_callbacks(execute=True):
        result = _sell(customer=services.CustomerInput(email="Eva@Example.com", name="Eva"))
    order = Order.objects.get(pk=result.order.pk)
    # then the order is a completed carry-out sale on the POS channel
    assert result.created
    assert (order.channel.code, order.fulfillment_method, order.status) == (
        "pos",
        "carry_out",
        "completed",
    )
    assert (order.total, order.amount_captured, order.payment_status) == (
        Decimal("39.98"),
        Decimal("39.98"),
        "captured",
    )
    (fulfillment,) = order.fulfillments.all()
    assert (fulfillment.location, fulfillment.method, fulfillment.status) == (
        shop.amsterdam,
        "carry_out",
        "carried_out",
    )
    # the units left Amsterdam with one sale movement referencing the order, nothing committed
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    (movement,) = StockMovement.objects.filter(kind="sale")
    assert (movement.reference, movement.on_hand_delta, movement.stock.location) == (
        order.number,
        -2,
        shop.amsterdam,
    )
    # the payment is recorded with its tender and terminal reference
    (payment,) = order.payments.all()
    assert (payment.tender, payment.amount, payment.provider_reference, payment.location) == (
        "card",
        Decimal("39.98"),
        "TERM-1",
        shop.amsterdam,
    )
    kinds = list(order.timeline.values_list("kind", flat=True))
    assert kinds == ["carried_out", "payment_recorded", "status_changed", "loyalty_earned"]
    # the customer is resolved, earned points and got exactly one receipt
    assert order.customer is not None and order.customer_email == "eva@example.com"
    assert customer_selectors.loyalty_balance(customer_id=order.customer.pk) == 39
    assert [m.subject for m in mail.outbox] == [f"Your receipt {order.number}"]
    assert "2 x Organic Tee" in mail.outbox[0].body and "Paid by card: 39.98" in mail.outbox[0].body
    receipt = Notification.objects.get(order=order, kind="receipt")
    assert receipt.status == "sent" and receipt.sent_at is not None
    assert services.notification_send(notification_id=receipt.pk) is False  # sent once
    assert services.notifications_send_pending() == 0
    assert len(mail.outbox) == 1


def test_cash_over_the_total_is_change_and_an_anonymous_sale_emails_nobody(
    shop: Shop, pos: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    shop.receive(shop.amsterdam, shop.m, 2)
    with django_capture_on_commit_callbacks(execute=True):
        order = _sell(payments=[services.PaymentInput("cash", Decimal("50.00"))]).order
    (payment,) = order.payments.all()
    assert (payment.tender, payment.amount) == ("cash", Decimal("39.98"))
    event = order.timeline.get(kind=TimelineEvent.Kind.PAYMENT_RECORDED)
    assert (event.data["tendered"], event.data["change"]) == ("50.00", "10.02")
    assert order.customer is None and mail.outbox == []


def test_split_tenders_are_recorded_separately(shop: Shop, pos: Channel) -> None:
    shop.receive(shop.amsterdam, shop.m, 2)
    order = _sell(
        payments=[
            services.PaymentInput("card", Decimal("30.00"), "T-9"),
            services.PaymentInput("cash", Decimal("20.00")),
        ]
    ).order
    assert list(order.payments.values_list("tender", "amount_captured")) == [
        ("card", Decimal("30.00")),
        ("cash", Decimal("9.98")),
    ]


def test_points_earned_online_are_spent_at_the_till_by_the_customer_found_there(
    shop: Shop, pos: Channel
) -> None:
    customer = customer_services.customer_resolve(
        email="eva@example.com", loyalty_card="NL 123", channel_code="webshop"
    ).customer
    customer_services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("500"),
        currency="EUR",
        channel_code="webshop",
        reference="WEB-1",
    )
    shop.receive(shop.amsterdam, shop.m, 1)
    # when the associate sells one M to the customer found by card, spending 300 points
    order = _sell(
        lines=[services.LineInput(TEE_M, 1)],
        customer=services.CustomerInput(loyalty_card="nl123"),
        loyalty_points=300,
        payments=[services.PaymentInput("card", Decimal("16.99"))],
    ).order
    # then the points are the discount and the rest was paid; points are earned on what was paid
    assert (order.discount_total, order.total, order.loyalty_points_redeemed) == (
        Decimal("3.00"),
        Decimal("16.99"),
        300,
    )
    assert order.customer_id == customer.pk and order.customer_email == "eva@example.com"
    assert customer_selectors.loyalty_balance(customer_id=customer.pk) == 500 - 300 + 16


def test_more_points_than_the_balance_are_refused_and_nothing_is_sold(
    shop: Shop, pos: Channel
) -> None:
    customer = customer_services.customer_resolve(email="eva@example.com").customer
    shop.receive(shop.amsterdam, shop.m, 2)
    before = _snapshot(shop)
    with pytest.raises(InsufficientPoints):
        _sell(customer_id=customer.pk, loyalty_points=100)
    assert _snapshot(shop) == before


def test_a_sku_this_store_lacks_is_refused_naming_it_and_nothing_changes(
    shop: Shop, pos: Channel
) -> None:
    # given M at Amsterdam only (Utrecht has none) and L nowhere
    shop.receive(shop.amsterdam, shop.m, 2)
    before = _snapshot(shop)
    with pytest.raises(InsufficientStock) as refused:
        _sell(
            location_code="utr-oudegracht",
            lines=[services.LineInput(TEE_M, 1), services.LineInput("ORGANIC-TEE-L", 1)],
        )
    shortages = refused.value.extra["shortages"]
    assert [(s["sku"], s["location"], s["requested"], s["available"]) for s in shortages] == [
        (TEE_M, "utr-oudegracht", 1, 0),
        ("ORGANIC-TEE-L", "utr-oudegracht", 1, 0),
    ]
    assert _snapshot(shop) == before


def test_safety_stock_is_sold_at_the_till_but_someone_elses_hold_is_not(
    shop: Shop, pos: Channel
) -> None:
    # given two M at Amsterdam, one held for Bo, and both kept back as safety stock
    shop.receive(shop.amsterdam, shop.m, 2)
    inventory_services.stock_reserve(
        lines=[StockLine(shop.m.pk, shop.amsterdam.pk, 1)],
        reference="walk-in:ams-central:Bo",
        ttl=timedelta(hours=1),
    )
    inventory_services.stock_safety_set(
        variant_id=shop.m.pk, location_id=shop.amsterdam.pk, safety_stock=2
    )
    with pytest.raises(InsufficientStock):
        _sell()  # two asked, one is held for Bo
    result = _sell(lines=[services.LineInput(TEE_M, 1)], payments=[_card("19.99")])
    assert result.created and shop.level(shop.amsterdam, shop.m) == (1, 0)


def _card(amount: str) -> services.PaymentInput:
    return services.PaymentInput("card", Decimal(amount))


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"customer_id": 999_999}, CustomerNotFound),
        ({"customer": services.CustomerInput(loyalty_card="NOPE-1")}, CustomerNotFound),
        ({"payments": [_card("19.99")]}, PaymentShort),
        ({"payments": []}, PaymentShort),
        ({"payments": [_card("45.00")]}, OrderInvalid),  # a card cannot give change
        ({"channel_code": "webshop"}, OrderInvalid),
        ({"location_code": "wh-rotterdam"}, OrderInvalid),
        ({"location_code": "nowhere"}, OrderInvalid),
        ({"lines": [services.LineInput("NO-SUCH-SKU", 1)]}, OrderInvalid),
        ({"lines": []}, OrderInvalid),
        ({"payments": [services.PaymentInput("cheque", Decimal("39.98"))]}, OrderInvalid),
        ({"sale_key": " "}, OrderInvalid),
        ({"loyalty_points": 10}, OrderInvalid),  # points need a customer
    ],
)
def test_bad_sales_are_refused_with_a_clear_error_and_change_nothing(
    shop: Shop, pos: Channel, overrides: dict[str, Any], error: type[Exception]
) -> None:
    shop.receive(shop.amsterdam, shop.m, 3)
    customers_before = customer_selectors.customer_visible(channel_codes=None).count()
    before = _snapshot(shop)
    with pytest.raises(error):
        _sell(**overrides)
    assert _snapshot(shop) == before
    assert customer_selectors.customer_visible(channel_codes=None).count() == customers_before


def test_the_errors_name_their_fields(shop: Shop, pos: Channel) -> None:
    with pytest.raises(OrderInvalid) as refused:
        _sell(
            channel_code="webshop",
            location_code="wh-rotterdam",
            payments=[services.PaymentInput("cheque", Decimal("1"))],
        )
    codes = {(e["field"], e["code"]) for e in refused.value.errors}
    assert codes == {
        ("channel", "not_pos"),
        ("fulfillment.location", "not_a_store"),
        ("payments.0.tender", "invalid"),
    }
    with pytest.raises(PaymentShort) as short:
        _sell(payments=[_card("10.00")])
    assert short.value.extra == {"total": "39.98", "paid": "10.00"}


def test_the_same_sale_key_records_one_sale(shop: Shop, pos: Channel) -> None:
    shop.receive(shop.amsterdam, shop.m, 3)
    first = _sell()
    again = _sell()
    assert first.created and not again.created and again.order.pk == first.order.pk
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)


def test_a_till_sale_is_returned_at_another_store_and_refunded(shop: Shop, pos: Channel) -> None:
    shop.receive(shop.amsterdam, shop.m, 2)
    order = _sell(customer=services.CustomerInput(email="eva@example.com")).order
    # when one unit comes back at Utrecht, back on sale there, and is refunded
    return_request = services.return_create(
        order_id=order.pk,
        lines=[services.ReturnLineInput(TEE_M, 1, "too big")],
        location_code="utr-oudegracht",
    )
    services.return_receive(
        return_id=return_request.pk,
        dispositions={
            line.pk: ReturnLine.Disposition.RESTOCK for line in return_request.lines.all()
        },
    )
    refund, _ = services.refund_create(
        order_id=order.pk,
        key="r-1",
        lines=[services.RefundLineInput(TEE_M, 1)],
        return_id=return_request.pk,
    )
    order.refresh_from_db()
    assert shop.level(shop.utrecht, shop.m) == (1, 0)
    assert refund.amount == Decimal("19.99") and order.amount_refunded == Decimal("19.99")
    # more than was bought is refused
    with pytest.raises(Exception) as too_many:
        services.return_create(
            order_id=order.pk,
            lines=[services.ReturnLineInput(TEE_M, 2)],
            location_code="ams-central",
        )
    assert getattr(too_many.value, "code", "") == "return_invalid"


def test_the_quote_prices_a_basket_as_the_sale_will(shop: Shop, pos: Channel) -> None:
    quote = services.sale_quote(
        channel_code="pos",
        lines=[services.LineInput(TEE_M, 2), services.LineInput("NO-SUCH", 1)],
        loyalty_points=150,
    )
    assert [(q.sku, q.sellable, q.reason) for q in quote.lines] == [
        (TEE_M, True, ""),
        ("NO-SUCH", False, "unknown_sku"),
    ]
    assert (quote.subtotal, quote.discount, quote.total, quote.currency) == (
        Decimal("39.98"),
        Decimal("1.50"),
        Decimal("38.48"),
        "EUR",
    )
    assert not quote.sellable


# --- the API -------------------------------------------------------------------------------------

SALE = {
    "channel": "pos",
    "customer": {"email": "eva@example.com"},
    "lines": [{"sku": TEE_M, "quantity": 2}],
    "fulfillment": {"method": "carry_out", "location": "ams-central"},
    "payments": [{"tender": "card", "amount": "39.98", "reference": "TERM-77"}],
}


@pytest.fixture
def till(pos: Channel, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[pos])


def test_an_external_till_posts_a_sale_once(
    shop: Shop, till: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    shop.receive(shop.amsterdam, shop.m, 3)
    with django_capture_on_commit_callbacks(execute=True):
        created = till.post(
            "/api/v1/orders/", SALE, format="json", HTTP_IDEMPOTENCY_KEY="sale-0001"
        )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["fulfillment_method"], body["status"], body["total"]) == (
        "carry_out",
        "completed",
        "39.98",
    )
    assert [(f["method"], f["status"], f["location"]) for f in body["fulfillments"]] == [
        ("carry_out", "carried_out", "ams-central")
    ]
    assert [
        (p["tender"], p["amount"], p["provider_reference"], p["location"]) for p in body["payments"]
    ] == [("card", "39.98", "TERM-77", "ams-central")]
    assert body["customer_id"] is not None
    # a retry with the same key replays the first answer and sells nothing more
    again = till.post("/api/v1/orders/", SALE, format="json", HTTP_IDEMPOTENCY_KEY="sale-0001")
    assert again.status_code == 201 and again.json()["number"] == body["number"]
    assert Order.objects.count() == 1 and shop.level(shop.amsterdam, shop.m) == (1, 0)
    assert len(mail.outbox) == 1
    # the order reads back with its payments
    read = till.get(f"/api/v1/orders/{body['number']}/").json()
    assert read["payments"] == body["payments"]


def test_a_sale_with_the_same_external_id_is_the_same_sale(shop: Shop, till: APIClient) -> None:
    shop.receive(shop.amsterdam, shop.m, 3)
    sale = {**SALE, "external_id": "POS-AMS-1"}
    first = till.post("/api/v1/orders/", sale, format="json")
    second = till.post("/api/v1/orders/", sale, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            {
                "lines": [{"sku": "ORGANIC-TEE-L", "quantity": 1}],
                "payments": [{"tender": "cash", "amount": "20.00"}],
            },
            409,
            "insufficient_stock",
        ),
        ({"payments": [{"tender": "card", "amount": "5.00"}]}, 400, "payment_short"),
        ({"customer": {"loyalty_card": "UNKNOWN-9"}}, 400, "customer_not_found"),
        ({"payments": []}, 400, "payment_short"),
        ({"hold": "cart-1"}, 400, "validation_error"),
        ({"payments": [{"tender": "voucher", "amount": "39.98"}]}, 400, "validation_error"),
        ({"fulfillment": {"method": "carry_out"}}, 400, "validation_error"),
        (
            {"fulfillment": {"method": "carry_out", "location": "wh-rotterdam"}},
            400,
            "order_invalid",
        ),
        ({"channel": "webshop"}, 404, "not_found"),
    ],
)
def test_bad_sales_are_problems_with_a_stable_code_and_nothing_is_sold(
    shop: Shop,
    till: APIClient,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    shop.receive(shop.amsterdam, shop.m, 3)
    before = _snapshot(shop)
    response = till.post(
        "/api/v1/orders/", {**SALE, **change}, format="json", HTTP_IDEMPOTENCY_KEY="bad-1"
    )
    assert response.status_code == status, response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert _snapshot(shop) == before


def test_the_shortage_names_the_sku_the_store_lacks(shop: Shop, till: APIClient) -> None:
    response = till.post(
        "/api/v1/orders/",
        {
            **SALE,
            "lines": [{"sku": "ORGANIC-TEE-L", "quantity": 1}],
            "payments": [{"tender": "card", "amount": "19.99"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="short-1",
    )
    assert response.status_code == 409
    (shortage,) = response.json()["shortages"]
    assert (shortage["sku"], shortage["location"], shortage["available"]) == (
        "ORGANIC-TEE-L",
        "ams-central",
        0,
    )


def test_a_sale_without_any_retry_key_is_refused(shop: Shop, till: APIClient) -> None:
    shop.receive(shop.amsterdam, shop.m, 3)
    response = till.post("/api/v1/orders/", SALE, format="json")
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"
    assert Order.objects.count() == 0


def test_payments_are_only_taken_with_carry_out(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=[shop.channel])
    shop.receive(shop.warehouse, shop.s, 1)
    response = client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
            "fulfillment": {"method": "ship", "address": {"country": "NL"}},
            "payments": [{"tender": "card", "amount": "19.99"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "payments"
    assert Order.objects.count() == 0


def test_the_order_admin_shows_the_payments_read_only(
    shop: Shop, pos: Channel, admin_client: Any
) -> None:
    shop.receive(shop.amsterdam, shop.m, 2)
    order = _sell().order
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "TERM-1" in page and "39.98" in page
    assert 'name="payments-0-amount"' not in page  # shown, never editable
    assert 'name="payments-MAX_NUM_FORMS" value="0"' in page  # none can be added
