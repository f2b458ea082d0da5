"""The product page's prices-and-stock grid: one row per variant, a column per channel price
(the channels the product is published on or has base prices in, in each price's currency) and
one per active location's stock on hand.

It lives in inventory because it writes both domains and the catalog may not import inventory;
``config/wiring.py`` registers :func:`variant_grid_view` with ``catalog.admin_variants``, which
serves it at ``/admin/catalog/product/<id>/grid/``. Prices are saved by
``catalog.services.price_set`` (in effect at once, with history and audit; one ``price.changed``
per channel per save), stock by :func:`inventory.services.stock_count` (a ``count`` movement in
the ledger with the reason given, made by the user). A save is all or nothing: every bad cell is
reported on its cell, and one refusal leaves every cell as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import Price, Product, ProductPublication
from core.actors import Actor
from core.errors import DomainError
from core.models import Channel
from inventory import selectors, services
from inventory.models import StockLevel

PRICE_PERMISSION = "catalog.change_price"  # what the variant page's price rows need
STOCK_PERMISSION = "inventory.add_stockmovement"  # what recording a count needs in the ledger
DEFAULT_REASON = "Counted in the variant grid"
_MAX_AMOUNT = Decimal("9999999999.99")  # Price.amount: 12 digits, 2 decimals


@dataclass(frozen=True)
class GridColumn:
    kind: str  # "price" or "stock"
    key: str  # "<channel id>:<currency>" or "<location id>"
    title: str
    unit: str  # the currency of a price column, "units" for stock
    editable: bool
    channel_code: str = ""
    currency: str = ""
    location_id: int = 0


@dataclass
class GridCell:
    name: str  # the input's name: "price:<variant>:<channel>:<currency>" / "stock:<variant>:<loc>"
    shown: str  # the value as read when the page was built
    value: str  # what the input shows (what the user typed, after a refused save)
    unit: str
    editable: bool
    error: str = ""


@dataclass
class GridRow:
    variant_id: int
    sku: str
    label: str
    cells: list[GridCell] = field(default_factory=list)


@dataclass
class VariantGrid:
    columns: list[GridColumn]
    rows: list[GridRow]
    product_id: int = 0

    def cell(self, name: str) -> GridCell | None:
        for row in self.rows:
            for cell in row.cells:
                if cell.name == name:
                    return cell
        return None


def _amount_text(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def variant_grid_build(
    *,
    product: Product,
    extra_channels: Sequence[str] = (),
    can_price: bool,
    can_stock: bool,
) -> VariantGrid:
    """Read the grid of ``product``: a fixed number of queries whatever the number of variants,
    channels and locations."""
    loaded = catalog_selectors.product_with_variants(product_id=product.pk) or product
    variants = sorted(loaded.variants.all(), key=lambda v: (v.position, v.pk))
    labels = catalog_selectors.option_labels(product=loaded)
    variant_ids = [variant.pk for variant in variants]
    base_prices = list(
        Price.objects.filter(variant_id__in=variant_ids, starts_at=None, ends_at=None)
        .select_related("channel")
        .order_by()
    )
    published = set(
        ProductPublication.objects.filter(product=product).values_list("channel_id", flat=True)
    )
    channels = {
        channel.pk: channel
        for channel in Channel.objects.filter(
            pk__in=published | {price.channel_id for price in base_prices}
        )
    }
    for channel in Channel.objects.filter(code__in=list(extra_channels), is_active=True):
        channels[channel.pk] = channel
    pairs = {(channel.pk, channel.currency) for channel in channels.values()}
    pairs |= {(price.channel_id, price.currency) for price in base_prices}
    columns = [
        GridColumn(
            kind="price",
            key=f"{channel_id}:{currency}",
            title=channels[channel_id].code,
            unit=currency,
            editable=can_price,
            channel_code=channels[channel_id].code,
            currency=currency,
        )
        for channel_id, currency in sorted(pairs, key=lambda p: (channels[p[0]].code, p[1]))
    ]
    locations = list(selectors.location_list().order_by("code"))
    columns += [
        GridColumn(
            kind="stock",
            key=str(location.pk),
            title=location.code,
            unit="units",
            editable=can_stock,
            location_id=location.pk,
        )
        for location in locations
    ]
    price_of = {(p.variant_id, f"{p.channel_id}:{p.currency}"): p.amount for p in base_prices}
    on_hand = {
        (variant_id, str(location_id)): units
        for variant_id, location_id, units in StockLevel.objects.filter(
            variant_id__in=variant_ids, location_id__in=[loc.pk for loc in locations]
        ).values_list("variant_id", "location_id", "on_hand")
    }
    rows = []
    for variant in variants:
        row = GridRow(
            variant_id=variant.pk,
            sku=variant.sku,
            label=" / ".join(
                labels.get(code, {}).get(str(value), str(value))
                for code, value in (variant.options or {}).items()
            ),
        )
        for column in columns:
            if column.kind == "price":
                shown = _amount_text(price_of.get((variant.pk, column.key)))
            else:
                units = on_hand.get((variant.pk, column.key))
                shown = "" if units is None else str(units)
            row.cells.append(
                GridCell(
                    name=f"{column.kind}:{variant.pk}:{column.key}",
                    shown=shown,
                    value=shown,
                    unit=column.unit,
                    editable=column.editable,
                )
            )
        rows.append(row)
    return VariantGrid(columns=columns, rows=rows, product_id=product.pk)


def _price_parse(text: str) -> tuple[Decimal | None, str]:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, f"“{text}” is not a price: enter an amount such as 19.99."
    if not amount.is_finite():
        return None, f"“{text}” is not a price: enter an amount such as 19.99."
    if amount < 0:
        return None, "A price cannot be negative."
    if amount != amount.quantize(Decimal("0.01")):
        return None, "At most two decimals."
    if amount > _MAX_AMOUNT:
        return None, "Too large for a price."
    return amount, ""


def _count_parse(text: str) -> tuple[int | None, str]:
    try:
        units = int(text)
    except ValueError:
        return None, f"“{text}” is not a whole number of units."
    if units < 0:
        return None, "Stock on hand cannot be negative."
    if units > services.STOCK_COUNTER_MAX:
        return None, "Too many units."
    return units, ""


@dataclass(frozen=True)
class _Change:
    cell: GridCell
    variant_id: int
    column: GridColumn
    shown: str  # what the user saw (the page's hidden copy)
    price: Decimal | None = None
    units: int | None = None


class _CellChanged(Exception):
    def __init__(self, now: str) -> None:
        super().__init__(now)
        self.now = now


def variant_grid_save(
    *, grid: VariantGrid, data: Mapping[str, Any], user: Any, reference: str
) -> tuple[int, int]:
    """Validate the posted cells of ``grid`` (``data``: the request's POST) and save the changed
    ones, all or nothing. Returns (prices saved, counts recorded); on any bad cell, writes
    nothing, puts each error on its cell and the typed values in the cells, and returns
    ``(-1, -1)``. A cell whose stored value changed since the page was built is refused too
    ("changed meanwhile") rather than overwritten; the comparison runs under each service's
    row lock (the variant for a price, the stock level for a count), so a concurrent save
    cannot slip in between. One ``price.changed`` per channel whose prices changed, however
    many cells."""
    columns = {f"{column.kind}:{column.key}": column for column in grid.columns}
    changes: list[_Change] = []
    reason = str(data.get("reason", "")).strip()
    bad = False
    for row in grid.rows:
        for cell in row.cells:
            if cell.name not in data:
                continue
            kind, _variant, key = cell.name.split(":", 2)
            column = columns[f"{kind}:{key}"]
            typed = str(data.get(cell.name, "")).strip()
            shown = str(data.get(f"was:{cell.name}", cell.shown)).strip()
            cell.value = typed
            if typed == shown:
                continue
            if not column.editable:
                cell.error = (
                    "You may not change prices."
                    if kind == "price"
                    else "You may not record stock counts."
                )
            elif not typed:
                cell.error = (
                    "A price cannot be emptied here: delete it on the variant's page."
                    if kind == "price"
                    else "Enter the units counted (0 for none)."
                )
            elif kind == "price":
                amount, cell.error = _price_parse(typed)
                if amount is not None:
                    changes.append(_Change(cell, row.variant_id, column, shown, price=amount))
            else:
                units, cell.error = _count_parse(typed)
                if units is not None:
                    if not reason:
                        cell.error = "Give a reason for the stock counts (above the grid)."
                    else:
                        changes.append(_Change(cell, row.variant_id, column, shown, units=units))
            bad = bad or bool(cell.error)
    if bad:
        return -1, -1
    actor = Actor.for_user(user)
    prices = counts = 0
    priced: dict[str, None] = {}  # the channels whose prices changed, in the order saved
    with transaction.atomic():
        for change in changes:
            try:
                if change.price is not None:
                    catalog_services.price_set(
                        variant_id=change.variant_id,
                        channel_code=change.column.channel_code,
                        amount=change.price,
                        currency=change.column.currency,
                        user=user,
                        current_check=_price_unchanged(change.shown),
                        record_event=False,  # once per channel below, not once per cell
                    )
                    priced[change.column.channel_code] = None
                    prices += 1
                else:
                    services.stock_count(
                        variant_id=change.variant_id,
                        location_id=change.column.location_id,
                        on_hand=int(change.units or 0),
                        reason=reason,
                        reference=reference,
                        actor=actor,
                        current_check=_unchanged(change.shown),
                    )
                    counts += 1
            except _CellChanged as changed:
                change.cell.error = (
                    f"Changed meanwhile (now {changed.now or 'empty'}): reload the grid."
                )
            except DomainError as refused:
                change.cell.error = refused.message
        if any(change.cell.error for change in changes):
            transaction.set_rollback(True)
            return -1, -1
        for channel_code in priced:
            catalog_services.price_changed_record(
                product_id=grid.product_id, channel_code=channel_code
            )
    return prices, counts


def _price_unchanged(shown: str) -> Any:
    """The check ``price_set`` runs under its lock: the price is still the one on the page."""

    def check(current: Decimal | None) -> None:
        now = _amount_text(current)
        if now != shown:
            raise _CellChanged(now)

    return check


def _unchanged(shown: str) -> Any:
    def check(level: StockLevel) -> None:
        expected = int(shown) if shown.lstrip("-").isdigit() else 0
        if level.on_hand != expected:
            raise _CellChanged(str(level.on_hand))

    return check


def variant_grid_view(request: HttpRequest, product: Product, context: dict[str, Any]) -> Any:
    """The grid page (``catalog.admin_variants`` serves it under the product). Anyone who may
    read variants or stock sees it; price cells are editable with ``catalog.change_price`` and
    stock cells with ``inventory.add_stockmovement``, otherwise read-only."""
    user = request.user
    if not (user.has_perm("catalog.view_variant") or user.has_perm("inventory.view_stocklevel")):
        raise PermissionDenied
    can_price = user.has_perm(PRICE_PERMISSION)
    can_stock = user.has_perm(STOCK_PERMISSION)
    extra = request.GET.getlist("channel")
    grid = variant_grid_build(
        product=product, extra_channels=extra, can_price=can_price, can_stock=can_stock
    )
    reason = DEFAULT_REASON
    if request.method == "POST":
        if not (can_price or can_stock):
            raise PermissionDenied
        reason = str(request.POST.get("reason", ""))
        prices, counts = variant_grid_save(
            grid=grid, data=request.POST, user=user, reference=f"product {product.pk} grid"
        )
        if prices >= 0:
            messages.success(
                request,
                f"Saved {prices} price(s) and {counts} stock count(s)."
                if prices or counts
                else "Nothing changed.",
            )
            return HttpResponseRedirect(request.get_full_path())
        messages.error(request, "Nothing was saved: correct the cells marked below.")
    shown = {column.channel_code for column in grid.columns if column.kind == "price"}
    context.update(
        {
            "grid": grid,
            "price_columns": [c for c in grid.columns if c.kind == "price"],
            "stock_columns": [c for c in grid.columns if c.kind == "stock"],
            "can_price": can_price,
            "can_stock": can_stock,
            "reason": reason,
            "more_channels": list(
                Channel.objects.filter(is_active=True)
                .exclude(code__in=shown)
                .order_by("code")
                .values_list("code", flat=True)
            ),
            "extra_channels": extra,
        }
    )
    return TemplateResponse(request, "admin/inventory/variant_grid.html", context)
