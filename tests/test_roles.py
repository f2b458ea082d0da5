"""Staff roles are groups with exactly the permissions config.roles lists."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from config import roles

pytestmark = pytest.mark.django_db


def test_each_role_exists_with_exactly_its_permissions():
    for role, expected in roles.ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {
            f"{perm.content_type.app_label}.{perm.codename}"
            for perm in group.permissions.select_related("content_type")
        }
        assert granted == set(expected), role


def test_the_five_roles_of_the_product_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Merchandiser",
        "Catalog approver",
        "Inventory manager",
        "Store associate",
        "Customer service",
    }


def test_a_store_associate_cannot_change_locations_but_an_inventory_manager_can():
    from tests.factories import UserFactory

    associate = UserFactory(username="sam")
    associate.groups.add(Group.objects.get(name=roles.STORE_ASSOCIATE))
    manager = UserFactory(username="iris")
    manager.groups.add(Group.objects.get(name=roles.INVENTORY_MANAGER))
    assert associate.has_perm("inventory.view_location")
    assert not associate.has_perm("inventory.change_location")
    assert manager.has_perm("inventory.change_location")


def test_an_unknown_permission_in_the_table_is_an_error(monkeypatch):
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, "Broken role", ["catalog.fly_category"])
    with pytest.raises(LookupError, match="fly_category"):
        roles.roles_sync()
    assert not Group.objects.filter(name="Broken role").exists()


def test_resyncing_removes_permissions_granted_by_hand():
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=roles.STORE_ASSOCIATE)
    group.permissions.add(Permission.objects.get(codename="delete_location"))
    roles.roles_sync()
    assert not group.permissions.filter(codename="delete_location").exists()


@pytest.mark.django_db(transaction=True)
def test_roles_survive_a_transactional_test_flush():
    """Transactional tests flush every table; post_migrate must bring the roles back."""
    assert Group.objects.filter(name=roles.STORE_ASSOCIATE).exists()


def test_the_operator_has_the_channel_operations_pages_and_the_dashboard_only():
    granted = set(roles.ROLE_PERMISSIONS[roles.OPERATOR])
    assert "reports.view_dashboard" in granted
    assert "reports.view_reports" not in granted  # no report pages, no reporting API
    assert "channels.view_delivery" in granted and "core.view_changeevent" in granted
    assert {name.split(".")[0] for name in granted} == {"core", "channels", "reports"}
    assert {name for name in granted if name.startswith("core.")} == {
        "core.view_channel",
        "core.view_changeevent",
    }
    assert not any(
        name.split(".")[1].startswith(("add_", "delete_")) for name in granted
    )  # operators act on what exists; they create and delete nothing


def test_the_roles_with_figures_to_read_may_see_the_reports():
    with_reports = {
        role for role, names in roles.ROLE_PERMISSIONS.items() if "reports.view_reports" in names
    }
    assert with_reports == {
        roles.MERCHANDISER,
        roles.CATALOG_APPROVER,
        roles.INVENTORY_MANAGER,
        roles.STORE_MANAGER,
        roles.CUSTOMER_SERVICE,
    }
