"""The audit log of sensitive actions (Trust issue): refunds, redemptions, stock corrections, price
changes, erasures, merges and API keys each leave exactly one entry, written in the action's
transaction, saying who, when, what, from where and through which surface; a refused action
leaves none; entries hold ids, never personal data; the admin shows them read-only."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Price
from core.actors import SYSTEM, ActorKind
from core.audit import AuditSurface, SensitiveAction, audit_context, audit_record
from core.models import AuditEntry, Partner, PartnerAPIKey
from customers import services as customer_services
from customers.models import Customer, Redemption
from inventory.models import Location, StockMovement
from orders import services as order_services
from orders.models import Order, Refund
from tests.factories import PartnerFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

CLIENT_IP = "203.0.113.7"  # documentation range: where the test requests come "from"
CSRF_TOKEN = "a" * 32


def _only(action: str) -> AuditEntry:
    """The one entry of ``action`` (fails when there are none or several)."""
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, [(e.action, e.object_id) for e in AuditEntry.objects.all()]
    return entries[0]


def _setup_done() -> None:
    """Forget the entries the setup wrote (the shop's prices, ...): each test counts its own."""
    AuditEntry.objects.all().delete()


def _staff(username: str, *roles: str, superuser: bool = False) -> User:
    user = User.objects.create_user(
        username, password="x", is_staff=True, is_superuser=superuser, email=f"{username}@x.test"
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


def _browser(user: User) -> Client:
    client = Client(REMOTE_ADDR=CLIENT_IP)
    client.force_login(user)
    return client


def _captured_order(shop: Shop, email: str = "pat@example.com") -> Order:
    shop.receive(shop.warehouse, shop.s, 3)
    return order_services.order_place(
        channel_code="webshop",
        lines=[order_services.LineInput("ORGANIC-TEE-S", 2)],
        method="ship",
        address={"country": "NL"},
        customer=order_services.CustomerInput(email=email),
        external_id="EXT-AUDIT",
        payment_status="captured",
    ).order


def _customer(n: int, points: int = 0) -> Customer:
    customer = customer_services.customer_resolve(
        email=f"ann{n}@example.com",
        phone=f"+31 6 1234567{n}",
        name=f"Ann Jansen {n}",
        channel_code="webshop",
    ).customer
    if points:
        customer_services.loyalty_earn(
            customer_id=customer.pk,
            amount=Decimal(points),
            currency="EUR",
            channel_code="webshop",
            reference=f"earn-{n}",
        )
    return customer


# --- the back office --------------------------------------------------------------------------


def test_a_refund_from_the_order_page_is_recorded_once_with_who_and_where(shop: Shop) -> None:
    order = _captured_order(shop)
    line = order.lines.get()
    agent = _staff("cs-agent", "Customer service")
    client = _browser(agent)
    action = f"/admin/orders/order/{order.pk}/action/"
    _setup_done()

    # too many units: refused, nothing recorded
    client.post(action, {"action": "refund", "key": "k0", f"qty_{line.pk}": "5"})
    assert not Refund.objects.exists()
    assert not AuditEntry.objects.exists(), list(AuditEntry.objects.values())

    form = {"action": "refund", "key": "k1", f"qty_{line.pk}": "1", "shipping_amount": "0"}
    client.post(action, form)
    client.post(action, form)  # pressed twice: one refund, one entry
    refund = Refund.objects.get()
    entry = _only(SensitiveAction.REFUND)
    assert (entry.actor_kind, entry.actor_user_id, entry.actor_partner_id) == (
        ActorKind.USER,
        agent.pk,
        None,
    )
    assert (entry.surface, entry.remote_ip) == (AuditSurface.ADMIN, CLIENT_IP)
    assert (entry.object_type, entry.object_id) == ("orders.refund", str(refund.pk))
    assert entry.data == {
        "order_id": order.pk,
        "amount": "19.99",
        "payment_id": refund.payment_id,
        "return_id": None,
    }
    assert len(entry.request_id) == 32  # the request's X-Request-ID, generated


def test_erasure_and_merge_from_the_admin_leave_ids_and_no_personal_data(shop: Shop) -> None:
    survivor, loser = _customer(1, points=20), _customer(2, points=10)
    agent = _staff("cs-agent", "Customer service")
    client = _browser(agent)
    merge_url = reverse("admin:customers_customer_merge", args=[survivor.pk])
    _setup_done()
    assert client.post(merge_url, {"other": survivor.pk, "confirm": "1"}).status_code == 200
    assert not AuditEntry.objects.exists()  # merging a customer into itself is refused

    assert client.post(merge_url, {"other": loser.pk, "confirm": "1"}).status_code == 302
    erase_url = reverse("admin:customers_customer_erase", args=[survivor.pk])
    assert client.post(erase_url).status_code == 302
    assert client.post(erase_url).status_code in (200, 302)  # already erased: refused

    merge = _only(SensitiveAction.CUSTOMER_MERGE)
    assert (merge.object_type, merge.object_id) == ("customers.customer", str(survivor.pk))
    assert merge.data["survivor_id"] == survivor.pk and merge.data["loser_id"] == loser.pk
    erase = _only(SensitiveAction.CUSTOMER_ERASE)
    assert (erase.object_type, erase.object_id) == ("customers.customer", str(survivor.pk))
    for entry in (merge, erase):
        assert (entry.actor_user_id, entry.surface, entry.remote_ip) == (
            agent.pk,
            AuditSurface.ADMIN,
            CLIENT_IP,
        )
    # no column of any entry holds a name, an e-mail address or a phone number
    personal = ["Ann Jansen", "ann1@", "ann2@", "612345671", "612345672", "cs-agent", "x.test"]
    for row in AuditEntry.objects.values():
        text = repr(row)
        assert not [p for p in personal if p in text], text


def test_a_stock_adjustment_in_the_admin_is_recorded_and_a_refused_one_is_not(
    shop: Shop,
) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    manager = _staff("stock-lead", "Inventory manager")
    client = _browser(manager)
    url = reverse("admin:inventory_stockmovement_add")
    _setup_done()
    form = {
        "sku": "ORGANIC-TEE-S",
        "location": shop.warehouse.pk,
        "kind": "adjustment",
        "quantity": "-9",
        "reason": "shrinkage",
        "reference_type": "",
        "reference": "",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200  # not enough on hand: the form shows the error
    assert not AuditEntry.objects.exists()
    assert client.post(url, {**form, "quantity": "-2"}).status_code == 302
    movement = StockMovement.objects.get(kind="adjustment")
    entry = _only(SensitiveAction.STOCK_ADJUST)
    assert (entry.object_type, entry.object_id) == ("inventory.stockmovement", str(movement.pk))
    assert entry.data == {
        "variant_id": shop.s.pk,
        "location_id": shop.warehouse.pk,
        "on_hand_delta": -2,
    }
    assert (entry.actor_user_id, entry.surface, entry.remote_ip) == (
        manager.pk,
        AuditSurface.ADMIN,
        CLIENT_IP,
    )
    # receipts are not sensitive: the stock received above left no entry
    assert AuditEntry.objects.count() == 1


def test_creating_and_revoking_a_key_in_the_admin_is_recorded(shop: Shop) -> None:
    partner: Partner = PartnerFactory(channels=[shop.channel])  # type: ignore[assignment]
    boss = _staff("boss", superuser=True)
    client = _browser(boss)
    _setup_done()
    response = client.post(
        reverse("admin:core_partnerapikey_add"),
        {
            "name": "erp",
            "partner": partner.pk,
            "scopes": ["stock:read", "stock:write"],
            "channels": [shop.channel.pk],
            "rate_limit": "",
            "expiry_date_0": "",
            "expiry_date_1": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    key = PartnerAPIKey.objects.get(name="erp")
    created = _only(SensitiveAction.API_KEY_CREATE)
    assert (created.object_type, created.object_id) == ("core.partnerapikey", key.prefix)
    assert created.data == {"partner_id": partner.pk, "scopes": ["stock:read", "stock:write"]}
    assert (created.actor_user_id, created.surface) == (boss.pk, AuditSurface.ADMIN)
    assert key.hashed_key not in repr(list(AuditEntry.objects.values()))

    change = reverse("admin:core_partnerapikey_change", args=[key.pk])
    form = {
        "name": "erp",
        "partner": partner.pk,
        "scopes": ["stock:read", "stock:write"],
        "channels": [shop.channel.pk],
        "rate_limit": "",
        "expiry_date_0": "",
        "expiry_date_1": "",
    }
    assert client.post(change, {**form, "name": "erp-renamed"}).status_code == 302
    assert not AuditEntry.objects.filter(action=SensitiveAction.API_KEY_REVOKE).exists()
    assert client.post(change, {**form, "revoked": "on"}).status_code == 302
    revoked = _only(SensitiveAction.API_KEY_REVOKE)
    assert (revoked.object_id, revoked.actor_user_id) == (key.prefix, boss.pk)


# --- the partner API, by key and by staff session --------------------------------------------


def test_a_redemption_through_the_api_is_recorded_as_the_partner(
    api_client_for: Callable[..., APIClient],
) -> None:
    customer = _customer(1, points=150)
    client = api_client_for(channels=["webshop"])
    url = f"/api/v1/customers/{customer.pk}/loyalty/redeem/"
    _setup_done()
    too_much = client.post(
        url, {"points": 151, "channel": "webshop", "reference": "W-0"}, format="json"
    )
    assert too_much.status_code == 409
    assert not AuditEntry.objects.filter(action=SensitiveAction.LOYALTY_REDEEM).exists()

    payload = {"points": 100, "channel": "webshop", "reference": "W-1"}
    # a retry with the same reference spends once and records once
    responses = [client.post(url, payload, format="json", REMOTE_ADDR=CLIENT_IP) for _ in "12"]
    assert [r.status_code for r in responses] == [201, 201], responses[0].json()
    redemption = Redemption.objects.get()
    entry = _only(SensitiveAction.LOYALTY_REDEEM)
    assert (entry.actor_kind, entry.actor_partner_id, entry.actor_user_id) == (
        ActorKind.PARTNER,
        client.partner.pk,  # type: ignore[attr-defined]
        None,
    )
    assert (entry.surface, entry.remote_ip) == (AuditSurface.API, CLIENT_IP)
    assert (entry.object_type, entry.object_id) == ("customers.redemption", str(redemption.pk))
    assert entry.data == {"customer_id": customer.pk, "points": 100, "value": "1.00"}
    assert entry.request_id == responses[0]["X-Request-ID"]


def test_an_adjustment_by_key_and_a_count_by_staff_session_are_recorded(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    erp = api_client_for(channels=[shop.channel], scopes=["stock:write", "stock:all_locations"])
    _setup_done()

    def adjust(quantity: int) -> int:
        body = {
            "movements": [
                {
                    "location": shop.warehouse.code,
                    "sku": "ORGANIC-TEE-S",
                    "kind": "adjustment",
                    "quantity": quantity,
                    "reason": "cycle",
                }
            ]
        }
        return erp.post("/api/v1/stock/movements/", body, format="json").status_code

    assert adjust(-50) == 409  # below zero: refused, nothing recorded
    assert not AuditEntry.objects.exists()
    assert adjust(-1) == 201
    adjusted = _only(SensitiveAction.STOCK_ADJUST)
    assert (adjusted.surface, adjusted.actor_partner_id, adjusted.actor_user_id) == (
        AuditSurface.API,
        erp.partner.pk,  # type: ignore[attr-defined]
        None,
    )

    manager = _staff("stock-lead", "Inventory manager")
    session = APIClient(enforce_csrf_checks=True, REMOTE_ADDR=CLIENT_IP)
    session.force_login(manager)
    session.cookies["csrftoken"] = CSRF_TOKEN
    session.credentials(HTTP_X_CSRFTOKEN=CSRF_TOKEN)
    url = f"/api/v1/stock/{shop.warehouse.code}/ORGANIC-TEE-S/"
    assert session.put(url, {"on_hand": 4, "reason": "count"}, format="json").status_code == 200
    assert not AuditEntry.objects.filter(action=SensitiveAction.STOCK_COUNT).exists()  # no change
    assert session.put(url, {"on_hand": 7, "reason": "count"}, format="json").status_code == 200
    counted = _only(SensitiveAction.STOCK_COUNT)
    assert (counted.surface, counted.actor_user_id, counted.remote_ip) == (
        AuditSurface.API_SESSION,
        manager.pk,
        CLIENT_IP,
    )
    assert counted.data == {
        "variant_id": shop.s.pk,
        "location_id": shop.warehouse.pk,
        "on_hand_delta": 3,
    }


# --- the store page ---------------------------------------------------------------------------


def test_a_redemption_at_the_till_is_recorded_as_the_associate_on_the_store_surface(
    settings: Any,
) -> None:
    from inventory import services as inventory_services
    from tests.factories import LocationFactory, UserFactory

    settings.STORE_CHANNEL_CODE = "webshop"
    store: Location = LocationFactory(code="st-audit", name="Audit store")  # type: ignore[assignment]
    associate: User = UserFactory(username="sam", is_staff=False)  # type: ignore[assignment]
    associate.groups.add(Group.objects.get(name="Store associate"))
    inventory_services.staff_member_assign(user_id=associate.pk, location=store)
    customer = _customer(1, points=250)
    client = _browser(associate)
    _setup_done()
    form = {"customer": customer.pk, "points": 100, "reference": "form-1", "q": "ann1"}
    client.post(reverse("store:till"), {**form, "points": 900, "reference": "form-0"})
    assert not AuditEntry.objects.exists()  # more points than the balance: refused
    client.post(reverse("store:till"), form)
    entry = _only(SensitiveAction.LOYALTY_REDEEM)
    assert (entry.actor_kind, entry.actor_user_id, entry.surface, entry.remote_ip) == (
        ActorKind.USER,
        associate.pk,
        AuditSurface.STORE,
        CLIENT_IP,
    )
    assert entry.data["customer_id"] == customer.pk and entry.data["points"] == 100


# --- outside a request ------------------------------------------------------------------------


def test_a_service_outside_a_request_is_recorded_as_the_system(shop: Shop, tmp_path: Any) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    feed = tmp_path / "stock.csv"
    feed.write_text(f"sku,location,on_hand\nORGANIC-TEE-S,{shop.warehouse.code},8\n")
    _setup_done()
    call_command("import_stock", str(feed), stdout=None)
    entry = _only(SensitiveAction.STOCK_FEED)
    assert (entry.surface, entry.actor_kind, entry.actor_user_id, entry.remote_ip) == (
        AuditSurface.SYSTEM,
        ActorKind.SYSTEM,
        None,
        None,
    )
    assert entry.data == {"rows": 1, "levels_changed": 1, "units_added": 3, "units_removed": 0}


def test_an_import_in_the_worker_records_one_entry_with_its_count(
    shop: Shop, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.imports.services import import_job_create
    from catalog.services import category_tree_import
    from demo.categories import DEMO_CATEGORIES
    from tests.realdata import OWN_DATA

    settings.CATALOG_IMPORT_FETCH_IMAGES = False
    category_tree_import(entries=DEMO_CATEGORIES)
    upload = SimpleUploadedFile("wardrobe.csv", (OWN_DATA / "shopify/wardrobe.csv").read_bytes())
    _setup_done()
    with django_capture_on_commit_callbacks(execute=True):  # the job runs as an (eager) task
        import_job_create(fmt="shopify", uploaded=upload, options={"price_channel": "webshop"})
    entry = _only(SensitiveAction.PRICE_IMPORT)
    assert entry.data["channel_id"] == shop.channel.pk and entry.data["prices_set"] > 1
    assert (entry.surface, entry.actor_kind) == (AuditSurface.WORKER, ActorKind.SYSTEM)
    # one entry for the job's prices and one for its stock counts, not one per row
    stock = _only(SensitiveAction.STOCK_FEED)
    assert stock.surface == AuditSurface.WORKER and stock.data["levels_changed"] > 1
    assert AuditEntry.objects.count() == 2


def test_a_price_change_records_the_old_and_new_amount_and_who(shop: Shop) -> None:
    merchandiser = _staff("merch", "Merchandiser")
    _setup_done()
    with audit_context(AuditSurface.ADMIN, remote_ip=CLIENT_IP):
        price = catalog_services.price_set(
            variant_id=shop.s.pk, channel_code="webshop", amount="17.50", user=merchandiser
        )
    entry = _only(SensitiveAction.PRICE_CHANGE)
    assert (entry.object_type, entry.object_id) == ("catalog.price", str(price.pk))
    assert (entry.data["amount"], entry.data["previous_amount"]) == ("17.50", "19.99")
    assert (entry.actor_user_id, entry.surface) == (merchandiser.pk, AuditSurface.ADMIN)
    catalog_services.price_delete(price_id=price.pk, user=merchandiser)
    deleted = _only(SensitiveAction.PRICE_DELETE)
    assert deleted.object_id == str(price.pk) and not Price.objects.filter(pk=price.pk).exists()


def test_an_action_that_rolls_back_leaves_no_entry() -> None:
    customer = _customer(1)
    _setup_done()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_services.customer_erase(customer_id=customer.pk, actor=SYSTEM)
        assert AuditEntry.objects.count() == 1
        raise RuntimeError("a later step failed")
    assert not AuditEntry.objects.exists()
    customer.refresh_from_db()
    assert customer.name == "Ann Jansen 1"


def test_data_refuses_text_that_could_be_personal() -> None:
    _setup_done()
    for value in ("Ann Jansen", "ann@example.com", "call me on +31 6 1234"):
        with pytest.raises(ValueError):
            audit_record(
                action=SensitiveAction.REFUND, object_type="orders.refund", data={"x": value}
            )
    assert not AuditEntry.objects.exists()


# --- the admin --------------------------------------------------------------------------------


def _entries(count: int) -> None:
    users = [User.objects.get_or_create(username=f"user{n}")[0] for n in range(2)]
    partner: Partner = PartnerFactory()  # type: ignore[assignment]
    for n in range(count):
        AuditEntry.objects.create(
            action=SensitiveAction.REFUND if n % 2 else SensitiveAction.STOCK_ADJUST,
            actor_kind=ActorKind.USER if n % 3 else ActorKind.PARTNER,
            actor_user_id=users[n % 2].pk if n % 3 else None,
            actor_partner_id=None if n % 3 else partner.pk,
            surface=AuditSurface.ADMIN if n % 2 else AuditSurface.API,
            remote_ip=CLIENT_IP,
            object_type="orders.refund",
            object_id=str(1000 + n),
        )


def test_the_admin_list_renders_filters_and_searches_in_bounded_queries(
    django_assert_max_num_queries: Any,
) -> None:
    client = _browser(_staff("boss", superuser=True))
    url = reverse("admin:core_auditentry_changelist")
    _setup_done()
    _entries(4)
    with django_assert_max_num_queries(12) as few:
        page = client.get(url)
    assert page.status_code == 200
    assert b"user0" in page.content and b"user1" in page.content  # usernames looked up
    _entries(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
    refunds = client.get(url, {"action": "refund", "surface": "admin"})
    assert refunds.context["cl"].result_count == 12
    found = client.get(url, {"q": "1003"})
    assert [e.object_id for e in found.context["cl"].result_list] == ["1003", "1003"]


def test_nobody_can_add_change_or_delete_entries_and_only_granted_users_can_view() -> None:
    _setup_done()
    _entries(1)
    entry = AuditEntry.objects.get()
    boss = _browser(_staff("boss", superuser=True))
    viewer_user = _staff("auditor")
    viewer_user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    viewer = _browser(viewer_user)
    agent = _browser(_staff("cs-agent", "Customer service"))
    change = reverse("admin:core_auditentry_change", args=[entry.pk])
    for client in (boss, viewer):
        assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 200
        assert client.get(change).status_code == 200  # shown read-only
        assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
        assert client.post(change, {"object_id": "1"}).status_code == 403
        assert (
            client.post(
                reverse("admin:core_auditentry_delete", args=[entry.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        bulk = client.post(
            reverse("admin:core_auditentry_changelist"),
            {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
        )
        assert bulk.status_code in (200, 302)
    assert agent.get(reverse("admin:core_auditentry_changelist")).status_code == 403
    entry.refresh_from_db()
    assert AuditEntry.objects.count() == 1 and entry.object_id == "1000"
