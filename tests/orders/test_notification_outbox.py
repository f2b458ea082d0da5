"""Customer emails go through an outbox (issue 16, "A Redis outage turns into lost emails"): the
notification is a pending row written in the order's transaction, the worker sends it once, and a
broker outage at commit loses nothing: the sweep sends it when the worker runs again."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app
from django.core import mail
from django.db import transaction

from core import broker
from orders import services, tasks
from orders.models import Notification, Order
from orders.services import CustomerInput, LineInput
from orders.services.notifications import MAX_ATTEMPTS, notification_queue
from tests.shop import Shop

pytestmark = pytest.mark.django_db

NL = {"country": "NL", "city": "Amsterdam", "line1": "Damrak 1", "postal_code": "1012"}


def _place(shop: Shop, n: int = 1) -> Order:
    shop.receive(shop.warehouse, shop.s, 5)
    return services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address=NL,
        customer=CustomerInput(email=f"ann{n}@example.com"),
        external_id=f"WEB-OUTBOX-{n}",
    ).order


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Real (not eager) Celery with a broker nobody listens on."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setitem(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(broker, "_pool", None)
    yield
    broker._pool = None


def test_the_confirmation_is_a_pending_row_of_the_order_transaction(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        order = _place(shop)
    row = Notification.objects.get(order=order)
    assert (row.kind, row.status, row.recipient, row.sent_at) == (
        "confirmation",
        "pending",
        "ann1@example.com",
        None,
    )
    assert mail.outbox == []
    assert services.notifications_send_pending() == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} is confirmed"]
    assert services.notifications_send_pending() == 0  # never twice
    assert len(mail.outbox) == 1


def test_a_rolled_back_change_queues_nothing(shop: Shop) -> None:
    order = _place(shop)
    Notification.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_queue(order=order, kind="shipped", subject_key="1")
        raise RuntimeError("the change failed")
    assert not Notification.objects.exists()


def test_queueing_twice_sends_once(shop: Shop, django_capture_on_commit_callbacks: Any) -> None:
    order = _place(shop)
    services.notifications_send_pending()  # the confirmation
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notification_queue(order=order, kind="shipped", subject_key="7")
        notification_queue(order=order, kind="shipped", subject_key="7")
    assert Notification.objects.filter(order=order, kind="shipped").count() == 1
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} has shipped"]


def test_with_the_broker_down_the_order_commits_and_the_email_goes_once_it_is_back(
    shop: Shop, broker_down: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # when an order commits while the broker is unreachable
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = _place(shop)
    # then the after-commit kick failed quietly and nothing was sent
    assert callbacks, "the order kicks the worker after commit"
    assert mail.outbox == []
    assert Notification.objects.get(order=order).status == "pending"
    # when the worker's sweep runs again (the broker is back)
    assert tasks.notifications_send() == 1
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} is confirmed"]
    assert tasks.notifications_send() == 0


def test_a_failing_send_is_retried_by_the_sweep_and_given_up_after_max_attempts(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        order = _place(shop)
        other = _place(shop, 2)

    def smtp_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("smtp is down")

    monkeypatch.setattr("orders.services.notifications.send_mail", smtp_down)
    assert services.notifications_send_pending() == 0
    rows = {row.order_id: row for row in Notification.objects.all()}
    assert rows[order.pk].status == "pending" and rows[order.pk].attempts == 1
    assert "smtp is down" in rows[order.pk].last_error
    for _ in range(MAX_ATTEMPTS - 1):
        services.notifications_send_pending()
    assert set(Notification.objects.values_list("status", "attempts")) == {("failed", MAX_ATTEMPTS)}
    assert other.pk in rows


def test_the_pickup_code_is_kept_only_until_sent(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    order = _place(shop)
    services.notifications_send_pending()  # the confirmation
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notification_queue(
            order=order, kind="ready_for_pickup", subject_key="9", pickup_code="123456"
        )
    row = Notification.objects.get(order=order, kind="ready_for_pickup")
    assert row.status == "sent" and row.pickup_code == ""
    assert "Your pickup code: 123456" in mail.outbox[0].body


def test_a_message_of_the_previous_release_is_sent_once(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    order = _place(shop)
    mail.outbox.clear()
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.notification_send_queued_before_upgrade(order.pk, "confirmation")
        tasks.notification_send_queued_before_upgrade(order.pk, "confirmation")
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} is confirmed"]
