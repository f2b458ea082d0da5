"""The orders back office: list filters and search in bounded queries, the order page with its
allowed actions, and buttons that run the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.actors import SYSTEM, Actor, ActorKind
from orders import services
from orders.models import Order, TimelineEvent
from tests.shop import Shop

pytestmark = pytest.mark.django_db


def _orders(shop: Shop, count: int, method: str = "ship") -> list[Order]:
    shop.receive(shop.warehouse, shop.s, count)
    shop.receive(shop.amsterdam, shop.m, count)
    return [
        services.order_place(
            channel_code="webshop",
            lines=[services.LineInput("ORGANIC-TEE-S", 1), services.LineInput("ORGANIC-TEE-M", 1)],
            method=method,
            address={"country": "NL"},
            customer=services.CustomerInput(email=f"c{n}@example.com"),
            external_id=f"EXT-{n}",
            payment_status="captured",
        ).order
        for n in range(count)
    ]


def test_changelist_queries_do_not_grow_with_rows(
    shop: Shop, admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    _orders(shop, 3)
    with django_assert_max_num_queries(20) as few:
        assert admin_client.get("/admin/orders/order/").status_code == 200
    _orders(shop, 15)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get("/admin/orders/order/")
    assert response.content.count(b"c14@example.com") == 1


def test_filters_and_search(shop: Shop, admin_client: Client) -> None:
    orders = _orders(shop, 3)
    services.order_cancel(order_id=orders[0].pk)
    by_status = admin_client.get("/admin/orders/order/?status=cancelled")
    assert orders[0].number.encode() in by_status.content
    assert orders[1].number.encode() not in by_status.content
    by_location = admin_client.get(f"/admin/orders/order/?location={shop.amsterdam.pk}")
    assert by_location.content.count(b"c1@example.com") == 1
    for term in (orders[2].number, "EXT-2", "c2@example.com"):
        found = admin_client.get("/admin/orders/order/", {"q": term})
        assert orders[2].number.encode() in found.content
        assert orders[1].number.encode() not in found.content


def test_order_page_offers_state_actions_and_runs_them(
    shop: Shop, admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    [order] = _orders(shop, 1)
    url = f"/admin/orders/order/{order.pk}/change/"
    with django_assert_max_num_queries(30):
        page = admin_client.get(url)
    assert page.status_code == 200
    assert b"Start picking" in page.content and b"Ship" in page.content
    assert b"Hand over" not in page.content  # ship fulfilments are never handed over
    warehouse = order.fulfillments.get(location=shop.warehouse)
    action = f"/admin/orders/order/{order.pk}/action/"
    # shipping without tracking is refused and changes nothing
    refused = admin_client.post(
        action, {"action": "ship", "fulfillment": warehouse.pk, "carrier": "PostNL"}, follow=True
    )
    assert b"carrier and a tracking number" in refused.content
    assert shop.level(shop.warehouse, shop.s) == (1, 1)
    admin_client.post(
        action,
        {
            "action": "ship",
            "fulfillment": warehouse.pk,
            "carrier": "PostNL",
            "tracking_number": "3S1",
        },
    )
    assert shop.level(shop.warehouse, shop.s) == (0, 0)
    warehouse.refresh_from_db()
    assert warehouse.status == "shipped"
    # a refund from the page, submitted twice with the same form key, lands once
    line = order.lines.get(sku="ORGANIC-TEE-S")
    form = {"action": "refund", "key": "abc", f"qty_{line.pk}": "1", "shipping_amount": "0"}
    admin_client.post(action, form)
    admin_client.post(action, form)
    order.refresh_from_db()
    assert (str(order.amount_refunded), order.refunds.count()) == ("19.99", 1)
    page = admin_client.get(url)
    assert b"Refunded 19.99 EUR." in page.content  # the timeline


def _staff(role: str) -> Client:
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory()
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_roles_see_and_may_use_only_their_actions(shop: Shop) -> None:
    [order] = _orders(shop, 1)
    url = f"/admin/orders/order/{order.pk}/change/"
    action = f"/admin/orders/order/{order.pk}/action/"
    associate, service = _staff("Store associate"), _staff("Customer service")
    page = associate.get(url)
    assert page.status_code == 200
    assert b"Start picking" in page.content and b"refund-form" not in page.content
    line = order.lines.get(sku="ORGANIC-TEE-S")
    refused = associate.post(action, {"action": "refund", "key": "x", f"qty_{line.pk}": "1"})
    assert refused.status_code == 403
    assert b"refund-form" in service.get(url).content
    assert b"Start picking" not in service.get(url).content
    fulfillment = order.fulfillments.get(location=shop.warehouse)
    assert (
        associate.post(action, {"action": "pick", "fulfillment": fulfillment.pk}).status_code == 302
    )
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picking"


@pytest.mark.parametrize(
    ("actor", "label"),
    [
        (Actor(kind=ActorKind.USER, name="ann", user_id=1), "user:ann"),
        (Actor(kind=ActorKind.USER, name="store:ann", user_id=1), "store:ann"),
        (Actor(kind=ActorKind.PARTNER, name="webshop", partner_id=1), "partner:webshop"),
        (Actor.system("channel:webshop"), "channel:webshop"),
        (Actor.system("system"), "system"),
        (SYSTEM, ""),
    ],
)
def test_the_order_page_names_each_author_as_it_always_did(actor: Actor, label: str) -> None:
    # the timeline's author label reads the same as before authors were recorded as an Actor
    assert TimelineEvent(**actor.fields()).actor_label == label
