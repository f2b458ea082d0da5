"""Store work on the store page: every hold at the store (partners', carts', walk-in) with who
made it and a release button; the ship-from-store queue (pick, pack, ship with tracking); asking
a warehouse or another store for a transfer, and the transfers coming in and going out. Bad input
gets a clear message and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from inventory import selectors as stock_selectors
from inventory import services as stock
from inventory.exceptions import HoldNotActive, TransferSameLocation, UnknownStockItem
from inventory.models import StockHold, Transfer
from inventory.services import StockLine
from orders import services as orders
from orders.models import Fulfillment, Order
from tests.factories import UserFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

FS = Fulfillment.Status


def _associate(store: Any, username: str = "ana") -> Client:
    user: Any = UserFactory(username=username, is_staff=False)
    user.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=user.pk, location=store)
    client = Client()
    client.force_login(user)
    return client


def _available(shop: Shop, location: Any, variant: Any) -> int:
    return stock_selectors.availability_for_variants(
        variant_ids=[variant.pk], location_ids=[location.pk]
    )[variant.pk].total


def _text(response: Any) -> str:
    return str(response.content.decode())


# --- holds ----------------------------------------------------------------------------------------


@pytest.fixture
def holds(orders_shop: Shop, api_client_for: Callable[..., APIClient]) -> dict[str, Any]:
    """At Amsterdam: a partner's hold (with a second line in Utrecht), an online cart's hold and
    a walk-in hold; an expired hold and a hold in Utrecht that Amsterdam must not list."""
    shop = orders_shop
    shop.receive(shop.amsterdam, shop.s, 10)
    shop.receive(shop.amsterdam, shop.m, 10)
    shop.receive(shop.utrecht, shop.s, 10)
    partner = api_client_for(channels=[shop.channel])
    response = partner.post(
        "/api/v1/stock/holds/",
        {
            "reference": "checkout-77",
            "ttl_seconds": 900,
            "lines": [
                {"location": shop.amsterdam.code, "sku": shop.s.sku, "quantity": 2},
                {"location": shop.utrecht.code, "sku": shop.s.sku, "quantity": 1},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    cart = orders.cart_create(channel_code=shop.channel.code)
    stock.stock_reserve(
        lines=[StockLine(shop.m.pk, shop.amsterdam.pk, 1)],
        reference=cart.hold_reference,
        ttl=timedelta(minutes=10),
    )
    stock.stock_reserve(
        lines=[StockLine(shop.m.pk, shop.amsterdam.pk, 3)],
        reference=f"walk-in:{shop.amsterdam.code}:Mrs Jansen",
        ttl=timedelta(hours=2),
    )
    [expired] = stock.stock_reserve(
        lines=[StockLine(shop.s.pk, shop.amsterdam.pk, 1)],
        reference="walk-in:ams-central:Gone",
        ttl=timedelta(hours=1),
    )
    StockHold.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    return {"shop": shop, "partner": partner, "cart": cart}


def _hold(reference_end: str, location: Any) -> StockHold:
    return StockHold.objects.get(reference__endswith=reference_end, stock__location=location)


def test_the_holds_screen_lists_every_maker_at_this_store_only(holds: dict[str, Any]) -> None:
    shop, partner, cart = holds["shop"], holds["partner"], holds["cart"]
    client = _associate(shop.amsterdam)
    page = _text(client.get(reverse("store:holds")))

    partner_hold = _hold("checkout-77", shop.amsterdam)
    assert f'data-testid="hold-{partner_hold.pk}"' in page
    assert partner.partner.name in page and "checkout-77" in page
    assert f"{shop.channel.name} cart" in page
    assert cart.token[:8] in page and cart.token not in page  # the token is the cart's key
    assert "this store (walk-in)" in page and "Mrs Jansen" in page
    assert "Gone" not in page  # expired: no longer counts, not listed
    utrecht = _hold("checkout-77", shop.utrecht)
    assert f'data-testid="hold-{utrecht.pk}"' not in page
    assert page.count('data-testid="hold-') == 3


def test_an_associate_releases_a_partners_hold_here_and_only_here(
    holds: dict[str, Any],
) -> None:
    shop, partner = holds["shop"], holds["partner"]
    client = _associate(shop.amsterdam)
    here, there = _hold("checkout-77", shop.amsterdam), _hold("checkout-77", shop.utrecht)
    assert _available(shop, shop.amsterdam, shop.s) == 8

    released = client.post(reverse("store:hold-release-one", args=[here.pk]), follow=True)
    assert "2 x ORGANIC-TEE-S released: back on sale." in _text(released)
    here.refresh_from_db()
    there.refresh_from_db()
    assert (here.status, there.status) == ("released", "active")
    assert _available(shop, shop.amsterdam, shop.s) == 10
    assert f'data-testid="hold-{here.pk}"' not in _text(client.get(reverse("store:holds")))

    # pressing again refuses and changes nothing
    again = client.post(reverse("store:hold-release-one", args=[here.pk]), follow=True)
    assert "no longer active" in _text(again)
    assert _available(shop, shop.amsterdam, shop.s) == 10
    # the partner finds only its Utrecht unit left to release
    left = partner.delete("/api/v1/stock/holds/checkout-77/")
    assert left.status_code == 200 and left.json()["released"] == 1


def test_a_hold_elsewhere_is_not_found_and_a_get_changes_nothing(holds: dict[str, Any]) -> None:
    shop = holds["shop"]
    client = _associate(shop.amsterdam)
    utrecht = _hold("checkout-77", shop.utrecht)
    assert client.post(reverse("store:hold-release-one", args=[utrecht.pk])).status_code == 404
    assert client.post(reverse("store:hold-release-one", args=[999_999])).status_code == 404
    walk_in = _hold("Mrs Jansen", shop.amsterdam)
    assert client.get(reverse("store:hold-release-one", args=[walk_in.pk])).status_code == 405
    assert StockHold.objects.filter(status="released").count() == 0


def test_releasing_a_hold_used_by_an_order_is_refused(holds: dict[str, Any]) -> None:
    shop = holds["shop"]
    client = _associate(shop.amsterdam)
    walk_in = _hold("Mrs Jansen", shop.amsterdam)
    StockHold.objects.filter(pk=walk_in.pk).update(status=StockHold.Status.CONSUMED)
    refused = client.post(reverse("store:hold-release-one", args=[walk_in.pk]), follow=True)
    assert "no longer active (released, used by an order or expired)" in _text(refused)
    walk_in.refresh_from_db()
    assert walk_in.status == "consumed"


def test_the_release_service_records_who_released_it(
    holds: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from core.actors import Actor

    shop = holds["shop"]
    user = UserFactory(username="lin")
    hold = _hold("Mrs Jansen", shop.amsterdam)
    with pytest.raises(HoldNotActive, match="no longer active"):  # not at Utrecht
        stock.stock_hold_release_one(
            hold_id=hold.pk, location_id=shop.utrecht.pk, actor=Actor.for_user(user)
        )
    with caplog.at_level("INFO"):
        stock.stock_hold_release_one(
            hold_id=hold.pk, location_id=shop.amsterdam.pk, actor=Actor.for_user(user, via="store")
        )
    [record] = [r for r in caplog.records if "stock.hold_released" in str(r.msg)]
    assert record.msg["actor"] == "store:lin"  # type: ignore[index]
    assert record.msg["reference"] == "walk-in:ams-central:Mrs Jansen"  # type: ignore[index]


# --- ship from store ------------------------------------------------------------------------------


def _online_order(shop: Shop, quantity: int = 1) -> Order:
    """An online parcel sourced at Amsterdam, the only location with stock."""
    shop.receive(shop.amsterdam, shop.s, 3)
    return orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.s.sku, quantity=quantity)],
        method="ship",
        address={
            "name": "Eva",
            "line1": "Damrak 1",
            "postal_code": "1012 LG",
            "city": "Amsterdam",
            "country": "NL",
        },
        customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
        payment_status="authorized",
    ).order


def test_pick_pack_and_ship_a_parcel_from_the_store(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _online_order(shop, 2)
    fulfillment = order.fulfillments.get()
    assert fulfillment.location == shop.amsterdam
    client = _associate(shop.amsterdam)
    action = reverse("store:shipment-action", args=[fulfillment.pk])

    queue = _text(client.get(reverse("store:shipments")))
    assert f'data-testid="parcel-{order.number}"' in queue and "To pick (1)" in queue
    assert "Damrak 1" in queue
    client.post(action, {"action": "pick"})
    assert "Picking (1)" in _text(client.get(reverse("store:shipments")))
    packed = client.post(action, {"action": "pack"}, follow=True)
    assert f"{order.number}: packed, waiting for the carrier." in _text(packed)
    assert "Packed, for the carrier (1)" in _text(packed)

    refused = client.post(action, {"action": "ship", "carrier": "PostNL"}, follow=True)
    assert "carrier and a tracking number" in _text(refused)
    fulfillment.refresh_from_db()
    assert fulfillment.status == FS.PACKED
    assert shop.level(shop.amsterdam, shop.s) == (3, 2)

    shipped = client.post(
        action,
        {"action": "ship", "carrier": "PostNL", "tracking_number": "3SAMS1"},
        follow=True,
    )
    assert f"{order.number}: shipped" in _text(shipped)
    assert f'data-testid="parcel-{order.number}"' not in _text(shipped)
    fulfillment.refresh_from_db()
    assert (fulfillment.status, fulfillment.carrier, fulfillment.tracking_number) == (
        FS.SHIPPED,
        "PostNL",
        "3SAMS1",
    )
    assert shop.level(shop.amsterdam, shop.s) == (1, 0)
    timeline = order.timeline.order_by("id")
    assert [e.actor_name for e in timeline.filter(kind__in=["picking", "packed", "shipped"])] == [
        "store:ana"
    ] * 3

    twice = client.post(
        action, {"action": "ship", "carrier": "PostNL", "tracking_number": "3SAMS2"}, follow=True
    )
    assert "cannot become shipped" in _text(twice)
    fulfillment.refresh_from_db()
    assert fulfillment.tracking_number == "3SAMS1"


def test_packing_before_picking_and_unknown_actions_are_refused(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _online_order(shop)
    fulfillment = order.fulfillments.get()
    client = _associate(shop.amsterdam)
    action = reverse("store:shipment-action", args=[fulfillment.pk])
    early = client.post(action, {"action": "pack"}, follow=True)
    assert "cannot become packed" in _text(early)
    assert "Unknown action." in _text(client.post(action, {"action": "explode"}, follow=True))
    fulfillment.refresh_from_db()
    assert fulfillment.status == FS.ALLOCATED


def test_a_missing_item_sends_the_parcel_elsewhere(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _online_order(shop)
    shop.receive(shop.warehouse, shop.s, 1)  # arrives after the order was sourced here
    fulfillment = order.fulfillments.get()
    client = _associate(shop.amsterdam)
    line = fulfillment.lines.get()
    done = client.post(
        reverse("store:shipment-action", args=[fulfillment.pk]),
        {"action": "missing", "line": line.pk, "quantity": 1},
        follow=True,
    )
    assert f"{order.number}: taken off the stock; 1 sourced again at wh-rotterdam" in _text(done)
    assert shop.level(shop.amsterdam, shop.s) == (2, 0)
    assert order.fulfillments.get(status=FS.ALLOCATED).location == shop.warehouse


def test_other_stores_parcels_and_pickups_are_not_in_the_queue(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _online_order(shop)
    fulfillment = order.fulfillments.get()
    shop.receive(shop.amsterdam, shop.m, 1)
    pickup = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.m.sku, quantity=1)],
        method="pickup",
        pickup_location_code=shop.amsterdam.code,
        customer=orders.CustomerInput(email="bo@example.com"),
    ).order.fulfillments.get()
    utrecht = _associate(shop.utrecht, "uma")
    assert order.number not in _text(utrecht.get(reverse("store:shipments")))
    url = reverse("store:shipment-action", args=[fulfillment.pk])
    assert utrecht.post(url, {"action": "pick"}).status_code == 404
    amsterdam = _associate(shop.amsterdam)
    assert pickup.order.number not in _text(amsterdam.get(reverse("store:shipments")))
    pickup_url = reverse("store:shipment-action", args=[pickup.pk])
    assert amsterdam.post(pickup_url, {"action": "pick"}).status_code == 404
    fulfillment.refresh_from_db()
    pickup.refresh_from_db()
    assert (fulfillment.status, pickup.status) == (FS.ALLOCATED, FS.ALLOCATED)


# --- transfer requests ----------------------------------------------------------------------------


def test_a_store_asks_the_warehouse_for_stock(shop: dict[str, Any]) -> None:
    client = Client()
    client.force_login(shop["associate"])
    white_m, navy_s = shop["variants"]["HARBOUR-M-WHITE"], shop["variants"]["HARBOUR-S-NAVY"]
    response = client.post(
        reverse("store:transfers"),
        {
            "action": "request",
            "source": shop["warehouse"].pk,
            "lines": "HARBOUR-M-WHITE 3\nharbour-m-white\n\nHARBOUR-S-NAVY x 2\n",
            "note": "weekend promo",
        },
        follow=True,
    )
    transfer = Transfer.objects.get()
    page = _text(response)
    assert f"Transfer #{transfer.pk} requested from Warehouse: 6 unit(s)." in page
    assert (transfer.status, transfer.source, transfer.destination) == (
        "draft",
        shop["warehouse"],
        shop["centre"],
    )
    assert transfer.reference == "requested by store st-centre: weekend promo"
    assert (transfer.actor_name, transfer.actor_user_id) == ("store:sam", shop["associate"].pk)
    assert {line.variant_id: line.quantity for line in transfer.lines.all()} == {
        white_m.pk: 4,
        navy_s.pk: 2,
    }
    assert f'data-testid="requested-{transfer.pk}"' in page  # listed as coming in
    # nothing moved yet: the inventory team ships it from the back office
    assert stock_selectors.stock_level_get(location_code="wh", sku="HARBOUR-M-WHITE").on_hand == 7  # type: ignore[union-attr]


def test_a_request_to_another_store_shows_there_as_going_out(shop: dict[str, Any]) -> None:
    centre = Client()
    centre.force_login(shop["associate"])
    centre.post(
        reverse("store:transfers"),
        {"action": "request", "source": shop["zuid"].pk, "lines": "HARBOUR-M-NAVY 2"},
    )
    transfer = Transfer.objects.get()
    zuid = _associate(shop["zuid"], "zoe")
    page = _text(zuid.get(reverse("store:transfers")))
    assert f'data-testid="outgoing-{transfer.pk}"' in page
    assert "requested by store st-centre" in page
    stock.transfer_ship(transfer_id=transfer.pk)
    centre_page = _text(centre.get(reverse("store:transfers")))
    assert f'data-testid="incoming-{transfer.pk}"' in centre_page  # now to receive


@pytest.mark.parametrize(
    ("source", "lines", "message"),
    [
        ("centre", "HARBOUR-M-WHITE 1", "A store cannot ask itself for a transfer"),
        ("warehouse", "HARBOUR-M-WHITE 1\nNOPE-1 2\nALSO-NOT", "NOPE-1, ALSO-NOT"),
        ("warehouse", "HARBOUR-M-WHITE 0", "Quantities must be 1 or more"),
        ("warehouse", "HARBOUR-M-WHITE -2", "Quantities must be 1 or more"),
        ("warehouse", "HARBOUR-M-WHITE 1000", "Quantities must be from 1 to 999"),
        ("warehouse", "  \n ", "This field is required"),
        (None, "HARBOUR-M-WHITE 1", "This field is required"),
        (999_999, "HARBOUR-M-WHITE 1", "Choose an active location"),
    ],
)
def test_a_bad_request_says_why_and_creates_nothing(
    shop: dict[str, Any], source: Any, lines: str, message: str
) -> None:
    client = Client()
    client.force_login(shop["associate"])
    source_id = shop[source].pk if isinstance(source, str) else source
    body = {"action": "request", "lines": lines, **({"source": source_id} if source_id else {})}
    response = client.post(reverse("store:transfers"), body)
    assert response.status_code == 200
    assert message in _text(response)
    assert not Transfer.objects.exists()


def test_the_service_refuses_inactive_places_and_non_stores(shop: dict[str, Any]) -> None:
    from core.actors import Actor

    actor = Actor.for_user(shop["associate"], via="store")
    lines = {shop["variants"]["HARBOUR-M-WHITE"].pk: 1}
    with pytest.raises(TransferSameLocation) as same:
        stock.transfer_request(
            source_id=shop["centre"].pk, store_id=shop["centre"].pk, lines=lines, actor=actor
        )
    assert same.value.code == "transfer_same_location"
    with pytest.raises(UnknownStockItem, match="Only an active store"):
        stock.transfer_request(
            source_id=shop["centre"].pk, store_id=shop["warehouse"].pk, lines=lines, actor=actor
        )
    shop["zuid"].is_active = False
    shop["zuid"].save()
    with pytest.raises(UnknownStockItem, match="not an active location"):
        stock.transfer_request(
            source_id=shop["zuid"].pk, store_id=shop["centre"].pk, lines=lines, actor=actor
        )
    assert not Transfer.objects.exists()


def test_receiving_still_works_on_the_transfers_screen(shop: dict[str, Any]) -> None:
    client = Client()
    client.force_login(shop["associate"])
    white_m = shop["variants"]["HARBOUR-M-WHITE"]
    client.post(
        reverse("store:transfers"),
        {"action": "request", "source": shop["warehouse"].pk, "lines": "HARBOUR-M-WHITE 2"},
    )
    transfer = Transfer.objects.get()
    stock.transfer_ship(transfer_id=transfer.pk)
    received = client.post(reverse("store:transfers"), {"transfer": transfer.pk}, follow=True)
    assert f"Transfer #{transfer.pk} received: 2 unit(s)." in _text(received)
    level = stock_selectors.stock_level_get(location_code="st-centre", sku=white_m.sku)
    assert level is not None and level.on_hand == 2
