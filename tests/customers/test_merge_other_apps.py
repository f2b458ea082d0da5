"""The merge, the export and the 360 page reach rows of apps that customers does not import
(here the orders app's carts), through the reverse relations of Customer."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from core.actors import SYSTEM
from customers import services
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart_model() -> Any:
    if not apps.is_installed("orders"):
        pytest.skip("the orders app is not installed")
    return apps.get_model("orders", "Cart")


def test_merge_moves_another_apps_rows_and_the_preview_counts_them(cart_model: Any) -> None:
    channel = ChannelFactory(code="webshop")
    survivor = services.customer_resolve(email="s@example.com", channel_code="webshop").customer
    loser = services.customer_resolve(email="l@example.com", channel_code="webshop").customer
    carts = [cart_model.objects.create(channel=channel, customer=loser) for _ in range(2)]
    preview = services.customer_merge_preview(survivor_id=survivor.pk, loser_id=loser.pk)
    assert preview["orders.Cart.customer"] == 2
    audit = services.customer_merge(survivor_id=survivor.pk, loser_id=loser.pk, actor=SYSTEM)
    assert audit.moved["orders.Cart.customer"] == 2
    assert {c.customer_id for c in cart_model.objects.filter(pk__in=[c.pk for c in carts])} == {
        survivor.pk
    }


def test_export_includes_another_apps_rows(cart_model: Any) -> None:
    channel = ChannelFactory(code="webshop")
    customer = services.customer_resolve(email="c@example.com", channel_code="webshop").customer
    cart = cart_model.objects.create(channel=channel, customer=customer)
    data = services.customer_export(customer_id=customer.pk)
    assert [row["id"] for row in data["related"]["orders.Cart.customer"]] == [cart.pk]


def test_the_360_page_lists_another_apps_rows_in_bounded_queries(
    cart_model: Any,
    admin_client: Client,
    django_assert_max_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given carts with an admin page (registered here: the page shows any such relation)
    if cart_model not in admin.site._registry:
        monkeypatch.setitem(
            admin.site._registry, cart_model, admin.ModelAdmin(cart_model, admin.site)
        )
    channel = ChannelFactory(code="webshop")
    customer = services.customer_resolve(email="c@example.com", channel_code="webshop").customer
    cart_model.objects.create(channel=channel, customer=customer)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    with django_assert_max_num_queries(60) as few:
        assert admin_client.get(url).status_code == 200
    for _ in range(30):
        cart_model.objects.create(channel=channel, customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = admin_client.get(url).content.decode()
    assert "carts (customer): 31" in body.lower()
