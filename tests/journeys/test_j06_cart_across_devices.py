"""Journey 6, a cart continues across devices: a shopper starts a cart in the app, signs in, keeps
shopping on the desktop site as a guest, signs in there too, and finds one cart on every device
of the retailer (the app and the webshop belong to one partner), which she checks out once.
Another partner never sees it.

Only public interfaces: the partner API with real keys (one for the app front-end, one for the
webshop front-end, both of one partner). The shop itself (catalog, locations) is set up with the
factories every order test uses; the stock comes from the ERP's count (``PUT /stock/...``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog import services as catalog_services
from core.api.services import partner_api_key_create
from core.models import Channel
from core.scopes import ALL_SCOPES
from tests.factories import ChannelFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

ANN = "ann@example.com"


def _key_of(partner: Any) -> APIClient:
    """Another key of the same partner (each front-end has its own)."""
    _key, raw = partner_api_key_create(partner=partner, name="front-end", scopes=sorted(ALL_SCOPES))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _lines(body: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted((x["sku"], x["quantity"]) for x in body["lines"])


def test_a_cart_started_in_the_app_continues_on_the_desktop_site(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    # Given one partner selling the tee on its webshop and in its app
    app: Channel = ChannelFactory(code="app", currency="EUR")  # type: ignore[assignment]
    app.locations.set([shop.warehouse, shop.amsterdam])
    for variant in (shop.s, shop.m, shop.l):
        catalog_services.price_set(variant_id=variant.pk, channel_code="app", amount="19.99")
    catalog_services.product_publish(product_ids=[shop.s.product_id], channel_code="app")
    desktop = api_client_for(channels=[shop.channel, app])
    phone = _key_of(desktop.partner)  # type: ignore[attr-defined]
    for sku in ("ORGANIC-TEE-S", "ORGANIC-TEE-M", "ORGANIC-TEE-L"):
        counted = desktop.put(f"/api/v1/stock/wh-rotterdam/{sku}/", {"on_hand": 5}, format="json")
        assert counted.status_code == 200, counted.content

    # 1. In the app, as a guest, Ann starts a cart
    started = phone.post(
        "/api/v1/carts/",
        {"channel": "app", "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}]},
        format="json",
    )
    assert started.status_code == 201, started.content
    app_cart = started.json()["token"]
    phone.post(
        f"/api/v1/carts/{app_cart}/lines/", {"sku": "ORGANIC-TEE-M", "quantity": 2}, format="json"
    )

    # 2. She signs in: the app ties the cart to her
    signed_in = phone.patch(f"/api/v1/carts/{app_cart}/", {"customer": ANN}, format="json")
    assert signed_in.status_code == 200, signed_in.content
    customer_id = signed_in.json()["customer_id"]
    assert customer_id is not None
    found = desktop.get("/api/v1/customers/", {"email": ANN}).json()["results"]
    assert [c["id"] for c in found] == [customer_id]

    # 3. Later, on the desktop site, she adds a tee as a guest before signing in
    guest = desktop.post(
        "/api/v1/carts/",
        {"channel": "webshop", "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 1}]},
        format="json",
    ).json()["token"]
    desktop.post(
        f"/api/v1/carts/{guest}/lines/", {"sku": "ORGANIC-TEE-L", "quantity": 1}, format="json"
    )

    # 4. She signs in on the desktop: the guest cart and her saved cart merge into one (the
    #    desktop's cart keeps its token; a SKU in both keeps the larger quantity)
    merged = desktop.patch(f"/api/v1/carts/{guest}/", {"customer": str(customer_id)})
    assert merged.status_code == 200, merged.content
    assert (merged.json()["token"], merged.json()["customer_id"]) == (guest, customer_id)
    assert _lines(merged.json()) == [
        ("ORGANIC-TEE-L", 1),
        ("ORGANIC-TEE-M", 2),
        ("ORGANIC-TEE-S", 1),
    ]

    # 5. Back in the app, the old token is gone; the app finds her cart through her
    assert phone.get(f"/api/v1/carts/{app_cart}/").status_code == 404
    on_phone = phone.get(f"/api/v1/customers/{customer_id}/cart/")
    assert (on_phone.status_code, on_phone.json()["token"]) == (200, guest)
    assert (on_phone.json()["subtotal"], on_phone.json()["currency"]) == ("79.96", "EUR")
    changed = phone.post(
        f"/api/v1/carts/{guest}/lines/", {"sku": "ORGANIC-TEE-S", "quantity": 0}, format="json"
    )
    assert _lines(changed.json()) == [("ORGANIC-TEE-L", 1), ("ORGANIC-TEE-M", 2)]

    # 6. The desktop sees the phone's change at once
    assert _lines(desktop.get(f"/api/v1/carts/{guest}/").json()) == [
        ("ORGANIC-TEE-L", 1),
        ("ORGANIC-TEE-M", 2),
    ]

    # 7. Another partner sees neither the customer's cart nor the cart itself
    stranger = api_client_for(channels=["marketplace"])
    assert stranger.get(f"/api/v1/customers/{customer_id}/cart/").status_code == 404
    assert stranger.get(f"/api/v1/carts/{guest}/").status_code == 404

    # 8. She checks out on the desktop: one order for her, the cart closed on every device
    order = desktop.post(
        f"/api/v1/carts/{guest}/checkout/",
        {"fulfillment": {"method": "ship", "address": {"country": "NL"}}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="desktop-checkout-1",
    )
    assert order.status_code == 201, order.content
    assert (order.json()["customer_id"], order.json()["total"]) == (customer_id, "59.97")
    assert phone.get(f"/api/v1/customers/{customer_id}/cart/").status_code == 404
    assert phone.get(f"/api/v1/carts/{guest}/").json()["order"] == order.json()["number"]
    stock = desktop.get("/api/v1/stock/wh-rotterdam/ORGANIC-TEE-M/").json()
    assert (stock["on_hand"], stock["committed"]) == (5, 2)
