"""GDPR erasure reaches every copy: a customer is built through the real journeys (API orders
with an idempotency key, webhook deliveries, notification emails, a cart, a store return, an
admin edit and a merge, loyalty points), erased, and then EVERY column of EVERY table in the
database is searched for each of the person's values. The accounting record must be unchanged,
the API and the store's return search must show nothing of the person, and another customer's
data must be left alone. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from channels.models import Delivery, DeliveryAttempt
from channels.relay import relay_run
from core.actors import SYSTEM
from core.events import EventType
from core.models import ChangeEvent, IdempotencyRecord
from core.outbox.services import event_record
from customers import services as customers
from customers.models import Customer, CustomerStatus, LoyaltyEntry
from inventory import services as stock
from orders import services as orders
from orders.models import Notification, Order
from tests.factories import UserFactory, WebhookSubscriptionFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

NAME = "Zoë Kwaaitaal"
RENAMED = "Zoë Kwaaitaal-Brink"
EMAIL = "zoe.kwaaitaal@example.org"
WORK_EMAIL = "z.kwaaitaal@werk.example"
PHONE_TYPED = "06 4321 9876"
PHONE_E164 = "+31643219876"
CARD_TYPED = "kw 7788 9911"
CARD = "KW77889911"
ADDRESS = {
    "name": NAME,
    "line1": "Zoutkeetsgracht 211",
    "line2": "derde etage",
    "postal_code": "1013 LC",
    "city": "Westerdokseiland",
    "country": "NL",
}
PERSON = [
    NAME,
    RENAMED,
    EMAIL,
    WORK_EMAIL,
    PHONE_TYPED,
    PHONE_E164,
    CARD_TYPED,
    CARD,
    ADDRESS["line1"],
    ADDRESS["line2"],
    ADDRESS["postal_code"],
    ADDRESS["city"],
]

# other notations of her phone: nothing writes them, but none may be left either
DERIVED = ["0643219876", "31643219876", "+31 6 43219876"]

OTHER_EMAIL = "bram.bystander@example.net"
OTHER_NAME = "Bram Bystander"


def _forms(value: str) -> set[str]:
    """How a value can be stored: as is, and JSON-escaped (SQLite JSON, admin change messages)."""
    return {value.lower(), json.dumps(value)[1:-1].lower()}


def _cell_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | int | float | Decimal):
        return None
    if isinstance(value, memoryview | bytes):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def database_scan(values: Iterable[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for every value found, case-insensitively, in any column of any
    table of the database (tables are read whole; every text, JSON or other column counts)."""
    wanted = {value: _forms(value) for value in values}
    found: list[tuple[str, str, str]] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            columns = [
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            ]
            cursor.execute(f"SELECT * FROM {quoted}")  # names from introspection
            for row in cursor.fetchall():
                for column, cell in zip(columns, row, strict=True):
                    text = _cell_text(cell)
                    if not text:
                        continue
                    lowered = text.lower()
                    for value, forms in wanted.items():
                        if any(form in lowered for form in forms):
                            found.append((table, column, value))
    return found


def _accounting() -> dict[str, Any]:
    """What the books need: every order's amounts, dates and lines, payments, refunds, the
    loyalty ledger."""
    return {
        order.number: {
            "amounts": (
                order.currency,
                order.subtotal,
                order.discount_total,
                order.shipping_total,
                order.total,
                order.amount_captured,
                order.amount_refunded,
                order.loyalty_points_redeemed,
                order.payment_status,
                order.status,
            ),
            "dates": (order.placed_at, order.created_at),
            "country": (order.shipping_address or {}).get("country"),
            "lines": [
                (line.sku, line.quantity, line.unit_price, line.line_total, line.quantity_refunded)
                for line in order.lines.order_by("pk")
            ],
            "payments": [(p.tender, p.amount) for p in order.payments.order_by("pk")],
            "refunds": [(r.amount, r.shipping_amount) for r in order.refunds.order_by("pk")],
            "returns": [(r.rma, r.status) for r in order.returns.order_by("pk")],
        }
        for order in Order.objects.order_by("pk")
    } | {
        "ledger": list(
            LoyaltyEntry.objects.order_by("pk").values_list("kind", "points", "balance_after")
        )
    }


def _place(client: APIClient, key: str, customer: dict[str, str], address: dict[str, str]) -> Any:
    response = client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "customer": customer,
            "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 2}],
            "fulfillment": {"method": "ship", "address": address},
            "shipping_total": "4.95",
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.content
    return response


def _ship_and_deliver(client: APIClient, body: dict[str, Any]) -> None:
    (fulfillment,) = body["fulfillments"]
    for action, data in (
        ("ship", {"carrier": "PostNL", "tracking_number": "3SZK1"}),
        ("deliver", {}),
    ):
        done = client.post(
            f"/api/v1/orders/{body['number']}/fulfillments/{fulfillment['id']}/{action}/",
            data,
            format="json",
        )
        assert done.status_code == 200, done.content


def _customer_story(shop: Shop, api: APIClient) -> dict[str, Any]:
    """The person's story through the real surfaces; returns what the checks need."""
    shop.receive(shop.warehouse, shop.m, 20)
    WebhookSubscriptionFactory(
        partner=api.partner,  # type: ignore[attr-defined]
        events=["order.created", "order.updated", "customer.updated", "return.created"],
    )
    customer = {
        "email": EMAIL.upper(),
        "phone": PHONE_TYPED,
        "name": NAME,
        "loyalty_card": CARD_TYPED,
    }
    first = _place(api, "zoe-order-1", customer, ADDRESS)
    order = first.json()
    customer_id = order["customer_id"]
    _ship_and_deliver(api, order)  # the delivered order earns loyalty points

    # a second order under a work email: a second customer, merged in later
    work = _place(api, "zoe-order-2", {"email": WORK_EMAIL, "name": "Zoë K."}, ADDRESS).json()
    assert work["customer_id"] != customer_id
    customers.customer_resolve(email=WORK_EMAIL, phone=PHONE_TYPED, channel_code="webshop")

    # a cart tied to her
    cart = api.post(
        "/api/v1/carts/", {"channel": "webshop", "customer_email": EMAIL}, format="json"
    )
    assert cart.status_code == 201, cart.content
    token = cart.json()["token"]
    tied = api.patch(f"/api/v1/carts/{token}/", {"customer": EMAIL}, format="json")
    assert tied.status_code == 200, tied.content

    # loyalty: points spent through the API
    redeemed = api.post(
        f"/api/v1/customers/{customer_id}/loyalty/redeem/",
        {"points": 5, "channel": "webshop", "reference": "zoe-basket-1"},
        format="json",
    )
    assert redeemed.status_code in (200, 201), redeemed.content

    # emails: the confirmation and shipping emails go out; a later one waits (pending)
    with transaction.atomic():
        orders.notifications_send_pending()

    # customer service: renames her in the admin (a LogEntry) and merges the duplicate
    admin = User.objects.create_superuser("cs-admin", "cs@example.com", "pw-for-tests-only")
    staff = Client()
    staff.force_login(admin)
    change_url = reverse("admin:customers_customer_change", args=[customer_id])
    renamed = staff.post(change_url, {"name": RENAMED})
    assert renamed.status_code == 302, renamed.content
    merged = staff.post(
        reverse("admin:customers_customer_merge", args=[customer_id]),
        {"other": work["customer_id"], "confirm": "1"},
    )
    assert merged.status_code == 302
    assert Customer.objects.get(pk=work["customer_id"]).status == CustomerStatus.MERGED
    assert LogEntry.objects.filter(object_repr__icontains=RENAMED).exists()

    # a store associate finds the order by e-mail and takes one tee back
    associate: User = UserFactory(username="ana", is_staff=False)  # type: ignore[assignment]
    associate.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=associate.pk, location=shop.amsterdam)
    store = Client()
    store.force_login(associate)
    found = store.get(reverse("store:returns"), {"q": EMAIL}).content.decode()
    assert order["number"] in found
    page = store.get(reverse("store:return-order", args=[order["number"]])).content.decode()
    form_token = page.split('name="token" value="')[1].split('"')[0]
    line = Order.objects.get(number=order["number"]).lines.get()
    done = store.post(
        reverse("store:return-order", args=[order["number"]]),
        {
            "token": form_token,
            f"qty-{line.pk}": 1,
            f"disposition-{line.pk}": "restock",
            "reason": f"too big, says {NAME}",
        },
        follow=True,
    )
    assert done.status_code == 200

    # the outbox is relayed: webhook deliveries carry the events; one carries her values (a
    # payload as a partner integration might have it) and a receiver's error echoes her email
    with transaction.atomic():
        event_record(
            topic=EventType.CUSTOMER_UPDATED,
            aggregate="customer",
            aggregate_id=customer_id,
            payload={"id": customer_id, "contact": {"email": EMAIL, "phone": PHONE_E164}},
            channel_code="webshop",
        )
    relay_run()
    delivery = Delivery.objects.filter(payload__icontains=EMAIL).first()
    assert delivery is not None
    Delivery.objects.filter(pk=delivery.pk).update(last_error=f"422: unknown contact {EMAIL}")
    DeliveryAttempt.objects.create(
        delivery=delivery, sequence=1, message_id="msg_1", outcome="refused", error=EMAIL
    )
    assert IdempotencyRecord.objects.filter(key="zoe-order-1").exists()
    assert Notification.objects.filter(recipient=EMAIL).exists()
    return {"customer_id": customer_id, "number": order["number"], "work": work["number"]}


def _bystander(api: APIClient) -> str:
    other = {"email": OTHER_EMAIL, "name": OTHER_NAME}
    address = {"name": OTHER_NAME, "line1": "Ergensstraat 9", "city": "Utrecht", "country": "NL"}
    return str(_place(api, "bram-order-1", other, address).json()["number"])


ErasedBy = Callable[[int], None]


def _erase_by_service(customer_id: int) -> None:
    customers.customer_erase(customer_id=customer_id, actor=SYSTEM)


def _erase_in_admin(customer_id: int) -> None:
    admin = User.objects.create_superuser("dpo", "dpo@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(admin)
    response = client.post(reverse("admin:customers_customer_erase", args=[customer_id]))
    assert response.status_code == 302


@pytest.mark.parametrize("erase", [_erase_by_service, _erase_in_admin], ids=["service", "admin"])
def test_erasure_leaves_no_copy_of_the_person_anywhere(
    shop: Shop, api_client: APIClient, django_capture_on_commit_callbacks: Any, erase: ErasedBy
) -> None:
    # given a customer with orders, carts, emails, a return, deliveries and admin history
    with django_capture_on_commit_callbacks(execute=True):
        story = _customer_story(shop, api_client)
        other_number = _bystander(api_client)
    before = database_scan(PERSON)
    assert {value for _, _, value in before} == set(PERSON)  # the scan sees every value
    tables_before = {table for table, _, _ in before}
    assert {
        "orders_order",
        "orders_cart",
        "orders_notification",
        "api_idempotencyrecord",
        "outbox_changeevent",
        "channels_delivery",
        "django_admin_log",
        "customers_customeridentifier",
    } <= tables_before
    books = _accounting()

    # when she is erased
    with django_capture_on_commit_callbacks(execute=True):
        erase(story["customer_id"])

    # then none of her values is left in any column of any table
    assert database_scan(PERSON + DERIVED) == []
    # the accounting record is unchanged (amounts, dates, lines, payments, refunds, ledger)
    assert _accounting() == books
    assert Customer.objects.get(pk=story["customer_id"]).status == CustomerStatus.ERASED
    # the other customer's data is untouched
    assert {value for _, _, value in database_scan([OTHER_EMAIL, OTHER_NAME])} == {
        OTHER_EMAIL,
        OTHER_NAME,
    }
    assert Order.objects.get(number=other_number).customer_email == OTHER_EMAIL


def test_after_erasure_the_api_and_the_store_search_show_nothing(
    shop: Shop, api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        story = _customer_story(shop, api_client)
        _erase_by_service(story["customer_id"])

    detail = api_client.get(f"/api/v1/orders/{story['number']}/").json()
    assert detail["customer_email"] == ""
    assert detail["total"] == "44.93"  # 2 x 19.99 + 4.95 shipping: the amounts stay
    # a retry of the original request still replays (same order), with the scrubbed body
    replay = _place(
        api_client,
        "zoe-order-1",
        {"email": EMAIL.upper(), "phone": PHONE_TYPED, "name": NAME, "loyalty_card": CARD_TYPED},
        ADDRESS,
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["number"] == story["number"]
    assert EMAIL not in replay.content.decode().lower()
    assert Order.objects.filter(number=story["number"]).count() == 1
    customer = api_client.get(f"/api/v1/customers/{story['customer_id']}/").json()
    assert NAME not in json.dumps(customer, ensure_ascii=False)

    associate: User = UserFactory(username="bo", is_staff=False)  # type: ignore[assignment]
    associate.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=associate.pk, location=shop.amsterdam)
    store = Client()
    store.force_login(associate)
    for term in (EMAIL, PHONE_TYPED, PHONE_E164, WORK_EMAIL):
        page = store.get(reverse("store:returns"), {"q": term}).content.decode()
        assert story["number"] not in page and story["work"] not in page, term
    by_number = store.get(reverse("store:returns"), {"q": story["number"]}).content.decode()
    assert story["number"] in by_number  # the order itself is still there, anonymous


def test_only_the_rows_holding_the_person_are_rewritten(db: Any) -> None:
    """Shared tables are searched by the person's values: another customer's event, delivery
    or admin log entry is not touched, even next to hers."""
    zoe = customers.customer_resolve(email=EMAIL, name=NAME, channel_code="webshop").customer
    with transaction.atomic():
        for email in (EMAIL, OTHER_EMAIL):
            event_record(
                topic=EventType.CUSTOMER_UPDATED,
                aggregate="customer",
                aggregate_id=1,
                payload={"email": email, "note": f"for {email}"},
            )
    customers.customer_erase(customer_id=zoe.pk, actor=SYSTEM)
    payloads = list(
        ChangeEvent.objects.filter(payload__has_key="note").values_list("payload", flat=True)
    )
    assert {"email": "", "note": "for [erased]"} in payloads
    assert {"email": OTHER_EMAIL, "note": f"for {OTHER_EMAIL}"} in payloads
