"""A staff browser session on the API gets exactly the scopes of the user's role (issue 16, item 1).

The scopes come from the user's Django permissions through ``core.scopes.STAFF_SCOPE_PERMISSIONS``,
so the API allows a staff member what the admin allows them and nothing more; a superuser still
gets every scope. The scopes follow a change of the user's groups or a group's permissions on the
next request (the cached user row goes with them).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from rest_framework.test import APIClient

from config import roles
from customers.models import Customer
from inventory.models import StockLevel, StockMovement
from orders import services as order_services
from orders.models import Order, Refund
from tests.shop import Shop

pytestmark = pytest.mark.django_db

CSRF_TOKEN = "a" * 32

EXPECTED_SCOPES: dict[str, set[str]] = {
    # Both change prices in the admin (catalog.change_price), so they may on the API too.
    roles.MERCHANDISER: {"catalog:read", "catalog:write", "reports:read"},
    roles.CATALOG_APPROVER: {"catalog:read", "catalog:write", "reports:read"},
    roles.INVENTORY_MANAGER: {
        "stock:read",
        "stock:write",
        "stock:all_locations",
        "orders:read",
        "reports:read",
    },
    roles.STORE_ASSOCIATE: {"stock:read", "orders:read"},
    # the reporting API answers a store manager for their own stores only (reports.access)
    roles.STORE_MANAGER: {"stock:read", "orders:read", "reports:read"},
    roles.AUDITOR: set(),
    roles.CUSTOMER_SERVICE: {
        "orders:read",
        "orders:write",
        "customers:read",
        "customers:write",
        "returns:write",
        "reports:read",
    },
    # the channel-operations pages (webhook subscriptions among them) and the dashboard only
    roles.OPERATOR: {"webhooks:manage"},
}


def _session(user: User) -> APIClient:
    """A logged-in browser session that sends its CSRF token, as the admin's pages would."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    client.credentials(HTTP_X_CSRFTOKEN=CSRF_TOKEN)
    return client


def _staff(username: str, *role_names: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for role in role_names:
        user.groups.add(Group.objects.get(name=role))
    return user


def _scopes(client: APIClient) -> set[str]:
    response = client.get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "staff"
    return set(response.json()["scopes"])


def test_every_role_has_an_expectation() -> None:
    assert set(EXPECTED_SCOPES) == set(roles.ROLE_PERMISSIONS)


@pytest.mark.parametrize("role", sorted(EXPECTED_SCOPES))
def test_a_staff_session_gets_exactly_the_scopes_of_its_role(role: str) -> None:
    client = _session(_staff("member", role))
    assert _scopes(client) == EXPECTED_SCOPES[role]


def test_a_staff_user_without_a_role_gets_no_scope() -> None:
    assert _scopes(_session(_staff("nobody"))) == set()


def test_a_superuser_session_gets_every_scope() -> None:
    from core.scopes import ALL_SCOPES

    admin = User.objects.create_superuser("root", "root@example.com", "x")
    assert _scopes(_session(admin)) == set(ALL_SCOPES)
    assert "stock:all_locations" in ALL_SCOPES


def _forbidden(response: Any, scope: str) -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (403, "missing_scope")
    assert scope in body["detail"]


def test_a_store_associate_session_cannot_cancel_refund_read_customers_or_set_stock(
    shop: Shop,
) -> None:
    # given an order, a customer and stock, and a store associate logged in to the admin
    shop.receive(shop.warehouse, shop.s, 5)
    order = order_services.order_place(
        channel_code="webshop",
        lines=[order_services.LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
        external_id="E-1",
        customer=order_services.CustomerInput(email="ann@example.com", name="Ann"),
    ).order
    customer = Customer.objects.get()
    movements = StockMovement.objects.count()
    client = _session(_staff("sam", roles.STORE_ASSOCIATE))

    # when it calls the partner API for what its role does not allow, then each is refused
    _forbidden(
        client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "x"}, format="json"),
        "orders:write",
    )
    _forbidden(
        client.post(
            f"/api/v1/orders/{order.number}/refunds/",
            {"amount": "1.00", "reason": "goodwill"},
            format="json",
        ),
        "returns:write",
    )
    _forbidden(client.get("/api/v1/customers/?email=ann@example.com"), "customers:read")
    _forbidden(client.get(f"/api/v1/customers/{customer.pk}/"), "customers:read")
    _forbidden(
        client.put(
            "/api/v1/stock/wh-rotterdam/ORGANIC-TEE-S/",
            {"on_hand": 99, "reason": "count"},
            format="json",
        ),
        "stock:write",
    )
    _forbidden(
        client.post(
            "/api/v1/stock/movements/",
            {
                "movements": [
                    {
                        "location": "wh-rotterdam",
                        "sku": "ORGANIC-TEE-S",
                        "kind": "receipt",
                        "quantity": 10,
                    }
                ]
            },
            format="json",
        ),
        "stock:write",
    )

    # and nothing changed
    order.refresh_from_db()
    assert order.status != Order.Status.CANCELLED
    assert not Refund.objects.exists()
    assert StockMovement.objects.count() == movements
    assert StockLevel.objects.get(location=shop.warehouse, variant=shop.s).on_hand == 5
    # what the role does allow still works
    assert client.get(f"/api/v1/orders/{order.number}/").status_code == 200


def test_a_customer_service_session_can_cancel(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    order = order_services.order_place(
        channel_code="webshop",
        lines=[order_services.LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
        external_id="E-2",
    ).order
    client = _session(_staff("chris", roles.CUSTOMER_SERVICE))
    response = client.post(f"/api/v1/orders/{order.number}/cancel/", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


def test_the_scopes_follow_a_change_of_groups_or_permissions() -> None:
    # given a store associate whose session has been used (its user row is cached)
    user = _staff("sam", roles.STORE_ASSOCIATE)
    client = _session(user)
    assert _scopes(client) == EXPECTED_SCOPES[roles.STORE_ASSOCIATE]

    # when they are moved to customer service, then the next request has that role's scopes
    user.groups.add(Group.objects.get(name=roles.CUSTOMER_SERVICE))
    user.groups.remove(Group.objects.get(name=roles.STORE_ASSOCIATE))
    assert _scopes(client) == EXPECTED_SCOPES[roles.CUSTOMER_SERVICE]

    # a permission granted to their group counts at once, and so does its withdrawal
    group = Group.objects.get(name=roles.CUSTOMER_SERVICE)
    view_product = Permission.objects.get(
        content_type__app_label="catalog", codename="view_product"
    )
    group.permissions.add(view_product)
    assert "catalog:read" in _scopes(client)
    group.permissions.remove(view_product)
    assert "catalog:read" not in _scopes(client)

    # and so does a permission granted to the user directly
    user.user_permissions.add(view_product)
    assert "catalog:read" in _scopes(client)
    user.user_permissions.clear()
    assert _scopes(client) == EXPECTED_SCOPES[roles.CUSTOMER_SERVICE]


def test_every_permission_the_table_names_exists() -> None:
    from core.scopes import STAFF_SCOPE_PERMISSIONS

    for scope, perms in STAFF_SCOPE_PERMISSIONS.items():
        for name in perms:
            app_label, codename = name.split(".")
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), (scope, name)


def test_a_scope_missing_from_the_table_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import scopes

    table = dict(scopes.STAFF_SCOPE_PERMISSIONS)
    del table[scopes.Scope.STOCK_ALL_LOCATIONS]
    monkeypatch.setattr(scopes, "STAFF_SCOPE_PERMISSIONS", table)
    with pytest.raises(LookupError, match="stock:all_locations"):
        scopes.staff_scopes(is_superuser=False, has_perms=lambda perms: True)
