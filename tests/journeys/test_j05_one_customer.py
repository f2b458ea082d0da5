"""Journey 5, one customer: orders placed on the webshop, the app, a marketplace and a store's till
by the same person (known by e-mail, phone or loyalty card) resolve to one customer, whose whole
history each partner reads for its own channels and the till shows for all. A duplicate made
with another e-mail is merged by customer service with an audit trail; points earned anywhere
are spent anywhere with a real-time balance; consent is logged per purpose; the personal data
can be exported (GDPR; erasure is covered by the Trust issue).

Uses the partner API with real keys, the admin and the store page through the test client.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalog import services as catalog_services
from core.models import Channel
from inventory import services as stock
from tests.factories import ChannelFactory
from tests.journeys.steps import staff_user
from tests.shop import Shop

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "mia@example.com"
PHONE = "+31 6 5555 1234"


def _sell_on(shop: Shop, code: str, kind: str) -> Channel:
    """The merchandiser publishes the tee on another channel (same stock, same price)."""
    channel: Channel = ChannelFactory(code=code, kind=kind, currency="EUR")  # type: ignore[assignment]
    channel.locations.set([shop.warehouse, shop.amsterdam, shop.utrecht])
    for variant in (shop.s, shop.m, shop.l):
        catalog_services.price_set(
            variant_id=variant.pk, channel_code=code, amount=Decimal("19.99")
        )
    catalog_services.product_publish(product_ids=[shop.s.product_id], channel_code=code)
    return channel


def _ship_order(
    client: APIClient, channel: str, external_id: str, customer: dict[str, str]
) -> dict[str, Any]:
    """An online order shipped and delivered (completed: points earned)."""
    placed = client.post(
        "/api/v1/orders/",
        {
            "channel": channel,
            "external_id": external_id,
            "customer": customer,
            "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 1}],
            "fulfillment": {"method": "ship", "address": {"country": "NL"}},
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"order-{external_id}",
    )
    assert placed.status_code == 201, placed.content
    body = placed.json()
    (fulfillment,) = body["fulfillments"]
    for action, data in (
        ("ship", {"carrier": "UPS", "tracking_number": external_id}),
        ("deliver", {}),
    ):
        done = client.post(
            f"/api/v1/orders/{body['number']}/fulfillments/{fulfillment['id']}/{action}/",
            data,
            format="json",
        )
        assert done.status_code == 200, done.content
    return dict(done.json())


def _balance(client: APIClient, customer_id: int) -> int:
    response = client.get(f"/api/v1/customers/{customer_id}/loyalty/")
    assert response.status_code == 200, response.content
    return int(response.json()["balance"])


def test_one_customer_across_web_app_marketplace_and_the_till(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    _sell_on(shop, "app", Channel.Kind.APP)
    _sell_on(shop, "marketplace", Channel.Kind.MARKETPLACE)
    pos = _sell_on(shop, "pos", Channel.Kind.POS)
    pos.locations.set([shop.amsterdam])
    shop.receive(shop.warehouse, shop.m, 4)
    shop.receive(shop.amsterdam, shop.s, 1)
    brand = api_client_for(channels=["webshop", "app"])  # one partner runs webshop and app
    market = api_client_for(channels=["marketplace"])
    till = api_client_for(channels=["pos"])

    # web (e-mail), app (e-mail and phone), marketplace (phone, another notation), till (phone)
    web = _ship_order(brand, "webshop", "W-5001", {"email": EMAIL, "name": "Mia"})
    app = _ship_order(brand, "app", "A-5001", {"email": EMAIL.upper(), "phone": PHONE})
    mkt = _ship_order(market, "marketplace", "M-5001", {"phone": "06 55551234"})
    sale = till.post(
        "/api/v1/orders/",
        {
            "channel": "pos",
            "external_id": "POS-5001",
            "customer": {"phone": "0031655551234"},
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
            "fulfillment": {"method": "carry_out", "location": "ams-central"},
            "payments": [{"tender": "card", "amount": "19.99", "reference": "TERM-1"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="pos-5001",
    )
    assert sale.status_code == 201, sale.content
    store_sale = sale.json()
    customer_id = web["customer_id"]
    assert {app["customer_id"], mkt["customer_id"], store_sale["customer_id"]} == {customer_id}

    # each partner finds the same customer and reads the history of its own channels
    found = brand.get("/api/v1/customers/", {"phone": PHONE}).json()["results"]
    assert [c["id"] for c in found] == [customer_id]
    assert [
        c["id"] for c in market.get("/api/v1/customers/", {"phone": PHONE}).json()["results"]
    ] == [customer_id]
    brand_history = brand.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]
    assert sorted(r["channel"] for r in brand_history) == ["app", "webshop"]
    assert [
        r["number"]
        for r in market.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]
    ] == [mkt["number"]]
    assert [
        r["number"]
        for r in till.get("/api/v1/orders/", {"customer": customer_id}).json()["results"]
    ] == [store_sale["number"]]

    # the till shows her purchases on every channel
    associate = staff_user("ana", "Store associate", is_staff=False)
    stock.staff_member_assign(user_id=associate.pk, location=shop.amsterdam)
    store_page = Client()
    store_page.force_login(associate)
    customers_page = store_page.get("/store/customers/", {"q": PHONE}).content.decode()
    assert f'data-testid="customer-history-{customer_id}"' in customers_page
    for number in (web["number"], app["number"], mkt["number"], store_sale["number"]):
        assert f'data-testid="history-{number}"' in customers_page

    # points earned online and in the store are spendable on the marketplace, balance at once
    earned = _balance(brand, customer_id)
    assert earned > 0
    redeemed = market.post(
        f"/api/v1/customers/{customer_id}/loyalty/redeem/",
        {"points": 20, "channel": "marketplace", "reference": "BASKET-77"},
        format="json",
    )
    assert redeemed.status_code in (200, 201), redeemed.content
    assert _balance(brand, customer_id) == earned - 20
    assert _balance(market, customer_id) == earned - 20
    too_many = market.post(
        f"/api/v1/customers/{customer_id}/loyalty/redeem/",
        {"points": earned * 10, "channel": "marketplace", "reference": "BASKET-78"},
        format="json",
    )
    assert (too_many.status_code, too_many.json()["code"]) == (409, "insufficient_points")
    assert _balance(market, customer_id) == earned - 20

    # consent is logged per purpose, on the channel that asked
    consent = brand.post(
        f"/api/v1/customers/{customer_id}/consents/",
        {
            "purpose": "email_marketing",
            "granted": True,
            "channel": "app",
            "source": "app signup",
            "wording_version": "2026-01",
        },
        format="json",
    )
    assert consent.status_code == 201, consent.content
    detail = brand.get(f"/api/v1/customers/{customer_id}/").json()
    states = {c["purpose"]: c for c in detail["consents"]}
    assert (states["email_marketing"]["granted"], states["email_marketing"]["channel_code"]) == (
        True,
        "app",
    )

    # another e-mail on the app made a duplicate; customer service merges it, audited
    other = _ship_order(brand, "app", "A-5002", {"email": "mia.work@example.com", "name": "Mia"})
    duplicate_id = other["customer_id"]
    assert duplicate_id != customer_id
    service = Client()
    service.force_login(staff_user("cs", "Customer service"))
    merge_url = f"/admin/customers/customer/{customer_id}/merge/"
    preview = service.get(merge_url, {"other": duplicate_id}).content.decode()
    assert "<td>orders.Order.customer</td><td>1</td>" in preview  # what will move
    merged = service.post(merge_url, {"other": duplicate_id, "confirm": "1"}, follow=True)
    assert f"Merged #{duplicate_id} into #{customer_id}" in merged.content.decode()
    assert brand.get(f"/api/v1/customers/{duplicate_id}/").status_code == 404
    after = brand.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]
    assert other["number"] in [r["number"] for r in after]
    audit_page = service.get(f"/admin/customers/customer/{customer_id}/change/").content.decode()
    assert f"#{duplicate_id}" in audit_page

    # the customer's data is exported (GDPR), and the export is recorded
    export = service.post(f"/admin/customers/customer/{customer_id}/export/")
    assert export.status_code == 200
    assert export["Content-Type"] == "application/json"
    data = json.loads(export.content)
    values = {
        row.get("value") for row in data["related"].get("customers.CustomerIdentifier.customer", [])
    }
    assert {EMAIL, "mia.work@example.com"} <= values
    orders = {row.get("number") for row in data["related"].get("orders.Order.customer", [])}
    assert {
        web["number"],
        app["number"],
        mkt["number"],
        store_sale["number"],
        other["number"],
    } <= orders
    assert data["consent_state"]["email_marketing"]["granted"] is True
    audit_page = service.get(f"/admin/customers/customer/{customer_id}/change/").content.decode()
    assert "export" in audit_page.lower()
