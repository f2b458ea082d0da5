from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group

from catalog import services as catalog
from inventory import services as stock
from inventory.services import StockLine
from tests.catalog.factories import apparel_type
from tests.factories import STORE_PASSWORD, LocationFactory, UserFactory
from tests.shop import Shop, shop_build

PASSWORD = STORE_PASSWORD


@pytest.fixture
def shop(db: Any) -> dict[str, Any]:
    """Two stores 3 km apart and a warehouse; a t-shirt in sizes S/M and colours navy/white;
    an associate who is a member of the centre store."""
    centre = LocationFactory(
        code="st-centre", name="Centre", latitude=Decimal("52.3700"), longitude=Decimal("4.8900")
    )
    zuid = LocationFactory(
        code="st-zuid", name="Zuid", latitude=Decimal("52.3440"), longitude=Decimal("4.8750")
    )
    warehouse = LocationFactory(code="wh", name="Warehouse", kind="warehouse", offers_pickup=False)
    product = catalog.product_create(
        handle="harbour-tee", name="Harbour Tee", brand="Noordkust", product_type=apparel_type()
    )
    variants = {}
    for size in ("s", "m"):
        for color in ("navy", "white"):
            sku = f"HARBOUR-{size.upper()}-{color.upper()}"
            variants[sku] = catalog.variant_save(
                product=product, sku=sku, options={"size": size, "color": color}
            )
    stock.stock_receive(
        lines=[
            StockLine(variants["HARBOUR-S-NAVY"].pk, centre.pk, 3),
            StockLine(variants["HARBOUR-M-NAVY"].pk, zuid.pk, 2),
            StockLine(variants["HARBOUR-M-WHITE"].pk, warehouse.pk, 7),
        ],
        reference="PO-1",
    )
    associate = UserFactory(username="sam", password=PASSWORD, is_staff=False)
    associate.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=associate.pk, location=centre)
    return {
        "centre": centre,
        "zuid": zuid,
        "warehouse": warehouse,
        "product": product,
        "variants": variants,
        "associate": associate,
    }


@pytest.fixture
def orders_shop(db: Any) -> Shop:
    """The orders tests' shop: a webshop selling a published tee from a warehouse and two stores."""
    return shop_build()
