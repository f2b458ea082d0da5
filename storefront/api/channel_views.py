"""Products as a channel shows them, as JSON-ready dicts, with their content from a shared cache.

``/api/v1/products/`` (and ``/products/{id}/``) answer from three parts:

- the **listing** of each product on the channel (the page of publications: product id, approval
  time, publication times and the channel's title rule), read on every request;
- the **content**, everything the approved snapshot gives once the channel's title rule is
  applied (titles, description, category, attributes, images, variants without price or
  stock). It is a pure function of the snapshot, the channel code, the channel's title rule and
  the request's scheme and host (image URLs are absolute), so it is kept in Django's default
  cache (Redis in production, shared by every process) under a key that hashes all of them
  with the approval time (``approved_at``, new at every approval) and the publication's
  ``updated_at`` (moved by approval, price change and publication). A new approval, a changed
  title rule or channel content (it reaches the channel through approval) therefore reads under
  a new key: nothing is invalidated, nothing stale can be found. Entries expire after
  ``STOREFRONT_VIEW_CACHE_SECONDS`` (an hour by default) to bound memory;
- **price and available-to-sell** of every variant on the page, read on every request in one
  query: prices switch at a promotion's start and end without any write, and stock moves all
  the time, so neither is ever cached;
- the **sale price** of a running product-level promotion, with its dates, from
  ``orders.pricing.display_prices`` given the prices just read: the channel's running
  promotions are loaded once per request (one query; six more when a sale promotion runs), so a
  promotion saved, started or ended shows at the next request, and nothing about it is cached.

A warm page is the listing query, one cache ``get_many``, the price/availability query and the
promotions query; each
cache miss adds one query for the page's missing snapshots (all of them together). When the cache
is unreachable the content is built from the database for every request; nothing is kept in
process memory.

The dicts match ``ChannelProductSerializer`` exactly (the OpenAPI schema still comes from it):
content is rendered by that serializer when it is built, and the per-request fields (price,
available, published_at, updated_at) by the same DRF field classes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request

from catalog import selectors as catalog_selectors
from catalog.completeness import ChannelInfo
from catalog.models import Price, ProductPublication, Variant
from catalog.selectors import VariantPrice
from core.models import Channel
from inventory import selectors as inventory_selectors
from inventory.models import Location, StockHold, StockLevel
from orders.pricing import DisplayPrice, display_prices
from storefront.api.serializers import ChannelProductSerializer

logger = logging.getLogger("omnihub.storefront.channel_views")

FORMAT = 2  # bump when the cached content's shape changes (2: media of every kind)
DEFAULT_TITLE_MAX_LENGTH = 150  # a channel without a content rule (as catalog.completeness)
_money = serializers.DecimalField(max_digits=12, decimal_places=2)
_datetime = serializers.DateTimeField()


def ttl_seconds() -> int:
    return int(getattr(settings, "STOREFRONT_VIEW_CACHE_SECONDS", 3600))


@dataclass(frozen=True)
class Listing:
    """One live publication of a product on a channel, with the channel's title rule."""

    product_id: int
    approved_at: datetime
    published_at: datetime | None
    updated_at: datetime | None
    title_template: str
    title_max_length: int


LISTING_FIELDS = {
    "approved_at": F("product__approved_at"),
    "title_template": F("channel__content_rule__title_template"),
    "title_max_length": F("channel__content_rule__title_max_length"),
}


def listing_rows(publications: QuerySet[ProductPublication]) -> QuerySet[Any]:
    """``publications`` as plain rows with what :func:`listing` needs (and ``id``/``updated_at``
    for the cursor): no snapshot is read."""
    return publications.values("id", "product_id", "published_at", "updated_at", **LISTING_FIELDS)  # type: ignore[arg-type]


def listing(row: dict[str, Any]) -> Listing:
    return Listing(
        product_id=row["product_id"],
        approved_at=row["approved_at"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        title_template=row["title_template"] or "",
        title_max_length=row["title_max_length"] or DEFAULT_TITLE_MAX_LENGTH,
    )


def _key(channel_code: str, item: Listing, origin: str, languages: Sequence[str] = ()) -> str:
    parts = [
        channel_code,
        ",".join(languages),  # the fallback chain the texts were picked with
        item.title_template,
        str(item.title_max_length),
        origin,
        item.approved_at.isoformat(),
        item.updated_at.isoformat() if item.updated_at else "",
    ]
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
    return f"storefront-view:v{FORMAT}:{item.product_id}:{digest}"


def _cache_get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return dict(cache.get_many(keys))
    except Exception:
        logger.warning("storefront view cache unreachable on read", exc_info=True)
        return {}


def _cache_set_many(entries: dict[str, Any]) -> None:
    try:
        cache.set_many(entries, ttl_seconds())
    except Exception:
        logger.warning("storefront view cache unreachable on write", exc_info=True)


def _content(view: Any, request: Request) -> dict[str, Any]:
    """The serializer's rendering of a price-less view, as plain JSON types."""
    data = ChannelProductSerializer(view, context={"request": request, "available": {}}).data
    return dict(json.loads(json.dumps(data)))


def price_and_available(
    *, channel: Channel, variant_ids: Sequence[int], at: datetime | None = None
) -> dict[int, tuple[Decimal | None, Decimal | None, int]]:
    """``{variant_id: (amount, compare_at, available)}`` on ``channel`` at ``at`` (now).

    The price is the channel's current one in its currency, a running promotion winning over
    the base price (the latest-starting one if several run: the rule of
    ``catalog.selectors.variant_prices``); None when there is none. ``available`` is what the
    channel may promise: over its active locations the sum of ``max(on hand - committed -
    unexpired active holds - safety stock, 0)``, then the channel's buffer (the rule of
    ``inventory.selectors.availability_for_variants``). One SQL statement, written out because
    the ORM's form of it (a correlated aggregate per variant) costs several times more to
    compile and to run; it is the same on PostgreSQL and SQLite.
    """
    ids = list(dict.fromkeys(variant_ids))
    if not ids:
        return {}
    moment = connection.ops.adapt_datetimefield_value(at or timezone.now())
    location_ids = [loc.pk for loc in channel.locations.all() if loc.is_active] or [0]
    # PostgreSQL takes the ids as arrays; SQLite as lists of placeholders.
    want_params: list[Any]
    location_params: list[Any]
    if connection.vendor == "postgresql":
        want, want_params = "SELECT id FROM unnest(%s::bigint[]) AS t(id)", [ids]
        at_locations, location_params = "= ANY(%s)", [location_ids]
        greatest = "GREATEST"
    else:
        marks = ", ".join(["%s"] * len(ids))
        want, want_params = f"SELECT id FROM {Variant._meta.db_table} WHERE id IN ({marks})", ids
        at_locations = f"IN ({', '.join(['%s'] * len(location_ids))})"
        location_params, greatest = location_ids, "MAX"
    sql = f"""
        WITH want AS ({want}),
        levels AS (
            SELECT s.id, s.variant_id, s.on_hand - s.committed - s.safety_stock AS units
            FROM {StockLevel._meta.db_table} s
            JOIN want ON want.id = s.variant_id
            JOIN {Location._meta.db_table} l ON l.id = s.location_id
            WHERE l.is_active AND s.location_id {at_locations}
        ),
        held AS (
            SELECT h.stock_id, SUM(h.quantity) AS quantity
            FROM {StockHold._meta.db_table} h
            JOIN levels ON levels.id = h.stock_id
            WHERE h.status = %s AND h.expires_at > %s
            GROUP BY h.stock_id
        ),
        free AS (
            SELECT levels.variant_id,
                   SUM({greatest}(levels.units - COALESCE(held.quantity, 0), 0)) AS units
            FROM levels LEFT JOIN held ON held.stock_id = levels.id
            GROUP BY levels.variant_id
        )
        SELECT want.id, pr.amount, pr.compare_at_amount, free.units
        FROM want
        LEFT JOIN free ON free.variant_id = want.id
        LEFT JOIN {Price._meta.db_table} pr ON pr.id = (
            SELECT p.id FROM {Price._meta.db_table} p
            WHERE p.variant_id = want.id AND p.channel_id = %s AND p.currency = %s
              AND (p.starts_at IS NULL OR p.starts_at <= %s)
              AND (p.ends_at IS NULL OR p.ends_at > %s)
            ORDER BY CASE WHEN p.starts_at IS NULL THEN 1 ELSE 0 END, p.starts_at DESC, p.id DESC
            LIMIT 1
        )"""
    params = [
        *want_params,
        *location_params,
        StockHold.Status.ACTIVE,
        moment,
        channel.pk,
        channel.currency,
        moment,
        moment,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    buffer = inventory_selectors.channel_buffer(channel)
    return {
        variant_id: (
            _decimal(amount),
            _decimal(compare_at),
            inventory_selectors.apply_buffer(int(free or 0), buffer),
        )
        for variant_id, amount, compare_at, free in rows
    }


_CENT = Decimal("0.01")


def _money_text(value: Decimal) -> str:
    """As ``DecimalField(max_digits=12, decimal_places=2)`` renders it: the money columns have
    two decimal places, so only values with another exponent go through DRF's field."""
    if value.as_tuple().exponent == -2:
        return f"{value:f}"
    return str(_money.to_representation(value))


def _decimal(value: Any) -> Decimal | None:
    """A money column as Django reads it (SQLite returns numbers, PostgreSQL decimals)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(_CENT)


def channel_display_prices(
    *,
    channel: Channel,
    offers: dict[int, tuple[Decimal | None, Decimal | None, int]],
    at: datetime,
) -> dict[int, DisplayPrice]:
    """The prices of the page as ``orders.pricing.display_prices`` shows them, from the prices
    :func:`price_and_available` already read: the running promotions are loaded once for the
    page (one query; four more and two for the page's products and categories when a sale
    runs), whatever the number of products."""
    prices = {
        variant_id: VariantPrice(
            variant_id=variant_id,
            sku="",
            amount=amount,
            compare_at=compare_at,
            currency=channel.currency,
        )
        for variant_id, (amount, compare_at, _available) in offers.items()
        if amount is not None
    }
    if not prices:
        return {}
    return display_prices(
        channel=channel, variant_ids=list(prices), at=at, prices=prices, tax=False
    )


def price_dict(display: DisplayPrice, *, channel: Channel) -> dict[str, Any]:
    """A variant's ``price`` object (``MoneySerializer``) from its display price."""
    to_datetime = _datetime.to_representation
    return {
        "amount": _money_text(display.price),
        "compare_at_amount": None
        if display.compare_at is None
        else _money_text(display.compare_at),
        "currency": display.currency,
        "sale_amount": None if display.sale_price is None else _money_text(display.sale_price),
        "sale_starts_at": None
        if display.sale_starts_at is None
        else to_datetime(display.sale_starts_at),
        "sale_ends_at": None if display.sale_ends_at is None else to_datetime(display.sale_ends_at),
        "includes_tax": channel.prices_include_tax,
    }


def product_dicts(
    *,
    request: Request,
    channel: Channel,
    listings: Sequence[Listing],
    at: datetime | None = None,
    languages: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The channel view of each listed product, in order, as ``ChannelProductSerializer``
    renders it. A listing whose product is no longer approved is left out. ``languages``: the
    fallback chain of ``?locale=`` (``catalog.locales.locale_resolve``); each chain is cached
    apart."""
    if not listings:
        return []
    origin = request.build_absolute_uri("/")
    keys = {item.product_id: _key(channel.code, item, origin, languages) for item in listings}
    contents = _cache_get_many(list(keys.values()))
    missing = [item for item in listings if keys[item.product_id] not in contents]
    if missing:
        first = missing[0]
        info = ChannelInfo(
            id=channel.pk,
            code=channel.code,
            currency=channel.currency,
            title_template=first.title_template,
            title_max_length=first.title_max_length,
        )
        views = catalog_selectors.approved_views(
            channel=info, product_ids=[item.product_id for item in missing], languages=languages
        )
        fresh = {}
        for item in missing:
            view = views.get(item.product_id)
            if view is None:
                continue
            content = _content(view, request)
            contents[keys[item.product_id]] = content
            if view.version == item.approved_at:  # not approved again since the listing was read
                fresh[keys[item.product_id]] = content
        if fresh:
            _cache_set_many(fresh)
    shown = [
        (item, contents[keys[item.product_id]])
        for item in listings
        if keys[item.product_id] in contents
    ]
    at = at or timezone.now()
    offers = price_and_available(
        channel=channel,
        variant_ids=[variant["id"] for _item, content in shown for variant in content["variants"]],
        at=at,
    )
    shown_prices = channel_display_prices(channel=channel, offers=offers, at=at)
    to_datetime = _datetime.to_representation
    results = []
    for item, content in shown:
        variants = []
        for variant in content["variants"]:
            _amount, _compare_at, available = offers.get(variant["id"], (None, None, 0))
            display = shown_prices.get(variant["id"])
            price = None if display is None else price_dict(display, channel=channel)
            variants.append({**variant, "price": price, "available": available})
        product = dict(content)
        product["variants"] = variants
        product["published_at"] = (
            None if item.published_at is None else to_datetime(item.published_at)
        )
        product["updated_at"] = None if item.updated_at is None else to_datetime(item.updated_at)
        results.append(product)
    return results
