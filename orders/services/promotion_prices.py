"""Telling the channels that a promotion moved their sale prices.

A product-level promotion (percent or amount off, no coupon, anyone) changes the sale price that
``orders.pricing.display_prices`` gives with no write to any price: when it starts, when it ends,
and when it is saved with other values, targets or channels. The periodic task
``orders.promotions_announce`` (every minute) records ``price.changed`` (through
``catalog.services.price_changed_record``, the outbox event every price change records) for each
product the promotion reaches on each of its channels, which moves the publication's
``updated_at`` (partners syncing with ``updated_since`` see it), marks the feed items stale, and
reaches the POS change feed, whose price payload carries the sale price and its dates.

Dated price overrides are announced by ``catalog.services.promotions_announce`` (the catalog
cannot see promotions, which live above it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from orders.models.promotions import Promotion
from orders.promotions import SALE_KINDS

Reach = set[tuple[int, str]]


def promotion_reach(promotion: Promotion) -> Reach:
    """``{(product id, channel code)}``: the products published on the promotion's channels that
    its target covers (every product for "all", the subcategories' products for a category).
    One query per channel (prefetch the promotion's channels and targets)."""
    target = promotion.target
    covered = Q()
    if target == Promotion.Target.PRODUCTS:
        covered = Q(product_id__in=[p.pk for p in promotion.products.all()])
    elif target == Promotion.Target.VARIANTS:
        covered = Q(product__variants__in=[v.pk for v in promotion.variants.all()])
    elif target == Promotion.Target.CATEGORIES:
        paths = [c.path for c in promotion.categories.all()]
        covered = Q(pk__in=[])
        for path in paths:
            covered |= Q(product__category__path__startswith=path)
    reach: Reach = set()
    for channel in promotion.channels.all():
        product_ids = (
            catalog_selectors.published_product_list(channel_code=channel.code)
            .filter(covered)
            .values_list("product_id", flat=True)
            .distinct()
        )
        reach.update((product_id, channel.code) for product_id in product_ids)
    return reach


def _announce(promotions: Iterable[Promotion]) -> int:
    pairs: Reach = set()
    for promotion in promotions:
        pairs |= promotion_reach(promotion)
    with transaction.atomic():
        for product_id, channel_code in sorted(pairs):
            catalog_services.price_changed_record(product_id=product_id, channel_code=channel_code)
    return len(pairs)


def _with_targets(queryset: QuerySet[Promotion]) -> list[Promotion]:
    return list(queryset.prefetch_related("channels", "products", "variants", "categories"))


def promotion_prices_announce(*, since: datetime, until: datetime) -> int:
    """Record ``price.changed`` for every (product, channel) reached by a promotion that makes
    sale prices and started or ended in ``(since, until]``, or by any promotion saved in that
    window (its sale may have begun or stopped with the save). Returns how many pairs were
    announced. Overlapping windows are harmless: channels keep only the newest price."""
    started_or_ended = Q(starts_at__gt=since, starts_at__lte=until) | Q(
        ends_at__gt=since, ends_at__lte=until
    )
    makes_sales = Q(
        kind__in=SALE_KINDS,
        requires_coupon=False,
        customer_scope=Promotion.CustomerScope.ANYONE,
    )
    saved = Q(updated_at__gt=since, updated_at__lte=until)
    promotions = Promotion.objects.filter((started_or_ended & makes_sales) | saved)
    return _announce(_with_targets(promotions))


def promotion_announce(*, promotion_id: int) -> int:
    """Record ``price.changed`` for every (product, channel) the promotion reaches now, at
    once (a save that should not wait for the periodic task). Returns how many pairs."""
    return _announce(_with_targets(Promotion.objects.filter(pk=promotion_id)))
