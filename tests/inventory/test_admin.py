"""The inventory back office: changelists with fixed query counts, writes through services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from core.actors import Actor
from inventory import services
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def stock_levels(count: int) -> list[Any]:
    location = LocationFactory()
    variants = VariantFactory.create_batch(count)
    services.stock_receive(
        lines=[StockLine(v.pk, location.pk, 3) for v in variants], reference="PO"
    )
    return variants


def busy_inventory(count: int) -> None:
    """``count`` levels, each with a hold and a draft transfer, for changelist query counts."""
    variants = stock_levels(count)
    location = StockLevel.objects.filter(variant=variants[0]).get().location
    destination = LocationFactory()
    for variant in variants:
        services.stock_reserve(
            lines=[StockLine(variant.pk, location.pk, 1)],
            reference=f"cart-{variant.pk}",
            ttl=timedelta(hours=1),
        )
        services.transfer_create(
            source_id=location.pk, destination_id=destination.pk, lines={variant.pk: 1}
        )


@pytest.mark.parametrize("model", ["stocklevel", "stockmovement", "stockhold", "transfer"], ids=str)
def test_changelist_query_count_does_not_grow(
    admin_client: Client, django_assert_max_num_queries: Any, model: str
) -> None:
    busy_inventory(3)
    url = reverse(f"admin:inventory_{model}_changelist")
    with django_assert_max_num_queries(12) as few:
        assert admin_client.get(url).status_code == 200
    busy_inventory(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get(url).status_code == 200


def test_location_changelist_query_count_does_not_grow(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    # given one location, then twenty more, each with stock
    stock_levels(2)
    url = reverse("admin:inventory_location_changelist")
    with django_assert_max_num_queries(12) as few:
        assert admin_client.get(url).status_code == 200
    for _ in range(20):
        stock_levels(2)
    # then the page costs no more queries
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count == 21


def test_stock_level_list_shows_reserved_and_available(admin_client: Client) -> None:
    [variant] = stock_levels(1)
    level = StockLevel.objects.get()
    services.stock_safety_set(variant_id=variant.pk, location_id=level.location_id, safety_stock=1)
    response = admin_client.get(reverse("admin:inventory_stocklevel_changelist"))
    assert response.context["cl"].result_list[0].available_now == 2


def test_admin_records_a_movement_through_the_service(
    admin_client: Client, admin_user: Any
) -> None:
    [variant] = stock_levels(1)
    location = StockLevel.objects.get().location
    url = reverse("admin:inventory_stockmovement_add")
    form = {
        "sku": variant.sku,
        "location": location.pk,
        "kind": "damage",
        "quantity": 2,
        "reason": "dropped",
        "reference_type": "",
        "reference": "",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302
    level = StockLevel.objects.get()
    assert (level.on_hand, level.damaged) == (1, 2)
    movement = StockMovement.objects.get(kind="damage")
    assert (movement.actor_user_id, movement.reason) == (admin_user.pk, "dropped")

    refused = admin_client.post(url, {**form, "quantity": 5, "reason": "fell off the shelf"})
    page = refused.content.decode()
    assert refused.status_code == 200 and "Not enough stock" in page
    # the form comes back with what was typed, so the user corrects one number
    assert 'value="fell off the shelf"' in page and f'value="{variant.sku}"' in page
    assert StockMovement.objects.count() == 2
    assert StockLevel.objects.get().on_hand == 1


def test_movement_recorded_in_the_admin_records_the_user_as_actor(
    admin_client: Client, admin_user: Any
) -> None:
    # given stock and a staff user in the admin
    [variant] = stock_levels(1)
    location = StockLevel.objects.get().location
    # when the user records a receipt
    form = {"sku": variant.sku, "location": location.pk, "kind": "receipt", "quantity": 2}
    response = admin_client.post(reverse("admin:inventory_stockmovement_add"), form)
    # then the movement names the user as its actor, and the ledger shows who it was
    assert response.status_code == 302
    movement = StockMovement.objects.get(stock__location=location, on_hand_delta=2)
    assert (
        movement.actor_kind,
        movement.actor_name,
        movement.actor_user_id,
        movement.actor_partner_id,
    ) == ("user", admin_user.username, admin_user.pk, None)
    changelist = admin_client.get(reverse("admin:inventory_stockmovement_changelist"))
    assert f'<td class="field-by">{admin_user.username}</td>' in changelist.content.decode()


def test_a_user_who_moved_stock_cannot_be_deleted(admin_user: Any) -> None:
    # given a movement made by a user
    [variant] = stock_levels(1)
    location = StockLevel.objects.get().location
    services.stock_adjust(
        variant_id=variant.pk,
        location_id=location.pk,
        delta=1,
        reason="found",
        actor=Actor.for_user(admin_user),
    )
    # then the ledger keeps its author: the user is deactivated, never deleted
    with pytest.raises(ProtectedError):
        admin_user.delete()


def test_admin_records_a_count_with_a_reason(admin_client: Client) -> None:
    [variant] = stock_levels(1)
    location = StockLevel.objects.get().location
    url = reverse("admin:inventory_stockmovement_add")
    form = {"sku": variant.sku, "location": location.pk, "kind": "count", "quantity": 7}
    no_reason = admin_client.post(url, {**form, "reason": ""})
    assert "A count needs a reason." in no_reason.content.decode()
    assert admin_client.post(url, {**form, "reason": "shelf count"}).status_code == 302
    movement = StockMovement.objects.get(kind="count")
    assert (movement.on_hand_delta, movement.reason) == (4, "shelf count")
    assert StockLevel.objects.get().on_hand == 7


def test_admin_cannot_change_or_delete_movements(admin_client: Client) -> None:
    stock_levels(1)
    movement = StockMovement.objects.get()
    change = reverse("admin:inventory_stockmovement_change", args=[movement.pk])
    delete = reverse("admin:inventory_stockmovement_delete", args=[movement.pk])
    admin_client.post(change, {"reason": "rewritten"})
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    movement.refresh_from_db()
    assert movement.reason == ""


def test_transfer_actions_ship_and_receive(admin_client: Client) -> None:
    [variant] = stock_levels(1)
    source = StockLevel.objects.get().location
    destination = LocationFactory()
    transfer = services.transfer_create(
        source_id=source.pk, destination_id=destination.pk, lines={variant.pk: 2}
    )
    url = reverse("admin:inventory_transfer_changelist")
    admin_client.post(url, {"action": "ship", "_selected_action": [transfer.pk]})
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.SHIPPED
    admin_client.post(url, {"action": "receive_in_full", "_selected_action": [transfer.pk]})
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.RECEIVED
    assert StockLevel.objects.get(location=destination).on_hand == 2
    assert StockLevel.objects.get(location=source).on_hand == 1


def test_admin_edits_safety_stock_only(admin_client: Client) -> None:
    stock_levels(1)
    level = StockLevel.objects.get()
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    response = admin_client.post(url, {"safety_stock": 2, "on_hand": 99})
    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.safety_stock, level.on_hand) == (2, 3)


def test_stock_state_filters_and_next_arrival(admin_client: Client) -> None:
    from django.utils import timezone

    low, plenty = stock_levels(2)
    location = StockLevel.objects.filter(variant=low).get().location
    services.stock_movements_apply(
        movements=[
            services.MovementInput(
                variant_id=plenty.pk, location_id=location.pk, kind="receipt", quantity=10
            ),
            services.MovementInput(
                variant_id=low.pk, location_id=location.pk, kind="damage", quantity=2
            ),
        ]
    )
    warehouse = LocationFactory(code="wh-arrivals", kind="warehouse")
    services.stock_receive(lines=[StockLine(low.pk, warehouse.pk, 5)], reference="PO")
    arriving = timezone.now() + timedelta(days=2)
    services.transfer_create(
        source_id=warehouse.pk, destination_id=location.pk, lines={low.pk: 3}, expected_at=arriving
    )
    url = reverse("admin:inventory_stocklevel_changelist")
    page = admin_client.get(
        url, {"state": "low", "location__id__exact": location.pk}
    ).content.decode()
    assert low.sku in page and plenty.sku not in page
    assert arriving.strftime("%Y") in page  # the next arrival column shows the expected date
    StockLevel.objects.filter(variant=plenty, location=location).update(on_hand=99)  # a drift
    drift = admin_client.get(url, {"state": "drift"}).content.decode()
    assert plenty.sku in drift and low.sku not in drift


def test_stock_feed_upload_applies_or_lists_every_bad_cell(admin_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    [variant] = stock_levels(1)
    location = StockLevel.objects.get().location
    url = reverse("admin:inventory_stocklevel_feed")
    good = f"sku,location,on_hand\n{variant.sku},{location.code},8\n".encode()
    response = admin_client.post(url, {"file": SimpleUploadedFile("feed.csv", good)}, follow=True)
    assert "1 rows: 1 levels changed" in response.content.decode()
    assert StockLevel.objects.get().on_hand == 8
    bad = (
        f"sku,location,on_hand\n{variant.sku},{location.code},2\nNOPE,{location.code},1\n".encode()
    )
    refused = admin_client.post(url, {"file": SimpleUploadedFile("feed.csv", bad)}).content.decode()
    assert "There is no variant &#x27;NOPE&#x27;." in refused and "<td>3</td>" in refused
    assert StockLevel.objects.get().on_hand == 8


def test_only_inventory_managers_apply_feeds(client: Client) -> None:
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    associate = UserFactory(username="sam")
    associate.groups.add(Group.objects.get(name="Store associate"))
    client.force_login(associate)
    assert client.get(reverse("admin:inventory_stocklevel_feed")).status_code == 403
