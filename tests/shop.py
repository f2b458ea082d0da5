"""The shop most order tests start from: a channel with a warehouse and two stores, a published
tee in three sizes at 19.99, and helpers to put stock on the shelves through inventory services.
Tests get it as the ``shop`` fixture (registered in ``tests/conftest.py``) or from
``shop_build()``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from catalog import services as catalog_services
from catalog.models import Variant
from core.models import Channel
from inventory import services as inventory_services
from inventory.models import Location, StockLevel
from inventory.services import StockLine
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, LocationFactory


@dataclass
class Shop:
    channel: Channel
    warehouse: Location
    amsterdam: Location
    utrecht: Location
    s: Variant
    m: Variant
    l: Variant  # noqa: E741

    def receive(self, location: Location, variant: Variant, quantity: int) -> None:
        inventory_services.stock_receive(
            lines=[StockLine(variant.pk, location.pk, quantity)], reference="PO-TEST"
        )

    def level(self, location: Location, variant: Variant) -> tuple[int, int]:
        """(on hand, committed) at a location."""
        row = StockLevel.objects.filter(location=location, variant=variant).first()
        return (row.on_hand, row.committed) if row else (0, 0)


def shop_build() -> Shop:
    """Create the shop (needs database access)."""
    channel: Channel = ChannelFactory(code="webshop", currency="EUR")  # type: ignore[assignment]
    warehouse: Location = LocationFactory(  # type: ignore[assignment]
        code="wh-rotterdam",
        name="Rotterdam DC",
        kind=Location.Kind.WAREHOUSE,
        ships_orders=True,
        offers_pickup=False,
        sourcing_priority=10,
        latitude=Decimal("51.92"),
        longitude=Decimal("4.48"),
    )
    amsterdam: Location = LocationFactory(  # type: ignore[assignment]
        code="ams-central",
        name="Amsterdam Central",
        ships_orders=True,
        offers_pickup=True,
        sourcing_priority=50,
        pickup_preparation_minutes=60,
        pickup_hold_days=3,
    )
    utrecht: Location = LocationFactory(  # type: ignore[assignment]
        code="utr-oudegracht",
        name="Utrecht",
        ships_orders=False,
        offers_pickup=True,
        latitude=Decimal("52.09"),
        longitude=Decimal("5.12"),
    )
    channel.locations.set([warehouse, amsterdam, utrecht])
    product = complete_product(channel, sizes=("s", "m", "l"), price="19.99")
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code=channel.code)
    variants = {v.sku: v for v in product.variants.all()}
    return Shop(
        channel=channel,
        warehouse=warehouse,
        amsterdam=amsterdam,
        utrecht=utrecht,
        s=variants["ORGANIC-TEE-S"],
        m=variants["ORGANIC-TEE-M"],
        l=variants["ORGANIC-TEE-L"],
    )


@pytest.fixture
def shop(db: Any) -> Shop:
    return shop_build()
