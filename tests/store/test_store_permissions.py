"""Who may do what on the store page (issue 16, item 2).

Every store page action needs the permission of its kind (``store.permissions``), granted by a
role (``config.roles``), and acts only at a store the user is a member of (``StaffMember``). The
table :data:`STORE_PAGE_TABLE` says which roles may take each permission; every action of
:data:`ACTIONS` is tried on its real URL by every role of :data:`ROLES`: allowed, it answers (and a
POST writes), refused, it is a 403 naming the missing permission and nothing is written.
``docs/security.md`` mirrors the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from config import roles
from customers import services as customer_services
from inventory import services as stock
from inventory.models import Location, StockHold, Transfer
from inventory.services import StockLine
from orders import services as orders
from orders.models import Fulfillment, Order, Return
from store import permissions as perm
from store import urls as store_urls
from tests.factories import LocationFactory
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

ASSOCIATE = "associate"
STORE_MANAGER = "store manager"
INVENTORY_MANAGER = "inventory manager"
CUSTOMER_SERVICE = "customer service"
MERCHANDISER = "merchandiser"
STAFF_NO_ROLE = "staff, no role"
NOT_STAFF_NO_ROLE = "not staff, no role"
SUPERUSER = "superuser"

# role in the table -> (Django group, is_staff, is_superuser); every one is a member of the store
ROLES: dict[str, tuple[str | None, bool, bool]] = {
    ASSOCIATE: (roles.STORE_ASSOCIATE, False, False),
    STORE_MANAGER: (roles.STORE_MANAGER, True, False),
    INVENTORY_MANAGER: (roles.INVENTORY_MANAGER, True, False),
    CUSTOMER_SERVICE: (roles.CUSTOMER_SERVICE, True, False),
    MERCHANDISER: (roles.MERCHANDISER, True, False),
    STAFF_NO_ROLE: (None, True, False),
    NOT_STAFF_NO_ROLE: (None, False, False),
    SUPERUSER: (None, True, True),
}

_STORE_STAFF = frozenset({ASSOCIATE, STORE_MANAGER, SUPERUSER})

# permission -> the roles that have it (at the stores they are a member of); docs/security.md
STORE_PAGE_TABLE: dict[str, frozenset[str]] = {
    perm.VIEW_STOCK: _STORE_STAFF,
    perm.HOLD: _STORE_STAFF,
    perm.COUNT: _STORE_STAFF,
    perm.RECEIVE_TRANSFERS: _STORE_STAFF,
    perm.HAND_OVER: _STORE_STAFF,
    perm.RETURN_REFUND: _STORE_STAFF,
    perm.REDEEM: _STORE_STAFF,
    perm.SELL: _STORE_STAFF,
    perm.SHIP: _STORE_STAFF,
}

PHONE = "+31 6 55511122"
HOLD_TTL = timedelta(hours=4)


@dataclass
class World:
    """At Amsterdam (the store every role is a member of): a walk-in hold, a shipped transfer, a
    pickup and a parcel to pick, a till sale, delivered web orders to return and exchange, an
    online RMA, and a customer with points."""

    shop: Shop
    hold_reference: str
    hold: StockHold
    transfer: Transfer
    pickup: Fulfillment
    parcel: Fulfillment
    sale: Order
    returned: Order
    exchanged: Order
    rma: Return
    customer_id: int


def _delivered(shop: Shop) -> Order:
    order = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(shop.m.sku, 1)],
        method="ship",
        address={"name": "Eva", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"},
        customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
        payment_status="captured",
    ).order
    fulfillment = order.fulfillments.get()
    orders.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="3S")
    return order


def _pickup(shop: Shop, store: Location) -> Fulfillment:
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.s.sku, quantity=1)],
        method="pickup",
        pickup_location_code=store.code,
        customer=orders.CustomerInput(email="pia@example.com", name="Pia"),
    )
    return Fulfillment.objects.get(order=placed.order)


def world_build(shop: Shop) -> World:
    pos_channel_add(shop)
    shop.receive(shop.warehouse, shop.m, 3)  # only the warehouse has M: the web orders ship there
    returned, exchanged, online = _delivered(shop), _delivered(shop), _delivered(shop)
    rma = orders.return_create(
        order_id=online.pk,
        lines=[orders.ReturnLineInput(shop.m.sku, 1)],
        location_code=shop.warehouse.code,
        reason="too small",
    )
    shop.receive(shop.amsterdam, shop.s, 8)  # only Amsterdam has S: parcels and pickups there
    shop.receive(shop.amsterdam, shop.l, 1)  # the exchange's new size, on the shelf here
    shop.receive(shop.warehouse, shop.l, 5)
    parcel = Fulfillment.objects.get(
        order=orders.order_place(
            channel_code="webshop",
            lines=[orders.LineInput(sku=shop.s.sku, quantity=1)],
            method="ship",
            address={"name": "Eva", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"},
            customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
            payment_status="authorized",
        ).order
    )
    pickup = _pickup(shop, shop.amsterdam)
    hold_reference = f"walk-in:{shop.amsterdam.code}:Jan"
    stock.stock_reserve(
        lines=[StockLine(shop.s.pk, shop.amsterdam.pk, 1)], reference=hold_reference, ttl=HOLD_TTL
    )
    stock.stock_reserve(
        lines=[StockLine(shop.s.pk, shop.amsterdam.pk, 1)],
        reference=f"walk-in:{shop.amsterdam.code}:Noor",
        ttl=HOLD_TTL,
    )
    hold = StockHold.objects.get(reference=f"walk-in:{shop.amsterdam.code}:Noor")
    transfer = stock.transfer_create(
        source_id=shop.warehouse.pk, destination_id=shop.amsterdam.pk, lines={shop.l.pk: 2}
    )
    stock.transfer_ship(transfer_id=transfer.pk)
    sale = orders.sale_record(
        channel_code="pos",
        location_code=shop.amsterdam.code,
        lines=[orders.LineInput(shop.s.sku, 1)],
        payments=[orders.PaymentInput("cash", Decimal("20.00"), "")],
        sale_key="till:setup",
    ).order
    customer = customer_services.customer_resolve(
        email="kim@example.com", phone=PHONE, name="Kim Bos", channel_code="webshop"
    ).customer
    customer_services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("250.00"),
        currency="EUR",
        channel_code="webshop",
        reference="order-1",
    )
    return World(
        shop=shop,
        hold_reference=hold_reference,
        hold=hold,
        transfer=transfer,
        pickup=pickup,
        parcel=parcel,
        sale=sale,
        returned=returned,
        exchanged=exchanged,
        rma=rma,
        customer_id=customer.pk,
    )


@dataclass(frozen=True)
class Action:
    """One request of a store page action: ``needs`` the permissions, ``writes`` when allowed."""

    name: str
    needs: tuple[str, ...]
    method: str
    url_name: str  # of the store page's URLs
    args: Callable[[World], list[Any]] | None = None
    data: Callable[[World], dict[str, Any]] | None = None
    writes: bool = False

    def url(self, world: World) -> str:
        return reverse(f"store:{self.url_name}", args=self.args(world) if self.args else [])


def _return_form(w: World) -> dict[str, Any]:
    line = w.returned.lines.get()
    return {"token": "t-1", f"qty-{line.pk}": 1, f"disposition-{line.pk}": "restock"}


def _rma_form(w: World) -> dict[str, Any]:
    return {"token": "t-2", **{f"disposition-{line.pk}": "restock" for line in w.rma.lines.all()}}


def _aisle_form(w: World) -> dict[str, Any]:
    return {
        "token": "t-3",
        "sku": w.shop.l.sku,
        "quantity": 1,
        "name": "Eva",
        "email": "eva@example.com",
        "line1": "Damrak 1",
        "postal_code": "1012 LG",
        "city": "Amsterdam",
        "country": "NL",
    }


def _exchange_form(w: World) -> dict[str, Any]:
    return {
        "token": "t-4",
        "return_sku": w.shop.m.sku,
        "quantity": "1",
        "disposition": "restock",
        "new_sku": w.shop.l.sku,
        "method": "carry_out",
    }


ACTIONS: list[Action] = [
    Action("find stock", (perm.VIEW_STOCK,), "get", "home", None),
    Action("product", (perm.VIEW_STOCK,), "get", "product", lambda w: [w.shop.s.product_id]),
    Action(
        "put aside",
        (perm.HOLD,),
        "post",
        "hold-create",
        None,
        lambda w: {"variant": w.shop.s.pk, "quantity": 1, "hours": 2, "customer": "Lea"},
        writes=True,
    ),
    Action(
        "release a walk-in hold",
        (perm.HOLD,),
        "post",
        "hold-release",
        None,
        lambda w: {"reference": w.hold_reference},
        writes=True,
    ),
    Action("holds", (perm.HOLD,), "get", "holds", None),
    Action(
        "release any hold",
        (perm.HOLD,),
        "post",
        "hold-release-one",
        lambda w: [w.hold.pk],
        writes=True,
    ),
    Action("count", (perm.COUNT,), "get", "count", None),
    Action(
        "count a shelf",
        (perm.COUNT,),
        "post",
        "count",
        None,
        lambda w: {"code": w.shop.s.sku, "counted": 9, "reason": "shelf count"},
        writes=True,
    ),
    Action("transfers", (perm.RECEIVE_TRANSFERS,), "get", "transfers", None),
    Action(
        "receive a transfer",
        (perm.RECEIVE_TRANSFERS,),
        "post",
        "transfers",
        None,
        lambda w: {"transfer": w.transfer.pk},
        writes=True,
    ),
    Action(
        "request a transfer",
        (perm.RECEIVE_TRANSFERS,),
        "post",
        "transfers",
        None,
        lambda w: {"action": "request", "source": w.shop.warehouse.pk, "lines": "ORGANIC-TEE-L 1"},
        writes=True,
    ),
    Action("pickups", (perm.HAND_OVER,), "get", "pickups", None),
    Action(
        "pick a pickup",
        (perm.HAND_OVER,),
        "post",
        "pickup-action",
        lambda w: [w.pickup.pk],
        lambda w: {"action": "pick"},
        writes=True,
    ),
    Action(
        "find an order to return",
        (perm.RETURN_REFUND,),
        "get",
        "returns",
        None,
        data=lambda w: {"q": "eva@example.com"},
    ),
    Action(
        "return form",
        (perm.RETURN_REFUND,),
        "get",
        "return-order",
        lambda w: [w.returned.number],
    ),
    Action(
        "receive and refund a return",
        (perm.RETURN_REFUND,),
        "post",
        "return-order",
        lambda w: [w.returned.number],
        _return_form,
        writes=True,
    ),
    Action("rma form", (perm.RETURN_REFUND,), "get", "rma-receive", lambda w: [w.rma.rma]),
    Action(
        "receive and refund an rma",
        (perm.RETURN_REFUND,),
        "post",
        "rma-receive",
        lambda w: [w.rma.rma],
        _rma_form,
        writes=True,
    ),
    Action(
        "exchange form",
        (perm.RETURN_REFUND, perm.SELL),
        "get",
        "exchange",
        lambda w: [w.exchanged.number],
    ),
    Action(
        "exchange",
        (perm.RETURN_REFUND, perm.SELL),
        "post",
        "exchange",
        lambda w: [w.exchanged.number],
        _exchange_form,
        writes=True,
    ),
    Action(
        "find a customer", (perm.REDEEM,), "get", "till", None, data=lambda w: {"q": "0655511122"}
    ),
    Action(
        "redeem points",
        (perm.REDEEM,),
        "post",
        "till",
        None,
        lambda w: {"customer": w.customer_id, "points": 100, "reference": "r-1"},
        writes=True,
    ),
    Action("till", (perm.SELL,), "get", "till-sale", None),
    Action(
        "scan a line at the till",  # the basket is in the session: nothing in the database yet
        (perm.SELL,),
        "post",
        "till-sale",
        None,
        lambda w: {"action": "add", "code": w.shop.s.sku, "quantity": 1},
    ),
    Action("receipt", (perm.SELL,), "get", "receipt", lambda w: [w.sale.number]),
    Action("endless aisle", (perm.SELL,), "get", "aisle", None),
    Action(
        "order for home delivery",
        (perm.SELL,),
        "post",
        "aisle",
        None,
        _aisle_form,
        writes=True,
    ),
    Action("gift card balance", (perm.SELL,), "get", "gift-cards", None),
    Action(
        "issue a gift card",  # value handed out without a sale: the redeem permission too
        (perm.SELL, perm.REDEEM),
        "post",
        "gift-card-issue",
        None,
        lambda w: {"amount": "25.00", "note": "goodwill"},
        writes=True,
    ),
    Action("ship queue", (perm.SHIP,), "get", "shipments", None),
    Action(
        "pick a parcel",
        (perm.SHIP,),
        "post",
        "shipment-action",
        lambda w: [w.parcel.pk],
        lambda w: {"action": "pick"},
        writes=True,
    ),
]

_DOMAIN_APPS = ("core", "catalog", "customers", "inventory", "orders", "channels")


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every domain model: equal before and after means nothing was written."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for label in _DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.managed and not model._meta.proxy:
                rows[model._meta.label] = list(model._default_manager.order_by("pk").values_list())
    return rows


def _member(username: str, role: str, *stores: Location) -> User:
    group, is_staff, is_superuser = ROLES[role]
    user = User.objects.create_user(
        username, password="x", is_staff=is_staff, is_superuser=is_superuser
    )
    if group is not None:
        user.groups.add(Group.objects.get(name=group))
    for store in stores:
        stock.staff_member_assign(user_id=user.pk, location=store)
    return user


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _send(client: Client, action: Action, world: World) -> Any:
    data = action.data(world) if action.data else {}
    return getattr(client, action.method)(action.url(world), data)


def _allowed(role: str, action: Action) -> bool:
    return all(role in STORE_PAGE_TABLE[name] for name in action.needs)


def test_the_table_covers_every_permission_and_the_store_roles() -> None:
    assert set(STORE_PAGE_TABLE) == set(perm.ALL)
    assert {name for action in ACTIONS for name in action.needs} == set(perm.ALL)
    for role in (roles.STORE_ASSOCIATE, roles.STORE_MANAGER):
        assert set(perm.ALL) <= set(roles.ROLE_PERMISSIONS[role]), role
    for role in (roles.INVENTORY_MANAGER, roles.CUSTOMER_SERVICE, roles.MERCHANDISER):
        assert not set(perm.ALL) & set(roles.ROLE_PERMISSIONS[role]), role


def test_every_store_url_declares_its_permissions() -> None:
    """A new store view cannot slip in without a permission: every URL but login and logout is a
    ``store_view`` with at least one store permission."""
    for pattern in store_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in {"login", "logout"}:
            continue
        declared = getattr(pattern.callback, "store_permissions", ())
        assert declared and set(declared) <= set(perm.ALL), pattern.name


def test_every_store_url_is_tried_by_the_table() -> None:
    names = {p.name for p in store_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names - {"login", "logout"} == {action.url_name for action in ACTIONS}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_may_take_exactly_the_actions_of_its_permissions(
    orders_shop: Shop, role: str, settings: Any
) -> None:
    """Every action in turn, on one store's objects (each action has its own, so the allowed
    ones do not get in each other's way)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    world = world_build(orders_shop)
    client = _client(_member("user", role, orders_shop.amsterdam))
    for action in ACTIONS:
        before = _snapshot()
        response = _send(client, action, world)
        after = _snapshot()
        if _allowed(role, action):
            assert response.status_code in (200, 302), (role, action.name, response.status_code)
            if action.writes:
                assert before != after, f"{role} {action.name}: allowed but nothing happened"
        else:
            assert response.status_code == 403, (role, action.name, response.status_code)
            page = response.content.decode()
            missing = [name for name in action.needs if role not in STORE_PAGE_TABLE[name]]
            assert 'data-testid="forbidden"' in page and all(name in page for name in missing)
            assert before == after, f"{role} {action.name}: refused but something was written"


def test_links_to_actions_the_user_may_not_take_are_hidden(orders_shop: Shop) -> None:
    """A user whose role grants only finding stock sees only that section and no hold form."""
    group = Group.objects.create(name="Stock lookup only")
    group.permissions.add(*Permission.objects.filter(codename="store_view_stock"))
    user = _member("viewer", STAFF_NO_ROLE, orders_shop.amsterdam)
    user.groups.add(group)
    orders_shop.receive(orders_shop.amsterdam, orders_shop.s, 2)
    client = _client(user)
    page = client.get(reverse("store:product", args=[orders_shop.s.product_id])).content.decode()
    assert reverse("store:home") in page
    for hidden in ("store:hold-create", "store:till-sale", "store:pickups", "store:returns"):
        assert reverse(hidden) not in page, hidden
    associate = _client(_member("sam", ASSOCIATE, orders_shop.amsterdam))
    full = associate.get(reverse("store:product", args=[orders_shop.s.product_id])).content.decode()
    for shown in ("store:hold-create", "store:till-sale", "store:pickups", "store:returns"):
        assert reverse(shown) in full, shown


def test_redeeming_at_a_sale_needs_the_redeem_permission(orders_shop: Shop) -> None:
    """Selling without redeeming: the till's points button is refused, the basket keeps none."""
    world = world_build(orders_shop)
    group = Group.objects.create(name="Seller only")
    group.permissions.add(*Permission.objects.filter(codename="store_sell"))
    user = _member("seller", STAFF_NO_ROLE, orders_shop.amsterdam)
    user.groups.add(group)
    client = _client(user)
    till = reverse("store:till-sale")
    client.post(till, {"action": "customer", "customer": world.customer_id})
    refused = client.post(till, {"action": "points", "points": 100})
    assert refused.status_code == 403 and perm.REDEEM in refused.content.decode()
    basket = client.session[f"till-basket:{orders_shop.amsterdam.code}"]
    assert basket["customer"] == world.customer_id and basket["points"] == 0
    assert 'value="points"' not in client.get(till).content.decode()


# --- stores ------------------------------------------------------------------------------------


def _pick(client: Client, fulfillment: Fulfillment) -> Any:
    return client.post(reverse("store:pickup-action", args=[fulfillment.pk]), {"action": "pick"})


def test_an_associate_of_one_store_cannot_touch_another_stores_work(orders_shop: Shop) -> None:
    shop = orders_shop
    shop.receive(shop.utrecht, shop.s, 3)
    pickup = _pickup(shop, shop.utrecht)
    reference = f"walk-in:{shop.utrecht.code}:Jan"
    stock.stock_reserve(
        lines=[StockLine(shop.s.pk, shop.utrecht.pk, 1)], reference=reference, ttl=HOLD_TTL
    )
    hold = StockHold.objects.get(reference=reference)
    shop.receive(shop.warehouse, shop.l, 2)
    transfer = stock.transfer_create(
        source_id=shop.warehouse.pk, destination_id=shop.utrecht.pk, lines={shop.l.pk: 2}
    )
    stock.transfer_ship(transfer_id=transfer.pk)
    client = _client(_member("sam", ASSOCIATE, shop.amsterdam))

    before = _snapshot()
    assert _pick(client, pickup).status_code == 404
    assert client.post(reverse("store:hold-release-one", args=[hold.pk])).status_code == 404
    assert client.post(reverse("store:transfers"), {"transfer": transfer.pk}).status_code == 404
    released = client.post(reverse("store:hold-release"), {"reference": reference})
    assert released.status_code == 302  # "not one of this store's"
    chosen = client.get(reverse("store:home"), {"store": shop.utrecht.code})
    assert chosen.status_code == 403 and "not a member" in chosen.content.decode()
    assert _snapshot() == before


def test_a_store_manager_acts_in_each_of_their_stores_and_not_in_a_third(
    orders_shop: Shop,
) -> None:
    shop = orders_shop
    den_haag: Location = LocationFactory(code="dhg-spui", name="Den Haag")  # type: ignore[assignment]
    shop.channel.locations.add(den_haag)
    for store in (shop.amsterdam, shop.utrecht, den_haag):
        shop.receive(store, shop.s, 2)
    mine = {store.code: _pickup(shop, store) for store in (shop.amsterdam, shop.utrecht)}
    theirs = _pickup(shop, den_haag)
    manager = _member("mila", STORE_MANAGER, shop.amsterdam, shop.utrecht)
    client = _client(manager)

    home = client.get(reverse("store:home")).content.decode()
    assert 'name="store"' in home and shop.utrecht.name in home  # the store choice in the header
    assert _pick(client, mine[shop.amsterdam.code]).status_code == 302  # the first store
    assert client.get(reverse("store:home"), {"store": shop.utrecht.code}).status_code == 200
    assert _pick(client, mine[shop.utrecht.code]).status_code == 302  # kept in the session
    statuses = Fulfillment.objects.filter(pk__in=[f.pk for f in mine.values()])
    assert set(statuses.values_list("status", flat=True)) == {Fulfillment.Status.PICKING}

    before = _snapshot()
    assert _pick(client, theirs).status_code == 404
    refused = client.get(reverse("store:home"), {"store": den_haag.code})
    assert refused.status_code == 403 and "not a member" in refused.content.decode()
    assert _pick(client, theirs).status_code == 404  # still acting for Utrecht
    assert _snapshot() == before

    api = APIClient()
    api.force_login(manager)
    sku = shop.s.sku
    assert api.get(f"/api/v1/stock/{shop.amsterdam.code}/{sku}/").status_code == 200
    assert api.get(f"/api/v1/stock/{shop.utrecht.code}/{sku}/").status_code == 200
    assert api.get(f"/api/v1/stock/{den_haag.code}/{sku}/").status_code == 404


def test_a_membership_without_a_role_or_a_role_without_a_membership_gets_nothing(
    orders_shop: Shop,
) -> None:
    world = world_build(orders_shop)
    homeless = _client(_member("kim", ASSOCIATE))
    no_role = _client(_member("bob", NOT_STAFF_NO_ROLE, orders_shop.amsterdam))
    before = _snapshot()
    refused = _pick(homeless, world.pickup)
    assert refused.status_code == 403 and "not attached to a store" in refused.content.decode()
    assert _pick(no_role, world.pickup).status_code == 403
    assert _snapshot() == before


def test_assigning_a_store_twice_keeps_one_membership_and_other_stores_stay(
    orders_shop: Shop,
) -> None:
    user = _member("mila", STORE_MANAGER, orders_shop.amsterdam, orders_shop.utrecht)
    stock.staff_member_assign(user_id=user.pk, location=orders_shop.amsterdam)
    assert sorted(m.location.code for m in user.store_memberships.all()) == sorted(
        [orders_shop.amsterdam.code, orders_shop.utrecht.code]
    )
    assert stock.staff_member_remove(user_id=user.pk, location=orders_shop.utrecht) == 1
    assert [m.location.code for m in user.store_memberships.all()] == [orders_shop.amsterdam.code]


def test_the_user_admin_edits_memberships_in_a_table(orders_shop: Shop, admin_client: Any) -> None:
    manager = _member("mila", STORE_MANAGER, orders_shop.amsterdam, orders_shop.utrecht)
    listed = admin_client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert f"{orders_shop.amsterdam.code}, {orders_shop.utrecht.code}" in listed
    page = admin_client.get(reverse("admin:auth_user_change", args=[manager.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Store memberships" in text and "tabular" in text
    assert 'name="store_memberships-TOTAL_FORMS" value="3"' in text  # two stores, one blank row


def test_docs_security_shows_exactly_this_table() -> None:
    """``docs/security.md``'s store table says, row by row, what :data:`STORE_PAGE_TABLE`
    (enforced above) says: a change to either without the other fails here."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("| store permission |")]
    assert len(lines) == 1, "docs/security.md has one store permission table"
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    columns = {name: index for index, name in enumerate(header) if name in ROLES}
    assert set(columns) == set(ROLES) - {SUPERUSER}
    documented: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == len(header) and cells[0].startswith("`inventory.store_"):
            allowed = {role for role, index in columns.items() if cells[index] == "yes"}
            refused = {role for role, index in columns.items() if cells[index] == "403"}
            assert allowed | refused == set(columns), f"every cell is yes or 403: {line}"
            documented[cells[0].strip("`")] = frozenset(allowed)
    assert documented == {
        permission: frozenset(who - {SUPERUSER}) for permission, who in STORE_PAGE_TABLE.items()
    }
