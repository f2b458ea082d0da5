"""A mixed order history built through the real services, for the rollup tests (and, later, the
dashboard and report page tests): ship and pickup orders on a EUR webshop and a USD app channel
(whose prices exclude tax), a till sale, a line lost in picking, a cancelled order and that
customer's next order, deliveries and pickups, returns with reasons, refunds (with shipping)
and an exchange, over three days and three locations.

Days: the services stamp ``placed_at``, ``received_at`` and ``created_at`` with
``django.utils.timezone.now()``. ``Clock`` replaces that function while the history is built
(``unittest.mock.patch``), so every row and every change event is written by the services
themselves on the day the clock says; nothing is edited after the fact (an edit would record no
event). There is no time-freezing library among the dev dependencies, hence the small clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

from catalog import services as catalog_services
from catalog.models import Variant
from core.models import Channel
from customers.models import Customer
from orders import services
from orders.models import Fulfillment, Order
from orders.services.refunds import RefundLineInput
from orders.services.returns import ReturnLineInput
from orders.services.sales import PaymentInput
from tests.factories import ChannelFactory
from tests.shop import Shop
from tests.till import pos_channel_add

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """What ``timezone.now()`` answers while ``running()``; ``advance`` moves it on."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def next_day(self, hour: int = 9) -> datetime:
        self.now = (self.now + timedelta(days=1)).replace(hour=hour, minute=0, second=0)
        return self.now

    @contextmanager
    def running(self) -> Iterator[Clock]:
        with mock.patch("django.utils.timezone.now", side_effect=lambda: self.now):
            yield self


@dataclass
class History:
    shop: Shop
    pos: Channel
    app: Channel
    orders: dict[str, Order] = field(default_factory=dict)


def _ship(code: str, skus: dict[str, int], *, email: str = "", shipping: str = "0") -> Order:
    return services.order_place(
        channel_code=code,
        lines=[services.LineInput(sku, qty) for sku, qty in skus.items()],
        method="ship",
        address={"country": "NL"},
        customer=services.CustomerInput(email=email) if email else None,
        shipping_total=Decimal(shipping),
        payment_status="captured",
    ).order


def _pickup(code: str, store: str, skus: dict[str, int], *, email: str = "") -> Order:
    return services.order_place(
        channel_code=code,
        lines=[services.LineInput(sku, qty) for sku, qty in skus.items()],
        method="pickup",
        pickup_location_code=store,
        customer=services.CustomerInput(email=email) if email else None,
        payment_status="captured",
    ).order


def _fulfilments(order: Order) -> list[Fulfillment]:
    return list(order.fulfillments.order_by("id"))


def _ship_all(order: Order, *, deliver: bool) -> None:
    for f in _fulfilments(order):
        services.fulfillment_ship(fulfillment_id=f.pk, carrier="UPS", tracking_number=f"T{f.pk}")
        if deliver:
            services.fulfillment_deliver(fulfillment_id=f.pk)


def _collect(order: Order, clock: Clock, *, hand_over: bool = True) -> None:
    for f in _fulfilments(order):
        services.fulfillment_pick(fulfillment_id=f.pk)
        clock.advance(minutes=40)
        _f, code = services.fulfillment_ready_for_pickup(fulfillment_id=f.pk)
        if hand_over:
            clock.advance(hours=3)
            services.fulfillment_hand_over(fulfillment_id=f.pk, code=code)


def app_channel_add(shop: Shop, *, code: str = "app", currency: str = "USD") -> Channel:
    """A second online channel in another currency, selling the tee from the warehouse and
    Amsterdam at 24.50 with tax added on top (its prices exclude tax, unlike the webshop's)."""
    app: Channel = ChannelFactory(  # type: ignore[assignment]
        code=code, currency=currency, prices_include_tax=False
    )
    app.locations.set([shop.warehouse, shop.amsterdam])
    for variant in (shop.s, shop.m, shop.l):
        catalog_services.price_set(
            variant_id=variant.pk, channel_code=code, amount=Decimal("24.50")
        )
    catalog_services.product_publish(product_ids=[shop.s.product_id], channel_code=code)
    return app


def history_build(shop: Shop, *, step: Callable[[], object] = lambda: None) -> History:
    """Build the history; ``step()`` runs after each change (the tests pass ``rollups_update``
    so that each change is applied as a difference on top of the previous one)."""
    Variant.objects.filter(pk=shop.s.pk).update(cost_price=Decimal("6.00"))
    Variant.objects.filter(pk=shop.m.pk).update(cost_price=Decimal("6.50"))  # l: cost unknown
    clock = Clock()
    with clock.running():
        pos = pos_channel_add(shop)
        app = app_channel_add(shop)
        h = History(shop=shop, pos=pos, app=app)
        for location in (shop.warehouse, shop.amsterdam, shop.utrecht):
            for variant in (shop.s, shop.m, shop.l):
                shop.receive(location, variant, 20)
        step()
        # day 1: a shipped order (delivered), a pickup collected, an app order, a guest order
        o = h.orders
        o["ship1"] = _ship(
            "webshop", {"ORGANIC-TEE-S": 2, "ORGANIC-TEE-M": 1}, email="ann@x.nl", shipping="4.95"
        )
        step()
        clock.advance(hours=1)
        _ship_all(o["ship1"], deliver=True)
        step()
        o["pick1"] = _pickup("webshop", "utr-oudegracht", {"ORGANIC-TEE-L": 1}, email="bob@x.nl")
        step()
        _collect(o["pick1"], clock)
        step()
        o["app1"] = _ship("app", {"ORGANIC-TEE-M": 3}, email="ann@x.nl", shipping="5.00")
        step()
        o["guest"] = _ship("webshop", {"ORGANIC-TEE-S": 1})
        step()
        o["cancel"] = _ship("webshop", {"ORGANIC-TEE-L": 2}, email="cid@x.nl")
        step()
        services.order_cancel(order_id=o["cancel"].pk, reason="changed mind")
        step()
        # a till sale at Amsterdam
        sale = services.sale_record(
            channel_code="pos",
            location_code="ams-central",
            lines=[services.LineInput("ORGANIC-TEE-S", 1)],
            payments=[PaymentInput(tender="cash", amount=Decimal("50.00"))],
            sale_key="till-1",
        )
        o["till"] = sale.order if hasattr(sale, "order") else sale  # type: ignore[assignment]
        step()

        # day 2: returns and refunds of day 1, a pickup left uncollected, a partial loss
        clock.next_day()
        ret = services.return_create(
            order_id=o["ship1"].pk,
            lines=[ReturnLineInput("ORGANIC-TEE-S", 1, reason="too small")],
            location_code="ams-central",
            reason="fit",
        )
        step()
        clock.advance(hours=2)
        services.return_receive(
            return_id=ret.pk, dispositions={line.pk: "restock" for line in ret.lines.all()}
        )
        step()
        services.refund_create(
            order_id=o["ship1"].pk,
            key="r1",
            lines=[RefundLineInput("ORGANIC-TEE-S", 1)],
            shipping_amount=Decimal("4.95"),
            return_id=ret.pk,
        )
        step()
        _ship_all(o["app1"], deliver=False)
        step()
        services.refund_create(
            order_id=o["app1"].pk, key="r2", lines=[RefundLineInput("ORGANIC-TEE-M", 1)]
        )
        step()
        o["pick2"] = _pickup(
            "app", "ams-central", {"ORGANIC-TEE-S": 1, "ORGANIC-TEE-L": 1}, email="dan@x.nl"
        )
        step()
        _collect(o["pick2"], clock, hand_over=False)
        step()
        o["lost"] = _ship("webshop", {"ORGANIC-TEE-M": 2, "ORGANIC-TEE-L": 1}, email="bob@x.nl")
        step()
        # cid's first order was cancelled: this one is cid's first (new customer) order
        o["cid2"] = _ship("webshop", {"ORGANIC-TEE-S": 1}, email="cid@x.nl")
        step()

        # day 3: an exchange in store, a return without a line reason, more sales
        clock.next_day()
        _ex_return, o["exchange"] = services.exchange_create(
            order_id=o["pick1"].pk,
            return_sku="ORGANIC-TEE-L",
            new_sku="ORGANIC-TEE-M",
            quantity=1,
            location_code="utr-oudegracht",
            method="carry_out",
            disposition="restock",
        )
        step()
        ret2 = services.return_create(
            order_id=o["app1"].pk,
            lines=[ReturnLineInput("ORGANIC-TEE-M", 1)],
            location_code="wh-rotterdam",
            reason="damaged in transit",
        )
        step()
        services.return_receive(
            return_id=ret2.pk, dispositions={line.pk: "damaged" for line in ret2.lines.all()}
        )
        step()
        o["late"] = _pickup("webshop", "ams-central", {"ORGANIC-TEE-M": 1}, email="ann@x.nl")
        step()
        _collect(o["late"], clock)
        step()
        for key, order in o.items():
            o[key] = Order.objects.get(pk=order.pk)
    return h


def customers() -> list[Customer]:
    return list(Customer.objects.order_by("id"))
