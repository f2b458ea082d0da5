"""The POS change feed tests' world: a store channel with its key, and helpers to read the feed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog import services as catalog
from channels import pos as pos_feed
from core.models import Channel
from core.outbox.services import event_positions_assign
from inventory.models import Location
from tests.factories import ChannelFactory, LocationFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

POS_SCOPES = ["catalog:read", "stock:read"]


@dataclass
class Pos:
    shop: Shop
    nl: Channel  # POS of the Amsterdam and Utrecht stores
    be: Channel  # another partner's POS, Antwerp
    antwerp: Location
    client: APIClient  # a key for ``nl`` only, with the POS scopes
    start: int  # the latest position once everything is set up


def latest_position() -> int:
    """The head of the feed once every committed event is positioned (on commit the relay does it;
    these tests run inside one transaction, so nothing commits)."""
    event_positions_assign()
    return pos_feed.latest_position()


def _publish(channel: Channel, product_id: int, variants: list[Any], amount: str) -> None:
    for variant in variants:
        catalog.price_set(variant_id=variant.pk, channel_code=channel.code, amount=Decimal(amount))
    catalog.completeness_refresh(product_ids=[product_id])
    catalog.product_publish(product_ids=[product_id], channel_code=channel.code)


@pytest.fixture
def pos(shop: Shop, api_client_for: Any) -> Pos:
    nl: Channel = ChannelFactory(code="pos-nl", kind=Channel.Kind.POS)  # type: ignore[assignment]
    nl.locations.set([shop.amsterdam, shop.utrecht])
    antwerp: Location = LocationFactory(code="ant-meir")  # type: ignore[assignment]
    be: Channel = ChannelFactory(code="pos-be", kind=Channel.Kind.POS)  # type: ignore[assignment]
    be.locations.set([antwerp])
    variants = [shop.s, shop.m, shop.l]
    _publish(nl, shop.s.product_id, variants, "17.50")
    _publish(be, shop.s.product_id, variants, "18.00")
    client = api_client_for(scopes=POS_SCOPES, channels=[nl])
    return Pos(shop, nl, be, antwerp, client, latest_position())


def _changes(client: APIClient, channel: str = "pos-nl", **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/pos/{channel}/changes/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def _summary(changes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c["type"], c["object"]["type"], c["object"]["id"]) for c in changes]


# --- reading changes -------------------------------------------------------------------------
