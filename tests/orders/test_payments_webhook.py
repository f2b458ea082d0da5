"""The signed payment provider callback ``POST /payments/{provider}/webhook/``: a good signature
applies the event, a bad or stale one (the replay window) is a 401 problem that writes nothing,
a redelivered event id changes nothing, and amounts beyond the record are refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from channels.connectors import signature
from orders import services
from orders.models import Order, Payment, PaymentEvent, Refund
from orders.payments import ManualProvider, provider_register, provider_unregister
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"acme-test-secret-32-bytes-long!!").decode()
D = Decimal


class _Acme(ManualProvider):
    code = "acme"


@pytest.fixture(autouse=True)
def acme(settings: Any) -> Iterator[None]:
    settings.PAYMENT_WEBHOOK_SECRETS = {"acme": SECRET, "ghost": SECRET}
    provider_register(_Acme())
    yield
    provider_unregister("acme")


@pytest.fixture
def order(shop: Shop) -> Order:
    shop.receive(shop.warehouse, shop.s, 5)
    return services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(shop.s.sku, 2)],
        method="ship",
        address={"name": "Ann", "country": "NL", "city": "Utrecht"},
        customer=services.CustomerInput(email="ann@example.com"),
        payment_status="pending",
    ).order


def _post(
    body: dict[str, Any],
    *,
    provider: str = "acme",
    secret: str = SECRET,
    timestamp: int | None = None,
    message_id: str = "msg_1",
) -> Any:
    raw = json.dumps(body).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    return Client().post(
        f"/payments/{provider}/webhook/",
        data=raw,
        content_type="application/json",
        HTTP_WEBHOOK_ID=message_id,
        HTTP_WEBHOOK_TIMESTAMP=str(stamp),
        HTTP_WEBHOOK_SIGNATURE=signature(
            secret=secret, message_id=message_id, timestamp=stamp, body=raw
        ),
    )


def _event(order: Order, event_id: str, kind: str, amount: str) -> dict[str, str]:
    return {
        "id": event_id,
        "type": kind,
        "order": order.number,
        "reference": "pi_42",
        "amount": amount,
    }


def _state(order: Order) -> tuple[Any, ...]:
    order.refresh_from_db()
    return (
        order.payment_status,
        order.amount_captured,
        order.amount_refunded,
        list(Payment.objects.values_list("status", "amount_authorised", "amount_captured")),
        PaymentEvent.objects.count(),
        Refund.objects.count(),
        order.timeline.count(),
    )


def test_signed_events_authorise_capture_and_refund_the_payment(order: Order) -> None:
    response = _post(_event(order, "evt_1", "authorised", "39.98"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "applied"
    payment = Payment.objects.get(order=order)
    assert (payment.provider, payment.provider_reference, payment.status) == (
        "acme",
        "pi_42",
        "authorized",
    )
    assert payment.amount_authorised == D("39.98") and payment.amount_captured == 0
    order.refresh_from_db()
    assert order.payment_status == "authorized"

    assert _post(_event(order, "evt_2", "captured", "39.98")).status_code == 200
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.amount_captured) == ("captured", D("39.98"))
    assert (order.payment_status, order.amount_captured) == ("captured", D("39.98"))

    assert _post(_event(order, "evt_3", "refunded", "10.00")).status_code == 200
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.amount_refunded == order.amount_refunded == D("10.00")
    assert order.payment_status == "partially_refunded"
    assert Refund.objects.get().payment == payment
    # running totals: an older total arriving late changes nothing
    assert _post(_event(order, "evt_4", "captured", "20.00")).status_code == 200
    order.refresh_from_db()
    assert order.amount_captured == D("39.98")


def test_a_bad_signature_is_401_and_writes_nothing(order: Order) -> None:
    before = _state(order)
    wrong = "whsec_" + base64.b64encode(b"another-secret-entirely-32bytes!").decode()
    response = _post(_event(order, "evt_1", "authorised", "39.98"), secret=wrong)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_signature"
    unsigned = Client().post(
        "/payments/acme/webhook/",
        data=json.dumps(_event(order, "evt_1", "authorised", "39.98")),
        content_type="application/json",
    )
    assert unsigned.status_code == 401
    assert _state(order) == before


def test_a_replayed_request_outside_the_window_is_refused(order: Order) -> None:
    before = _state(order)
    response = _post(
        _event(order, "evt_1", "authorised", "39.98"), timestamp=int(time.time()) - 600
    )
    assert (response.status_code, response.json()["code"]) == (401, "invalid_signature")
    assert _state(order) == before


def test_a_duplicate_event_id_changes_nothing(order: Order) -> None:
    assert _post(_event(order, "evt_1", "authorised", "39.98")).status_code == 200
    assert _post(_event(order, "evt_2", "captured", "20.00")).status_code == 200
    before = _state(order)
    # the same event delivered again (even with another body) is recognised by its id
    again = _post(_event(order, "evt_2", "captured", "39.98"), message_id="msg_2")
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert _state(order) == before


def test_a_refund_above_captured_is_refused_and_writes_nothing(order: Order) -> None:
    assert _post(_event(order, "evt_1", "authorised", "39.98")).status_code == 200
    assert _post(_event(order, "evt_2", "captured", "20.00")).status_code == 200
    before = _state(order)
    response = _post(_event(order, "evt_3", "refunded", "20.01"))
    assert (response.status_code, response.json()["code"]) == (409, "refund_exceeds_captured")
    assert _state(order) == before
    # the refused event was not recorded: a corrected redelivery of the same id applies
    assert _post(_event(order, "evt_3", "refunded", "5.00")).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"id": "e", "type": "captured", "order": "O-NOPE", "reference": "r", "amount": "1"},
            422,
            "payment_event_invalid",
        ),
        (
            {"id": "e", "type": "exploded", "order": "O-NOPE", "reference": "r", "amount": "1"},
            422,
            "validation_error",
        ),
        (
            {"id": "e", "type": "captured", "order": "O-NOPE", "reference": "r", "amount": "-1"},
            422,
            "validation_error",
        ),
    ],
)
def test_bad_events_are_problems(
    order: Order, body: dict[str, str], status: int, code: str
) -> None:
    before = _state(order)
    response = _post(body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert _state(order) == before


def test_capture_above_authorised_and_unknown_payment_are_refused(order: Order) -> None:
    before = _state(order)
    response = _post(_event(order, "evt_1", "captured", "1.00"))  # no such payment yet
    assert (response.status_code, response.json()["code"]) == (422, "payment_event_invalid")
    assert _state(order) == before
    assert _post(_event(order, "evt_2", "authorised", "39.98")).status_code == 200
    before = _state(order)
    response = _post(_event(order, "evt_3", "captured", "40.00"))
    assert (response.status_code, response.json()["code"]) == (422, "payment_event_invalid")
    assert _state(order) == before


def test_failed_payment_is_recorded(order: Order) -> None:
    assert _post(_event(order, "evt_1", "authorised", "39.98")).status_code == 200
    assert _post(_event(order, "evt_2", "failed", "0")).status_code == 200
    assert Payment.objects.get(order=order).status == "failed"


def test_unknown_or_unregistered_provider_is_404(order: Order) -> None:
    for provider in ("nobody", "ghost"):  # ghost has a secret but no implementation
        response = _post(_event(order, "evt_1", "authorised", "1"), provider=provider)
        assert (response.status_code, response.json()["code"]) == (404, "payment_provider_unknown")
    assert Client().get("/payments/acme/webhook/").status_code == 405
