"""Store POS: GET /api/v1/pos/{channel}/changes/ and POST /api/v1/pos/{channel}/acks/, and the
acknowledgement admin with each store's lag."""

# ruff: noqa: F811 (the fixtures imported from the world module are the parameters)

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import services as catalog
from channels.models import StoreAcknowledgement
from core.models import ChangeEvent, Channel, Partner
from tests.catalog.factories import complete_product
from tests.channels.pos_world import (  # noqa: F401  (fixtures)
    POS_SCOPES,
    Pos,
    _changes,
    _publish,
    _summary,
    latest_position,
    pos,
)

pytestmark = pytest.mark.django_db


def test_changes_page_by_cursor_in_outbox_order(pos: Pos) -> None:
    the_shop = pos.shop
    product_id = str(the_shop.s.product_id)
    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="pos-nl", amount=Decimal("15.00"))
    the_shop.receive(the_shop.utrecht, the_shop.l, 3)

    seen: list[dict[str, Any]] = []
    cursor = pos.start
    pages = 0
    while True:
        page = _changes(pos.client, location="ams-central", after=cursor, limit=1)
        pages += 1
        assert page["after"] == cursor
        seen.extend(page["changes"])
        if page["changes"]:
            assert page["next_cursor"] == page["changes"][-1]["event_id"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
        assert pages < 10

    assert _summary(seen) == [
        ("stock.changed", "variant", str(the_shop.m.pk)),
        ("price.changed", "product", product_id),
        ("stock.changed", "variant", str(the_shop.l.pk)),
    ]
    assert [c["stream"] for c in seen] == ["stock", "price", "stock"]
    ids = [c["event_id"] for c in seen]
    assert ids == sorted(ids) and ids[0] > pos.start
    assert seen[1]["data"]["prices"]["ORGANIC-TEE-S"] == {
        "amount": "15.00",
        "compare_at_amount": None,
        "currency": "EUR",
        "sale_amount": None,
        "sale_starts_at": None,
        "sale_ends_at": None,
    }
    assert all(c["sequence"] >= 1 for c in seen)
    # Caught up: the cursor is the head of the outbox, and nothing more comes.
    assert cursor == latest_position()
    after = _changes(pos.client, location="ams-central", after=cursor)
    assert (after["changes"], after["has_more"], after["next_cursor"]) == ([], False, cursor)


def test_next_cursor_skips_events_the_store_does_not_apply(pos: Pos) -> None:
    catalog.price_set(variant_id=pos.shop.s.pk, channel_code="pos-be", amount=Decimal("9.00"))
    catalog.price_set(variant_id=pos.shop.s.pk, channel_code="webshop", amount=Decimal("9.00"))

    page = _changes(pos.client, location="ams-central", after=pos.start)

    assert page["changes"] == []
    assert page["has_more"] is False
    assert page["next_cursor"] == latest_position() > pos.start


def test_stock_is_the_available_at_that_store_without_channel_buffer(pos: Pos) -> None:
    the_shop = pos.shop
    pos.nl.stock_buffer_kind = Channel.BufferKind.PERCENT
    pos.nl.stock_buffer_value = Decimal("50")
    pos.nl.save()
    the_shop.receive(the_shop.warehouse, the_shop.m, 7)
    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)
    the_shop.receive(the_shop.utrecht, the_shop.m, 2)

    def stock_of_m(location: str) -> dict[str, Any]:
        changes = _changes(pos.client, location=location, after=pos.start)["changes"]
        [change] = [c for c in changes if c["type"] == "stock.changed"]  # coalesced per page
        return change

    amsterdam, utrecht = stock_of_m("ams-central"), stock_of_m("utr-oudegracht")
    assert amsterdam["data"] == {
        "variant_id": the_shop.m.pk,
        "sku": "ORGANIC-TEE-M",
        "location": "ams-central",
        "available": 5,
    }
    assert (utrecht["data"]["location"], utrecht["data"]["available"]) == ("utr-oudegracht", 2)
    latest = ChangeEvent.objects.filter(topic="stock.changed").order_by("-id").first()
    assert latest is not None
    assert amsterdam["event_id"] == latest.position
    assert amsterdam["sequence"] == latest.sequence


def test_a_page_keeps_the_latest_change_per_object_and_stream(pos: Pos) -> None:
    the_shop = pos.shop
    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)
    the_shop.receive(the_shop.amsterdam, the_shop.m, 1)
    the_shop.receive(the_shop.amsterdam, the_shop.s, 2)

    page = _changes(pos.client, location="ams-central", after=pos.start)

    assert [(c["object"]["id"], c["data"]["available"]) for c in page["changes"]] == [
        (str(the_shop.m.pk), 6),
        (str(the_shop.s.pk), 2),
    ]
    events = ChangeEvent.objects.filter(position__gt=pos.start, topic="stock.changed")
    assert page["changes"][0]["event_id"] == events.order_by("position")[1].position
    assert page["changes"][0]["sequence"] == events[1].sequence > events[0].sequence


def test_only_the_channels_own_prices_and_published_products(pos: Pos) -> None:
    the_shop = pos.shop
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="pos-be", amount=Decimal("11.00"))
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="webshop", amount=Decimal("12.00"))
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="pos-nl", amount=Decimal("13.00"))
    other = complete_product(pos.be, name="Linen Shirt", sizes=("s",))
    catalog.product_submit(product_ids=[other.pk])
    catalog.product_approve(product_ids=[other.pk])
    catalog.product_publish(product_ids=[other.pk], channel_code="pos-be")
    the_shop.receive(the_shop.amsterdam, other.variants.get(), 4)  # not published on pos-nl

    nl = _changes(pos.client, location="ams-central", after=pos.start)["changes"]
    be = _changes(
        _client_for(pos, channels=[pos.be]), channel="pos-be", location="ant-meir", after=pos.start
    )["changes"]

    assert _summary(nl) == [("price.changed", "product", str(the_shop.s.product_id))]
    assert nl[0]["data"]["prices"]["ORGANIC-TEE-S"]["amount"] == "13.00"
    tee_prices = [
        c
        for c in be
        if c["type"] == "price.changed" and c["object"]["id"] == str(the_shop.s.product_id)
    ]
    assert [c["data"]["prices"]["ORGANIC-TEE-S"]["amount"] for c in tee_prices] == ["11.00"]
    assert ("product.updated", "product", str(other.pk)) in _summary(be)


def _client_for(pos: Pos, *, channels: list[Channel], scopes: list[str] | None = None) -> Any:
    from core.api.services import partner_api_key_create
    from tests.factories import PartnerFactory

    partner: Partner = PartnerFactory(channels=channels)  # type: ignore[assignment]
    _, raw = partner_api_key_create(partner=partner, name="k", scopes=scopes or POS_SCOPES)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def test_unpublishing_reaches_the_pos_and_later_stock_does_not(pos: Pos) -> None:
    the_shop = pos.shop
    catalog.product_unpublish(product_ids=[the_shop.s.product_id], channel_code="pos-nl")
    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)

    changes = _changes(pos.client, location="ams-central", after=pos.start)["changes"]

    assert _summary(changes) == [("product.deleted", "product", str(the_shop.s.product_id))]


def test_changes_resume_after_the_acknowledged_cursor(pos: Pos) -> None:
    the_shop = pos.shop
    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)
    first = latest_position()
    the_shop.receive(the_shop.amsterdam, the_shop.s, 2)
    ack = pos.client.post(
        "/api/v1/pos/pos-nl/acks/", {"location": "ams-central", "cursor": first}, format="json"
    )
    assert ack.status_code == 200, ack.json()

    page = _changes(pos.client, location="ams-central")

    assert (page["after"], page["acked_cursor"]) == (first, first)
    assert _summary(page["changes"]) == [("stock.changed", "variant", str(the_shop.s.pk))]
    other_store = _changes(pos.client, location="utr-oudegracht")
    assert other_store["acked_cursor"] is None and other_store["after"] == 0


def test_fresh_events_are_served_at_once(pos: Pos) -> None:
    pos.shop.receive(pos.shop.amsterdam, pos.shop.m, 5)

    page = _changes(pos.client, location="ams-central", after=pos.start)

    assert _summary(page["changes"]) == [("stock.changed", "variant", str(pos.shop.m.pk))]
    assert page["next_cursor"] == page["changes"][0]["event_id"] == latest_position()


def test_an_event_committed_late_with_a_lower_id_is_still_served(pos: Pos) -> None:
    """An event whose id is below the cursor but which becomes visible only after the cursor
    passed (a slow transaction; here re-inserted with its old id) is served next: it is
    positioned when it appears. Real open transactions: ``test_pos_gap_free.py``."""
    the_shop = pos.shop
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="pos-nl", amount=Decimal("9.99"))
    late = ChangeEvent.objects.order_by("-id").get(topic="price.changed", id__gt=0, position=None)
    ChangeEvent.objects.filter(pk=late.pk).delete()  # not visible yet
    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)
    first = _changes(pos.client, location="ams-central", after=pos.start)
    late.save(force_insert=True)  # its transaction commits now, with its lower id

    second = _changes(pos.client, location="ams-central", after=first["next_cursor"])

    assert _summary(first["changes"]) == [("stock.changed", "variant", str(the_shop.m.pk))]
    assert _summary(second["changes"]) == [("price.changed", "product", str(the_shop.s.product_id))]
    assert second["changes"][0]["data"]["prices"]["ORGANIC-TEE-S"]["amount"] == "9.99"
    stock = ChangeEvent.objects.get(topic="stock.changed", position=first["next_cursor"])
    late.refresh_from_db()
    assert late.pk < stock.pk
    assert late.position == second["changes"][0]["event_id"] > first["next_cursor"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "invalid_parameter"),
        ({"location": "wh-rotterdam"}, 404, "location_not_found"),
        ({"location": "ant-meir"}, 404, "location_not_found"),
        ({"location": "ams-central", "after": "abc"}, 400, "invalid_cursor"),
        ({"location": "ams-central", "after": "-1"}, 400, "invalid_cursor"),
        ({"location": "ams-central", "after": "999999999"}, 422, "cursor_out_of_range"),
        ({"location": "ams-central", "limit": "0"}, 400, "invalid_parameter"),
        ({"location": "ams-central", "limit": "201"}, 400, "invalid_parameter"),
    ],
)
def test_bad_parameters_are_problems(pos: Pos, params: dict[str, str], status: int, code: str):  # type: ignore[no-untyped-def]
    response = pos.client.get("/api/v1/pos/pos-nl/changes/", params)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


# --- acknowledgements ------------------------------------------------------------------------


def _ack(client: APIClient, location: str, cursor: Any, channel: str = "pos-nl") -> Any:
    return client.post(
        f"/api/v1/pos/{channel}/acks/", {"location": location, "cursor": cursor}, format="json"
    )


def test_ack_moves_forward_and_never_backwards(pos: Pos) -> None:
    pos.shop.receive(pos.shop.amsterdam, pos.shop.m, 5)
    head = latest_position()

    first = _ack(pos.client, "ams-central", head)
    older = _ack(pos.client, "ams-central", pos.start)
    same = _ack(pos.client, "ams-central", head)

    assert first.status_code == 200, first.json()
    assert (first.json()["cursor"], first.json()["moved"]) == (head, True)
    assert older.status_code == 200
    assert (older.json()["cursor"], older.json()["moved"]) == (head, False)
    assert "Nothing changed" in older.json()["detail"]
    assert same.json()["moved"] is False
    row = StoreAcknowledgement.objects.get(channel=pos.nl, location=pos.shop.amsterdam)
    assert row.acked_event_id == head
    assert older.json()["acked_at"] == first.json()["acked_at"]
    assert not StoreAcknowledgement.objects.filter(location=pos.shop.utrecht).exists()


def test_ack_beyond_the_latest_event_is_refused_and_changes_nothing(pos: Pos) -> None:
    _ack(pos.client, "ams-central", pos.start)

    response = _ack(pos.client, "ams-central", latest_position() + 1)

    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["errors"][0]["field"]) == ("cursor_out_of_range", "cursor")
    assert body["latest_cursor"] == latest_position()
    row = StoreAcknowledgement.objects.get(channel=pos.nl, location=pos.shop.amsterdam)
    assert row.acked_event_id == pos.start


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"location": "ant-meir", "cursor": 1}, 422, "location"),
        ({"location": "wh-rotterdam", "cursor": 1}, 422, "location"),
        ({"location": "ams-central", "cursor": -1}, 400, "cursor"),
        ({"location": "ams-central"}, 400, "cursor"),
    ],
)
def test_ack_validation(pos: Pos, body: dict[str, Any], status: int, field: str) -> None:
    response = pos.client.post("/api/v1/pos/pos-nl/acks/", body, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["errors"][0]["field"] == field
    assert not StoreAcknowledgement.objects.exists()


# --- who may call ----------------------------------------------------------------------------


def test_a_key_sees_only_its_own_pos_channels(pos: Pos, api_client_for: Any) -> None:
    be_key = _client_for(pos, channels=[pos.be])

    read = be_key.get("/api/v1/pos/pos-nl/changes/", {"location": "ams-central"})
    ack = _ack(be_key, "ams-central", pos.start)

    assert (read.status_code, read.json()["code"]) == (404, "channel_not_found")
    assert (ack.status_code, ack.json()["code"]) == (404, "channel_not_found")
    assert not StoreAcknowledgement.objects.exists()
    # A channel the key has but that is not a POS is not a change feed either.
    webshop_key = _client_for(pos, channels=[pos.shop.channel])
    response = webshop_key.get("/api/v1/pos/webshop/changes/", {"location": "ams-central"})
    assert (response.status_code, response.json()["code"]) == (404, "channel_not_found")


@pytest.mark.parametrize("scopes", [["catalog:read"], ["stock:read"], ["orders:write"]])
def test_both_read_scopes_are_needed(pos: Pos, scopes: list[str]) -> None:
    client = _client_for(pos, channels=[pos.nl], scopes=scopes)

    read = client.get("/api/v1/pos/pos-nl/changes/", {"location": "ams-central"})
    ack = _ack(client, "ams-central", pos.start)

    assert (read.status_code, read.json()["code"]) == (403, "missing_scope")
    assert (ack.status_code, ack.json()["code"]) == (403, "missing_scope")
    assert not StoreAcknowledgement.objects.exists()


def test_staff_may_read_any_pos_channel(pos: Pos, admin_client: Any) -> None:
    response = admin_client.get("/api/v1/pos/pos-be/changes/", {"location": "ant-meir"})

    assert response.status_code == 200
    assert response.json()["channel"] == "pos-be"


def test_changes_cost_the_same_queries_whatever_the_page_size(pos: Pos) -> None:
    the_shop = pos.shop
    _changes(pos.client, location="ams-central")  # the key's first use is recorded once
    the_shop.receive(the_shop.amsterdam, the_shop.m, 1)
    with CaptureQueriesContext(connection) as one:  # positions the new event, then reads it
        _changes(pos.client, location="ams-central", after=pos.start)
    for variant in (the_shop.s, the_shop.m, the_shop.l) * 3:
        the_shop.receive(the_shop.amsterdam, variant, 1)
    with CaptureQueriesContext(connection) as many:
        page = _changes(pos.client, location="ams-central", after=pos.start)
    assert len(page["changes"]) == 3
    assert len(many) == len(one)


# --- admin -----------------------------------------------------------------------------------


def test_admin_shows_each_stores_lag_in_a_fixed_number_of_queries(
    pos: Pos, admin_client: Any
) -> None:
    the_shop = pos.shop
    _ack(pos.client, "ams-central", pos.start)
    _ack(pos.client, "utr-oudegracht", pos.start)
    with CaptureQueriesContext(connection) as two_rows:
        assert admin_client.get("/admin/channels/storeacknowledgement/").status_code == 200

    the_shop.receive(the_shop.amsterdam, the_shop.m, 5)  # relevant to both stores
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="pos-be", amount=Decimal("1.00"))
    the_shop.receive(the_shop.utrecht, the_shop.l, 5)
    catalog.price_set(variant_id=the_shop.s.pk, channel_code="pos-nl", amount=Decimal("2.00"))
    _ack(pos.client, "utr-oudegracht", latest_position())
    be_key = _client_for(pos, channels=[pos.be])
    _ack(be_key, "ant-meir", pos.start, channel="pos-be")

    with CaptureQueriesContext(connection) as three_rows:
        page = admin_client.get("/admin/channels/storeacknowledgement/")

    assert page.status_code == 200
    assert len(three_rows) == len(two_rows)
    rows = {
        row.location.code: row
        for row in page.context["cl"].result_list  # the annotated changelist rows
    }
    assert (rows["ams-central"].lag_count, rows["utr-oudegracht"].lag_count) == (3, 0)
    assert rows["ant-meir"].lag_count == 3  # the pos-be price and the two stock changes
    first_behind = ChangeEvent.objects.filter(position__gt=pos.start).order_by("position").first()
    assert first_behind is not None
    assert rows["ams-central"].oldest_unacked_at == first_behind.created_at
    assert rows["utr-oudegracht"].oldest_unacked_at is None
    html = page.content.decode()
    assert "ams-central" in html and "ago" in html


def test_admin_is_read_only(pos: Pos, admin_client: Any) -> None:
    _ack(pos.client, "ams-central", pos.start)
    row = StoreAcknowledgement.objects.get()

    assert admin_client.get("/admin/channels/storeacknowledgement/add/").status_code == 403
    response = admin_client.post(
        f"/admin/channels/storeacknowledgement/{row.pk}/change/", {"acked_event_id": 0}
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.acked_event_id == pos.start
