"""The roles and the money features' back office: each role sees exactly its admin pages for
promotions, coupons, gift cards, shipping and tax; who may issue and disable gift cards; and the
store page's Gift cards link, shown only to staff who may open that page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import Client, RequestFactory
from django.urls import reverse

from config import roles
from inventory import services as inventory_services
from inventory.models import Location
from orders import services
from store import permissions as store_permissions
from tests.factories import LocationFactory, UserFactory

pytestmark = pytest.mark.django_db

# The admin pages of the money features' models (app label, model name).
PROMOTION = ("orders", "promotion")
COUPON = ("orders", "coupon")
GIFT_CARD = ("orders", "giftcard")
SHIPPING_METHOD = ("orders", "shippingmethod")
NON_WORKING_DAY = ("orders", "nonworkingday")
TAX_CLASS = ("core", "taxclass")
TAX_RATE = ("core", "taxrate")
MONEY_PAGES = {
    PROMOTION,
    COUPON,
    GIFT_CARD,
    SHIPPING_METHOD,
    NON_WORKING_DAY,
    TAX_CLASS,
    TAX_RATE,
}

EXPECTED_PAGES = {
    roles.MERCHANDISER: {PROMOTION, COUPON, TAX_CLASS, TAX_RATE},
    roles.CATALOG_APPROVER: {TAX_CLASS, TAX_RATE},
    roles.INVENTORY_MANAGER: {SHIPPING_METHOD, NON_WORKING_DAY},
    roles.STORE_ASSOCIATE: set(),
    roles.STORE_MANAGER: set(),
    roles.CUSTOMER_SERVICE: {PROMOTION, COUPON, GIFT_CARD},
    roles.AUDITOR: MONEY_PAGES,
    roles.OPERATOR: set(),  # channel operations and the dashboard: no money pages
}

# Every model the money features added: the auditor reads all of them and changes none.
MONEY_MODELS = {
    "orders": [
        "promotion",
        "coupon",
        "couponbatch",
        "couponredemption",
        "giftcard",
        "giftcardentry",
        "shippingmethod",
        "shippingzone",
        "shippingrate",
        "nonworkingday",
        "paymentevent",
        "ordertaxline",
    ],
    "core": ["taxclass", "taxrate", "channelcountry"],
}


def _staff(role: str) -> User:
    user: User = UserFactory(username=role.lower().replace(" ", "-"))  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # a fresh instance: no cached permissions


def _money_pages(user: User) -> set[tuple[str, str]]:
    request = RequestFactory().get("/admin/")
    request.user = user
    listed = {
        (app["app_label"], model["object_name"].lower())
        for app in admin.site.get_app_list(request)
        for model in app["models"]
    }
    return listed & MONEY_PAGES


def test_the_roles_table_covers_every_role() -> None:
    assert set(EXPECTED_PAGES) == set(roles.ROLE_PERMISSIONS)


@pytest.mark.parametrize("role", sorted(EXPECTED_PAGES))
def test_each_role_sees_exactly_its_money_pages(role: str) -> None:
    user = _staff(role)
    # the admin index lists exactly the role's pages ...
    assert _money_pages(user) == EXPECTED_PAGES[role]
    # ... and each page opens for the role, and no other does
    client = Client()
    client.force_login(user)
    for app_label, model in sorted(MONEY_PAGES):
        response = client.get(reverse(f"admin:{app_label}_{model}_changelist"))
        expected = 200 if (app_label, model) in EXPECTED_PAGES[role] else 403
        assert response.status_code == expected, (role, model)


def test_the_auditor_reads_every_new_model_and_changes_none() -> None:
    auditor = _staff(roles.AUDITOR)
    for app_label, models in MONEY_MODELS.items():
        for model in models:
            assert auditor.has_perm(f"{app_label}.view_{model}"), model
            for action in ("add", "change", "delete"):
                assert not auditor.has_perm(f"{app_label}.{action}_{model}"), (action, model)


def test_customer_service_issues_and_disables_gift_cards_and_the_merchandiser_does_not() -> None:
    service = _staff(roles.CUSTOMER_SERVICE)
    merchandiser = _staff(roles.MERCHANDISER)
    auditor = _staff(roles.AUDITOR)
    assert service.has_perm("orders.add_giftcard") and service.has_perm("orders.change_giftcard")
    assert service.has_perm("orders.view_couponredemption")
    assert not service.has_perm("orders.change_promotion")
    issue_page = reverse("admin:orders_giftcard_issue")
    for user, status in ((service, 200), (merchandiser, 403), (auditor, 403)):
        client = Client()
        client.force_login(user)
        assert client.get(issue_page).status_code == status, user.username
    # customer service disables a card from the list; the auditor may not
    card = services.giftcard_issue(amount=Decimal("20"), currency="EUR").card
    changelist = reverse("admin:orders_giftcard_changelist")
    for user, disabled in ((auditor, False), (service, True)):
        client = Client()
        client.force_login(user)
        client.post(changelist, {"action": "disable_cards", "_selected_action": [card.pk]})
        card.refresh_from_db()
        assert (card.status == "disabled") is disabled, user.username


def test_merchandisers_write_promotions_coupons_and_batches_but_not_tax() -> None:
    merchandiser = _staff(roles.MERCHANDISER)
    for model in ("promotion", "coupon", "couponbatch"):
        for action in ("view", "add", "change"):
            assert merchandiser.has_perm(f"orders.{action}_{model}"), (action, model)
    assert merchandiser.has_perm("core.view_taxclass")
    assert not merchandiser.has_perm("core.change_taxclass")
    assert not merchandiser.has_perm("core.change_taxrate")
    assert not merchandiser.has_perm("orders.view_giftcard")


def test_inventory_managers_run_shipping_and_location_cut_offs() -> None:
    manager = _staff(roles.INVENTORY_MANAGER)
    for model in ("shippingmethod", "shippingzone", "shippingrate", "nonworkingday"):
        for action in ("view", "add", "change"):
            assert manager.has_perm(f"orders.{action}_{model}"), (action, model)
    for model in ("shippingzone", "shippingrate", "nonworkingday"):
        assert manager.has_perm(f"orders.delete_{model}"), model
    assert manager.has_perm("inventory.change_location")  # the cut-off time is on the location
    assert not manager.has_perm("orders.view_promotion")


# --- the store page's Gift cards link ---------------------------------------------------------


def _store_member(store: Location, *, username: str, group: Group) -> Client:
    user: User = UserFactory(username=username, is_staff=False)  # type: ignore[assignment]
    user.groups.add(group)
    inventory_services.staff_member_assign(user_id=user.pk, location=store)
    client = Client()
    client.force_login(user)
    return client


def _group_with(name: str, *permissions: str) -> Group:
    group = Group.objects.create(name=name)
    for permission in permissions:
        app_label, codename = permission.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return group


def test_the_gift_cards_link_shows_only_to_staff_who_may_open_the_page() -> None:
    store: Location = LocationFactory(code="st-link", name="Link store")  # type: ignore[assignment]
    link = 'href="/store/gift-cards/"'
    # an associate (who sells at the till) sees the link, and the page opens
    associate = _store_member(
        store, username="seller", group=Group.objects.get(name=roles.STORE_ASSOCIATE)
    )
    assert link in associate.get("/store/").content.decode()
    assert associate.get("/store/gift-cards/").status_code == 200
    # a colleague who only finds stock does not see it, and the page is closed to them
    viewer = _store_member(
        store,
        username="looker",
        group=_group_with("Stock lookers", store_permissions.VIEW_STOCK),
    )
    page = viewer.get("/store/")
    assert page.status_code == 200 and link not in page.content.decode()
    assert viewer.get("/store/gift-cards/").status_code == 403
