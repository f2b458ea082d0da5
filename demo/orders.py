"""Demo orders: a click & collect order ready at the counter, a split ship order part shipped,
and a returned online order with its refund. Idempotent by external id (safe to run again).

Each placement is its own durable transaction, so this step runs outside the demo's wrapper.
"""

from __future__ import annotations

from decimal import Decimal

from catalog.models import Variant
from catalog.selectors import channel_variant_offers
from core.actors import Actor
from inventory.selectors import availability_for_variants, location_list
from orders import services
from orders.models import Order

DEMO = Actor.system("demo")


def _sellable_skus(channel_code: str, limit: int = 400) -> list[tuple[int, str]]:
    skus = list(Variant.objects.order_by("pk").values_list("sku", flat=True)[:limit])
    offers = channel_variant_offers(channel_code=channel_code, skus=skus)
    return [(o.variant_id, sku) for sku, o in offers.items() if o.sellable]


def seed_orders() -> None:
    if Order.objects.filter(external_id__startswith="demo-").exists():
        return
    sellable = _sellable_skus("webshop")
    if not sellable:
        return
    availability = availability_for_variants(variant_ids=[v for v, _ in sellable])
    store = location_list().filter(offers_pickup=True).order_by("code").first()
    customer = services.CustomerInput(
        email="anna.devries@example.com", name="Anna de Vries", phone="+31612345001"
    )

    # click & collect: two SKUs the store has, made ready for pickup
    if store is not None:
        here = [sku for v, sku in sellable if availability[v].by_location.get(store.pk, 0) >= 2]
        if len(here) >= 2:
            pickup = services.order_place(
                channel_code="webshop",
                external_id="demo-web-pickup",
                lines=[services.LineInput(here[0], 1), services.LineInput(here[1], 1)],
                method="pickup",
                pickup_location_code=store.code,
                customer=customer,
                actor=DEMO,
            ).order
            for fulfillment in pickup.fulfillments.all():
                services.fulfillment_pick(fulfillment_id=fulfillment.pk, actor=DEMO)
                services.fulfillment_ready_for_pickup(fulfillment_id=fulfillment.pk, actor=DEMO)

    # ship: enough lines that the sourcing splits when one location lacks some; one part shipped
    lines = [services.LineInput(sku, 2) for v, sku in sellable if availability[v].total >= 10][:3]
    if lines:
        ship = services.order_place(
            channel_code="webshop",
            external_id="demo-web-ship",
            lines=lines,
            method="ship",
            address={"country": "NL", "city": "Utrecht", "latitude": 52.09, "longitude": 5.12},
            customer=services.CustomerInput(email="bram.jansen@example.com", name="Bram Jansen"),
            shipping_total=Decimal("4.95"),
            payment_status="captured",
            actor=DEMO,
        ).order
        first = ship.fulfillments.order_by("id").first()
        assert first is not None
        services.fulfillment_ship(
            fulfillment_id=first.pk, carrier="PostNL", tracking_number="3SDEMO0001", actor=DEMO
        )

    # returned in store: shipped, delivered, one unit back at the store, refunded
    if lines and store is not None:
        returned = services.order_place(
            channel_code="webshop",
            external_id="demo-web-return",
            lines=lines[:1],
            method="ship",
            address={"country": "NL", "city": "Amsterdam"},
            customer=customer,
            shipping_total=Decimal("4.95"),
            payment_status="captured",
            actor=DEMO,
        ).order
        for fulfillment in returned.fulfillments.all():
            services.fulfillment_ship(
                fulfillment_id=fulfillment.pk,
                carrier="DHL",
                tracking_number=f"JDDEMO{fulfillment.pk}",
                actor=DEMO,
            )
            services.fulfillment_deliver(fulfillment_id=fulfillment.pk, actor=DEMO)
        rma = services.return_create(
            order_id=returned.pk,
            location_code=store.code,
            lines=[services.ReturnLineInput(lines[0].sku, 1, "too small")],
            reason="too small",
            actor=DEMO,
        )
        services.return_receive(
            return_id=rma.pk,
            dispositions={line.pk: "restock" for line in rma.lines.all()},
            actor=DEMO,
        )
        services.refund_create(
            order_id=returned.pk,
            key=f"demo:{rma.rma}",
            lines=[services.RefundLineInput(lines[0].sku, 1)],
            return_id=rma.pk,
            actor=DEMO,
        )
