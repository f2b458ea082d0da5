"""The store page: find stock, put aside, count, receive; only ever at the associate's own store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory import services as stock
from inventory.models import StockHold, StockLevel, StockMovement
from inventory.services import StockLine
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(shop: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(shop["associate"])
    return client


def test_anonymous_visitors_log_in_and_staff_without_a_store_are_told(shop) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(reverse("store:home"))["Location"].startswith(reverse("store:login"))
    client = Client()
    client.force_login(UserFactory(username="no-store"))
    response = client.get(reverse("store:home"))
    assert response.status_code == 403 and "not attached to a store" in response.content.decode()


def test_a_scan_goes_straight_to_the_product_and_a_typo_still_finds_it(shop) -> None:  # type: ignore[no-untyped-def]
    client = _client(shop)
    product = shop["product"]
    scanned = client.get(reverse("store:home"), {"q": "harbour-s-navy"})
    assert scanned.status_code == 302 and scanned["Location"].startswith(
        reverse("store:product", args=[product.pk])
    )
    by_prefix = client.get(reverse("store:home"), {"q": "harb"}).content.decode()
    assert "Harbour Tee" in by_prefix
    typo = client.get(reverse("store:home"), {"q": "harbuor"}).content.decode()
    assert "Harbour Tee" in typo and "showing results for" in typo


def test_the_variant_grid_shows_here_nearby_warehouses_and_incoming(
    shop, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = _client(shop)
    white_m = shop["variants"]["HARBOUR-M-WHITE"]
    stock.transfer_create(
        source_id=shop["warehouse"].pk,
        destination_id=shop["centre"].pk,
        lines={white_m.pk: 2},
        expected_at=timezone.now() + timedelta(days=1),
    )
    url = reverse("store:product", args=[shop["product"].pk])
    with django_assert_max_num_queries(20):
        page = client.get(url).content.decode()
    assert 'data-testid="here-HARBOUR-S-NAVY">3<' in page
    assert "Zuid (3.1 km)" in page  # the nearest other store, with its distance
    assert 'Warehouse <span class="qty">7</span>' in page
    assert "Incoming: 2 from wh" in page


def test_put_aside_for_a_walk_in_customer_and_release(shop) -> None:  # type: ignore[no-untyped-def]
    client = _client(shop)
    navy_s = shop["variants"]["HARBOUR-S-NAVY"]
    response = client.post(
        reverse("store:hold-create"),
        {"variant": navy_s.pk, "quantity": 2, "hours": 3, "customer": "Ms Jansen"},
        follow=True,
    )
    assert "2 put aside for Ms Jansen for 3 h." in response.content.decode()
    hold = StockHold.objects.get()
    assert (hold.stock.location, hold.quantity, hold.reference) == (
        shop["centre"],
        2,
        "walk-in:st-centre:Ms Jansen",
    )
    too_many = client.post(
        reverse("store:hold-create"),
        {"variant": navy_s.pk, "quantity": 5, "hours": 3, "customer": "Bo"},
        follow=True,
    )
    assert "Not enough stock" in too_many.content.decode() and StockHold.objects.count() == 1
    client.post(reverse("store:hold-release"), {"reference": hold.reference})
    hold.refresh_from_db()
    assert hold.status == "released"


def test_associates_only_act_on_their_own_store(shop) -> None:  # type: ignore[no-untyped-def]
    client = _client(shop)
    other = stock.stock_reserve(
        lines=[StockLine(shop["variants"]["HARBOUR-M-NAVY"].pk, shop["zuid"].pk, 1)],
        reference="walk-in:st-zuid:Someone",
        ttl=timedelta(hours=1),
    )[0]
    response = client.post(
        reverse("store:hold-release"), {"reference": other.reference}, follow=True
    )
    assert "not one of this store" in response.content.decode()
    other.refresh_from_db()
    assert other.status == "active"
    elsewhere = stock.transfer_create(
        source_id=shop["warehouse"].pk,
        destination_id=shop["zuid"].pk,
        lines={shop["variants"]["HARBOUR-M-WHITE"].pk: 1},
    )
    stock.transfer_ship(transfer_id=elsewhere.pk)
    assert client.post(reverse("store:transfers"), {"transfer": elsewhere.pk}).status_code == 404


def test_count_a_shelf_and_receive_a_transfer(shop) -> None:  # type: ignore[no-untyped-def]
    client = _client(shop)
    counted = client.post(
        reverse("store:count"),
        {"code": "HARBOUR-S-NAVY", "counted": 1, "reason": "shelf count"},
        follow=True,
    )
    assert "HARBOUR-S-NAVY: 1 on hand here (-2 recorded)." in counted.content.decode()
    assert StockMovement.objects.get(kind="count").on_hand_delta == -2
    unknown = client.post(
        reverse("store:count"), {"code": "NOPE", "counted": 1, "reason": "shelf count"}
    )
    assert "No product has this SKU or barcode." in unknown.content.decode()

    white_m = shop["variants"]["HARBOUR-M-WHITE"]
    transfer = stock.transfer_create(
        source_id=shop["warehouse"].pk, destination_id=shop["centre"].pk, lines={white_m.pk: 4}
    )
    stock.transfer_ship(transfer_id=transfer.pk)
    assert f"Transfer #{transfer.pk}" in client.get(reverse("store:transfers")).content.decode()
    received = client.post(reverse("store:transfers"), {"transfer": transfer.pk}, follow=True)
    assert f"Transfer #{transfer.pk} received: 4 unit(s)." in received.content.decode()
    assert StockLevel.objects.get(variant=white_m, location=shop["centre"]).on_hand == 4
