"""Writes to the catalog. Every change of catalog data goes through a function here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.attributes import attribute_values_clean, axis_codes, type_attributes
from catalog.completeness import channel_infos, completeness_compute
from catalog.exceptions import (
    NotAllowed,
    PriceInvalid,
    ProductNotPublishable,
    TaxonomyFileInvalid,
    UnknownChannel,
    WorkflowTransitionInvalid,
)
from catalog.models import (
    Category,
    ChannelContent,
    Price,
    Product,
    ProductCompleteness,
    ProductPublication,
    ProductType,
    Variant,
)
from catalog.snapshots import product_snapshots_build
from core.actors import Actor
from core.audit import SensitiveAction, audit_record
from core.events import EventType
from core.models import Channel
from core.outbox.services import event_record

# A logged-in user (permission checks apply) or None for system callers (imports, demo, tests).
User = Any

# Fields of a product that shoppers see: changing one on an approved product needs a new review.
CUSTOMER_VISIBLE_PRODUCT_FIELDS = frozenset(
    {"name", "description", "brand", "category", "product_type", "attributes", "handle"}
)

_TAXONOMY_LINE = re.compile(r"^(?P<id>\d+) - (?P<path>.+)$")


def _parse_taxonomy(path: Path) -> list[tuple[int, str]]:
    rows: list[tuple[int, str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            match = _TAXONOMY_LINE.match(line)
            if not match:
                raise TaxonomyFileInvalid(
                    f"Line {number}: expected '<id> - <A > B > C>', got {line[:80]!r}."
                )
            rows.append((int(match["id"]), match["path"]))
    return rows


def promotions_announce(*, since: datetime, until: datetime) -> int:
    """Record ``price.changed`` for every product and channel where a promotion started or ended
    in ``(since, until]``: a scheduled price takes effect with no edit, and the channels must
    still hear of it. Returns how many (product, channel) pairs were announced."""
    boundary = Q(starts_at__gt=since, starts_at__lte=until) | Q(
        ends_at__gt=since, ends_at__lte=until
    )
    pairs = sorted(
        set(Price.objects.filter(boundary).values_list("variant__product_id", "channel__code"))
    )
    with transaction.atomic():
        for product_id, channel_code in pairs:
            price_changed_record(product_id=product_id, channel_code=channel_code)
    return len(pairs)


def category_tree_import_google(*, path: Path) -> int:
    """Import Google's ``taxonomy-with-ids`` file into the category tree; returns how many
    categories were created. The whole file is validated before anything is written; see
    :func:`category_tree_import` for what an import does."""
    return category_tree_import(entries=_parse_taxonomy(path))


@transaction.atomic
def category_tree_import(*, entries: Iterable[tuple[int, str]]) -> int:
    """Add Google taxonomy categories to the tree: ``entries`` are (Google id, ``"A > B > C"``)
    pairs, parents anywhere in the list. Returns how many categories were created.

    Idempotent: categories already present (by full name) are left as they are, so re-running an
    import, or importing the full taxonomy over a smaller tree of the same names, only adds what
    is new. A category whose parent is neither in ``entries`` nor in the tree is refused before
    anything is written. Paths are computed in memory and written with one bulk insert, so the
    ~5,600 categories of the full taxonomy load in a second rather than one query per node.
    """
    rows = [(gid, [part.strip() for part in path.split(" > ")]) for gid, path in entries]
    existing = {
        category.full_name: category
        for category in Category.objects.only("id", "path", "depth", "numchild", "full_name")
    }
    by_name: dict[str, tuple[int, list[str]]] = {
        " > ".join(names): (gid, names) for gid, names in rows
    }
    for full_name, (_gid, names) in by_name.items():
        parent = " > ".join(names[:-1])
        if parent and parent not in by_name and parent not in existing:
            raise TaxonomyFileInvalid(f"'{full_name}' has no parent line in the file.")

    # Children counts per parent path (existing ones included) decide the next step of a path.
    child_count = {category.path: category.numchild for category in existing.values()}
    roots = Category.objects.get_root_nodes().count()
    path_of = {name: category.path for name, category in existing.items()}
    created: list[Category] = []
    for gid, names in sorted(rows, key=lambda row: len(row[1])):
        full_name = " > ".join(names)
        if full_name in path_of:
            continue
        if len(names) == 1:
            roots += 1
            node_path = Category._get_path(None, 1, roots)
        else:
            parent_path = path_of[" > ".join(names[:-1])]
            child_count[parent_path] = child_count.get(parent_path, 0) + 1
            node_path = Category._get_path(parent_path, len(names), child_count[parent_path])
        path_of[full_name] = node_path
        created.append(
            Category(
                path=node_path,
                depth=len(names),
                numchild=0,
                name=names[-1],
                full_name=full_name,
                google_id=gid,
            )
        )
    for category in created:
        category.numchild = child_count.get(category.path, 0)
    Category.objects.bulk_create(created, batch_size=1000)
    for category in existing.values():
        if child_count[category.path] != category.numchild:
            Category.objects.filter(pk=category.pk).update(numchild=child_count[category.path])
    return len(created)


# --- products and variants -------------------------------------------------------------------

# What an edit may write; status and the approved version change only through the workflow.
_EDITABLE_PRODUCT_FIELDS = [
    "handle",
    "name",
    "description",
    "brand",
    "category",
    "product_type",
    "attributes",
    "updated_at",
]


def _require(user: User | None, perm: str, what: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise NotAllowed(f"You may not {what}.")


def product_attributes_clean(
    *, product_type: ProductType | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    return attribute_values_clean(product_type=product_type, level="product", values=values)


def variant_values_clean(
    *, product: Product, options: Mapping[str, Any], attributes: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a variant's option values (the product type's axes) and its attributes."""
    variant_level = type_attributes(product.product_type, "variant")
    if product.product_type is not None:
        axes = axis_codes(variant_level)
        axis_values = {code: value for code, value in options.items() if code in axes}
        non_axes = sorted(set(options) - set(axes))
        if non_axes:
            from catalog.exceptions import AttributeValuesInvalid

            raise AttributeValuesInvalid(
                f"Not variant axes of {product.product_type}: {', '.join(non_axes)}.",
                errors=[
                    {
                        "field": f"options.{code}",
                        "code": "not_an_axis",
                        "message": "Not a variant axis.",
                    }
                    for code in non_axes
                ],
            )
        cleaned_options = attribute_values_clean(
            product_type=product.product_type, level="variant", values=axis_values, field="options"
        )
    else:
        cleaned_options = {str(k): str(v).strip() for k, v in options.items() if str(v).strip()}
    cleaned_attributes = attribute_values_clean(
        product_type=product.product_type, level="variant", values=attributes
    )
    return cleaned_options, cleaned_attributes


def _full_clean(obj: Any, exclude: Iterable[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_constraints=True)
    except ValidationError as exc:
        from catalog.exceptions import AttributeValuesInvalid

        # Django's own codes (``unique``, ``invalid_gtin``, ``max_length``...) tell API callers
        # why; a rule without one is ``invalid``.
        errors = [
            {"field": name, "code": error.code or "invalid", "message": str(message)}
            for name, items in exc.error_dict.items()
            for error in items
            for message in error.messages
        ]
        raise AttributeValuesInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            code="validation_error",
            errors=errors,
        ) from exc


@transaction.atomic
def product_create(*, user: User | None = None, **fields: Any) -> Product:
    """Create a draft product; attribute values are validated against its product type."""
    product = Product(**fields)
    product.status = Product.Status.DRAFT
    product.attributes = product_attributes_clean(
        product_type=product.product_type, values=product.attributes or {}
    )
    _full_clean(product)
    product.save()
    completeness_refresh(product_ids=[product.id])
    return product


@transaction.atomic
def product_update(*, product: Product, user: User | None = None, **changes: Any) -> Product:
    """Apply ``changes`` to ``product``; see ``product_content_changed`` for the workflow effect."""
    for name, value in changes.items():
        setattr(product, name, value)
    if "attributes" in changes or "product_type" in changes:
        product.attributes = product_attributes_clean(
            product_type=product.product_type, values=product.attributes or {}
        )
    _full_clean(product)
    product.save(update_fields=_EDITABLE_PRODUCT_FIELDS)
    product_content_changed(product_id=product.id, fields=set(changes), user=user)
    return product


@transaction.atomic
def variant_save(
    *,
    product: Product,
    sku: str,
    variant: Variant | None = None,
    options: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    user: User | None = None,
    **fields: Any,
) -> Variant:
    """Create or update a variant of ``product``: SKU unique, GTIN check digit, option values valid
    for the product type's axes and unique within the product."""
    cleaned_options, cleaned_attributes = variant_values_clean(
        product=product, options=options or {}, attributes=attributes or {}
    )
    before = _variant_content(variant.pk) if variant is not None and variant.pk else None
    variant = variant or Variant(product=product)
    variant.sku = sku.strip()
    variant.options = cleaned_options
    variant.attributes = cleaned_attributes
    for name, value in fields.items():
        setattr(variant, name, value)
    _full_clean(variant)
    variant.save()
    if before is None or before != {name: getattr(variant, name) for name in before}:
        product_content_changed(product_id=product.id, fields={"variants"}, user=user)
    return variant


# What a variant carries that customers never see: changing only these (the cost price) leaves an
# approved product approved, on every path (the product page, the native file, the write API).
VARIANT_INTERNAL_FIELDS: Final = frozenset({"cost_price"})
# The columns of a variant customers see: a change to any of them is a content change. Every
# column of ``Variant`` is here, in VARIANT_INTERNAL_FIELDS or bookkeeping (id, timestamps);
# tests/catalog/test_variant_content_fields.py fails on a new column that is in none of them.
VARIANT_CONTENT_COLUMNS: Final = (
    "product_id",
    "sku",
    "gtin",
    "options",
    "attributes",
    "weight_grams",
    "position",
)


def _variant_content(variant_id: int) -> dict[str, Any] | None:
    """The stored customer-visible values of a variant, to tell a content change from a change of
    internal fields only."""
    return Variant.objects.filter(pk=variant_id).values(*VARIANT_CONTENT_COLUMNS).first()


@transaction.atomic
def variant_cost_price_set(
    *, variant_id: int, cost_price: Decimal | None, user: User | None = None
) -> Variant:
    """Set what one unit of a variant costs us (``settings.BASE_CURRENCY``; None: unknown).
    Customers never see it, so an approved product stays approved and completeness is left
    alone; the change is kept in the variant's history. Locks the variant."""
    _require(user, "catalog.change_variant", "change cost prices")
    variant = Variant.objects.select_for_update(of=("self",)).filter(id=variant_id).first()
    if variant is None:
        raise PriceInvalid(f"There is no variant {variant_id}.", code="unknown_variant")
    variant.cost_price = cost_price
    # only the cost price is checked: the rest is as stored, and was checked when written
    _full_clean(
        variant,
        exclude=[column.removesuffix("_id") for column in VARIANT_CONTENT_COLUMNS]
        + ["id", "created_at", "updated_at"],
    )
    variant.save(update_fields=["cost_price", "updated_at"])
    return variant


def product_content_changed(
    *, product_id: int, fields: Iterable[str] = ("content",), user: User | None = None
) -> None:
    """Call after any change to a product's customer-visible data (its fields, variants, media or
    channel content). An approved product goes back to review; its approved snapshot stays live
    on the channels until the new version is approved. Completeness is recomputed."""
    if set(fields) - {"status", "updated_at"}:
        Product.objects.filter(id=product_id, status=Product.Status.APPROVED).update(
            status=Product.Status.IN_REVIEW, updated_at=timezone.now()
        )
    completeness_refresh(product_ids=[product_id])


# --- workflow ---------------------------------------------------------------------------------


def _products_locked(product_ids: Sequence[int]) -> list[Product]:
    """Lock the products in primary-key order (so bulk actions never deadlock each other)."""
    return list(
        Product.objects.select_for_update(of=("self",))
        .filter(id__in=product_ids)
        .select_related("category", "product_type")
        .order_by("id")
    )


def _transition(products: Sequence[Product], allowed: set[str], target: str) -> None:
    wrong = [p for p in products if p.status not in allowed]
    if wrong:
        raise WorkflowTransitionInvalid(
            "Cannot move to "
            f"{Product.Status(target).label.lower()}: "
            + "; ".join(f"{p.name} is {p.get_status_display().lower()}" for p in wrong),
            extra={"products": [p.id for p in wrong]},
        )


@transaction.atomic
def product_submit(*, product_ids: Sequence[int], user: User | None = None) -> int:
    """Draft -> in review. Locks the products."""
    _require(user, "catalog.change_product", "submit products for review")
    products = _products_locked(product_ids)
    _transition(products, {Product.Status.DRAFT}, Product.Status.IN_REVIEW)
    for product in products:
        product.status = Product.Status.IN_REVIEW
        product.save(update_fields=["status", "updated_at"])
    return len(products)


@transaction.atomic
def product_approve(*, product_ids: Sequence[int], user: User | None = None) -> int:
    """In review -> approved, by a catalog approver only. Freezes the approved snapshot that the
    channels show and records ``product.updated``. Locks the products."""
    _require(user, "catalog.approve_product", "approve products (catalog approvers only)")
    products = _products_locked(product_ids)
    _transition(products, {Product.Status.IN_REVIEW}, Product.Status.APPROVED)
    now = timezone.now()
    snapshots = product_snapshots_build([product.id for product in products])
    for product in products:
        product.approved_snapshot = snapshots[product.id]
        product.approved_at = now
        product.approved_by = user if user is not None and user.is_authenticated else None  # type: ignore[assignment]
        product.status = Product.Status.APPROVED
        product.save(
            update_fields=[
                "approved_snapshot",
                "approved_at",
                "approved_by",
                "status",
                "updated_at",
            ]
        )
        channels = _published_channel_codes(product.id)
        ProductPublication.objects.filter(product=product).update(updated_at=now)
        event_record(
            topic=EventType.PRODUCT_UPDATED,
            aggregate="product",
            aggregate_id=product.id,
            payload={
                "product_id": product.id,
                "version": now.isoformat(),
                "published_on": channels,
                "snapshot": product.approved_snapshot,
            },
        )
    return len(products)


@transaction.atomic
def product_reject(*, product_ids: Sequence[int], user: User | None = None) -> int:
    """In review -> draft (back to the merchandiser); an approved snapshot, if any, stays live."""
    _require(user, "catalog.approve_product", "reject products (catalog approvers only)")
    products = _products_locked(product_ids)
    _transition(products, {Product.Status.IN_REVIEW}, Product.Status.DRAFT)
    for product in products:
        product.status = Product.Status.DRAFT
        product.save(update_fields=["status", "updated_at"])
    return len(products)


@transaction.atomic
def product_archive(*, product_ids: Sequence[int], user: User | None = None) -> int:
    """Any state -> archived: the product leaves every channel (``product.deleted``)."""
    _require(user, "catalog.change_product", "archive products")
    products = _products_locked(product_ids)
    for product in products:
        if product.status == Product.Status.ARCHIVED:
            continue
        channels = _published_channel_codes(product.id)
        product.status = Product.Status.ARCHIVED
        product.save(update_fields=["status", "updated_at"])
        ProductPublication.objects.filter(product=product).delete()
        event_record(
            topic=EventType.PRODUCT_DELETED,
            aggregate="product",
            aggregate_id=product.id,
            payload={"product_id": product.id, "reason": "archived", "unpublished_from": channels},
        )
    return len(products)


# --- publication -------------------------------------------------------------------------------


def _published_channel_codes(product_id: int) -> list[str]:
    return sorted(
        ProductPublication.objects.filter(product_id=product_id).values_list(
            "channel__code", flat=True
        )
    )


def _channel(channel_code: str) -> Any:
    channel = Channel.objects.filter(code=channel_code).first()
    if channel is None:
        raise UnknownChannel(f"There is no channel {channel_code!r}.")
    return channel


@transaction.atomic
def product_publish(
    *, product_ids: Sequence[int], channel_code: str, user: User | None = None
) -> int:
    """Publish products on a channel. All or nothing: every product must be approved and 100 %
    complete for the channel, otherwise ``ProductNotPublishable`` says exactly what is missing
    for each, and nothing is published. Returns how many were newly published."""
    _require(user, "catalog.publish_product", "publish products to channels")
    channel = _channel(channel_code)
    products = _products_locked(product_ids)
    infos = channel_infos([channel_code])
    completeness = completeness_compute(product_ids=[p.id for p in products], channels=infos)
    refused: dict[str, list[str]] = {}
    for product in products:
        missing = list(completeness[(product.id, channel_code)].missing)
        if product.status != Product.Status.APPROVED:
            missing.insert(0, f"approval (it is {product.get_status_display().lower()})")
        if missing:
            refused[product.name] = missing
    if refused:
        raise ProductNotPublishable(
            f"Cannot publish on {channel_code}: "
            + "; ".join(f"{name} needs {', '.join(items)}" for name, items in refused.items()),
            extra={"missing": refused},
        )
    published = 0
    for product in products:
        _, created = ProductPublication.objects.get_or_create(
            product=product,
            channel=channel,
            defaults={"published_by": user if user is not None and user.is_authenticated else None},
        )
        if created:
            published += 1
            event_record(
                topic=EventType.PRODUCT_UPDATED,
                aggregate="product",
                aggregate_id=product.id,
                channel_code=channel_code,
                payload={
                    "product_id": product.id,
                    "version": product.approved_at.isoformat() if product.approved_at else None,
                    "published_on": _published_channel_codes(product.id),
                    "snapshot": product.approved_snapshot,
                },
            )
    return published


@transaction.atomic
def product_unpublish(
    *, product_ids: Sequence[int], channel_code: str, user: User | None = None
) -> int:
    """Take products off a channel (``product.deleted`` for that channel)."""
    _require(user, "catalog.publish_product", "unpublish products from channels")
    _channel(channel_code)
    products = _products_locked(product_ids)
    removed = 0
    for product in products:
        deleted, _ = ProductPublication.objects.filter(
            product=product, channel__code=channel_code
        ).delete()
        if deleted:
            removed += 1
            event_record(
                topic=EventType.PRODUCT_DELETED,
                aggregate="product",
                aggregate_id=product.id,
                channel_code=channel_code,
                payload={"product_id": product.id, "reason": "unpublished"},
            )
    return removed


# --- prices ------------------------------------------------------------------------------------


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, TypeError):
        raise PriceInvalid(
            f"{field}: enter an amount such as 19.99.",
            errors=[
                {"field": field, "code": "invalid", "message": "Enter an amount such as 19.99."}
            ],
        ) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise PriceInvalid(
            f"{field}: must be zero or more with at most two decimals.",
            errors=[{"field": field, "code": "invalid", "message": "Zero or more, two decimals."}],
        )
    return amount


@transaction.atomic
def price_set(
    *,
    variant_id: int,
    channel_code: str,
    amount: Any,
    compare_at_amount: Any = None,
    currency: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    user: User | None = None,
    current_check: Callable[[Decimal | None], None] | None = None,
    record_event: bool = True,
) -> Price:
    """Set a variant's base price on a channel (no dates: replaces the base price), or add a
    promotion (with dates). The currency defaults to the channel's. Records ``price.changed``
    with the product's current prices on that channel (absolute values); with
    ``record_event=False`` the caller records it once itself (``price_changed_record``) after
    setting several prices. Locks the variant. ``current_check``, for a base price, is called
    under that lock with the current base amount (None: none yet) before anything is written;
    it raises to refuse a price that changed since the caller read it."""
    _require(user, "catalog.change_price", "change prices")
    channel = _channel(channel_code)
    currency = (currency or channel.currency).upper()
    amount_ = _money(amount, "amount")
    compare_at = (
        None if compare_at_amount in (None, "") else _money(compare_at_amount, "compare_at_amount")
    )
    if compare_at is not None and compare_at <= amount_:
        raise PriceInvalid(
            "The compare-at price must be above the price.",
            errors=[
                {
                    "field": "compare_at_amount",
                    "code": "invalid",
                    "message": "Must be above the price.",
                }
            ],
        )
    if starts_at and ends_at and ends_at <= starts_at:
        raise PriceInvalid(
            "A promotion must end after it starts.",
            errors=[{"field": "ends_at", "code": "invalid", "message": "Must be after starts_at."}],
        )
    variant = Variant.objects.select_for_update().filter(id=variant_id).first()
    if variant is None:
        raise PriceInvalid(f"There is no variant {variant_id}.", code="unknown_variant")
    previous = None
    if starts_at is None and ends_at is None:
        previous = (
            Price.objects.filter(
                variant=variant, channel=channel, currency=currency, starts_at=None, ends_at=None
            )
            .values_list("amount", flat=True)
            .first()
        )
        if current_check is not None:
            current_check(previous)
        price, _ = Price.objects.update_or_create(
            variant=variant,
            channel=channel,
            currency=currency,
            starts_at=None,
            ends_at=None,
            defaults={"amount": amount_, "compare_at_amount": compare_at},
        )
    else:
        price = Price.objects.create(
            variant=variant,
            channel=channel,
            currency=currency,
            amount=amount_,
            compare_at_amount=compare_at,
            starts_at=starts_at,
            ends_at=ends_at,
        )
    if record_event:
        price_changed_record(product_id=variant.product_id, channel_code=channel_code)
    completeness_refresh(product_ids=[variant.product_id])
    audit_record(
        action=SensitiveAction.PRICE_CHANGE,
        actor=Actor.for_user(user) if user is not None else None,
        target=price,
        data={
            "variant_id": variant.pk,
            "channel_id": channel.pk,
            "currency": currency,
            "amount": amount_,
            "previous_amount": previous,
            "compare_at_amount": compare_at,
            "promotion": starts_at is not None or ends_at is not None,
        },
    )
    return price


def price_changed_record(*, product_id: int, channel_code: str) -> None:
    """Record ``price.changed`` for a product on a channel with every variant's current price."""
    from catalog.selectors import variant_prices

    variant_ids = list(Variant.objects.filter(product_id=product_id).values_list("id", flat=True))
    prices = variant_prices(channel_code=channel_code, variant_ids=variant_ids)
    ProductPublication.objects.filter(product_id=product_id, channel__code=channel_code).update(
        updated_at=timezone.now()
    )
    event_record(
        topic=EventType.PRICE_CHANGED,
        aggregate="product",
        aggregate_id=product_id,
        channel_code=channel_code,
        payload={
            "product_id": product_id,
            "prices": {
                price.sku: {
                    "amount": str(price.amount),
                    "compare_at_amount": None
                    if price.compare_at is None
                    else str(price.compare_at),
                    "currency": price.currency,
                }
                for price in prices.values()
            },
        },
    )


@transaction.atomic
def price_delete(*, price_id: int, user: User | None = None) -> None:
    _require(user, "catalog.delete_price", "delete prices")
    price = Price.objects.select_related("variant", "channel").filter(id=price_id).first()
    if price is None:
        return
    product_id, channel_code = price.variant.product_id, price.channel.code
    audit_record(
        action=SensitiveAction.PRICE_DELETE,
        actor=Actor.for_user(user) if user is not None else None,
        target=price,
        data={
            "variant_id": price.variant_id,
            "channel_id": price.channel_id,
            "amount": price.amount,
        },
    )
    price.delete()
    price_changed_record(product_id=product_id, channel_code=channel_code)
    completeness_refresh(product_ids=[product_id])


@transaction.atomic
def channel_content_set(
    *,
    product_id: int,
    channel_code: str,
    title: str = "",
    description: str = "",
    user: User | None = None,
) -> ChannelContent | None:
    """Override a product's title/description on one channel (empty both: remove the override).
    The channel's length limits apply; the change goes through review like any content edit."""
    channel = _channel(channel_code)
    from catalog.models import ChannelContentRule

    rule = ChannelContentRule.objects.filter(channel=channel).first()
    limit_title = rule.title_max_length if rule else 150
    limit_description = rule.description_max_length if rule else 5000
    errors = []
    if len(title) > limit_title:
        errors.append(
            {
                "field": "title",
                "code": "too_long",
                "message": f"At most {limit_title} characters on {channel_code}.",
            }
        )
    if len(description) > limit_description:
        errors.append(
            {
                "field": "description",
                "code": "too_long",
                "message": f"At most {limit_description} characters on {channel_code}.",
            }
        )
    if errors:
        from catalog.exceptions import AttributeValuesInvalid

        raise AttributeValuesInvalid(
            "; ".join(e["message"] for e in errors), code="validation_error", errors=errors
        )
    if not title and not description:
        ChannelContent.objects.filter(product_id=product_id, channel=channel).delete()
        content = None
    else:
        content, _ = ChannelContent.objects.update_or_create(
            product_id=product_id,
            channel=channel,
            defaults={"title": title, "description": description},
        )
    product_content_changed(product_id=product_id, fields={"channel_content"}, user=user)
    return content


# --- translations -------------------------------------------------------------------------------

TRANSLATED_PRODUCT_FIELDS = ("name", "description")
TRANSLATED_CONTENT_FIELDS = ("title", "description")


@transaction.atomic
def product_translation_save(
    *,
    product: Product,
    language: str,
    values: Mapping[str, str],
    channel_content: Mapping[str, Mapping[str, str]] | None = None,
    user: User | None = None,
) -> set[str]:
    """Write a product's texts in one language: ``values`` by field (``name``, ``description``)
    and ``channel_content`` by channel code (``title``, ``description``). English writes the
    original columns as well. Like any content edit, a change puts an approved product back in
    review (its approved snapshot, with its texts in every language, stays live) and recomputes
    completeness. Lengths are the fields' and the channel's limits; a refusal names each field
    and writes nothing. Returns the columns changed (empty: nothing written, no review)."""
    from catalog.exceptions import AttributeValuesInvalid, LocaleUnsupported
    from catalog.locales import content_languages, translation_column

    _require(user, "catalog.change_product", "edit products")
    if language not in content_languages():
        raise LocaleUnsupported(
            f"{language!r} is not a content language ({', '.join(content_languages())}).",
            extra={"locales": content_languages()},
        )
    unknown = sorted(set(values) - set(TRANSLATED_PRODUCT_FIELDS))
    errors: list[dict[str, Any]] = [
        {"field": name, "code": "not_translated", "message": "Not a translated field."}
        for name in unknown
    ]
    changed: set[str] = set()
    for name in TRANSLATED_PRODUCT_FIELDS:
        if name not in values:
            continue
        column = translation_column(name, language)
        text = str(values[name]).strip()
        limit = getattr(Product._meta.get_field(name), "max_length", None)
        if limit and len(text) > limit:
            errors.append(
                {"field": name, "code": "too_long", "message": f"At most {limit} characters."}
            )
            continue
        if name == "name" and language == "en" and not text:
            errors.append({"field": name, "code": "required", "message": "English needs a name."})
            continue
        if (getattr(product, column) or "") != text:
            setattr(product, column, text or None)
            changed.add(column)
            if language == "en":  # the original column holds English too
                product.__dict__[name] = text
                changed.add(name)
    contents: list[ChannelContent] = []
    for channel_code, texts in (channel_content or {}).items():
        channel = _channel(channel_code)
        from catalog.models import ChannelContentRule

        rule = ChannelContentRule.objects.filter(channel=channel).first()
        limits = {
            "title": rule.title_max_length if rule else 150,
            "description": rule.description_max_length if rule else 5000,
        }
        content = ChannelContent.objects.filter(product=product, channel=channel).first()
        content = content or ChannelContent(product=product, channel=channel)
        touched = False
        for name in TRANSLATED_CONTENT_FIELDS:
            if name not in texts:
                continue
            text = str(texts[name]).strip()
            if len(text) > limits[name]:
                errors.append(
                    {
                        "field": f"channel_content.{channel_code}.{name}",
                        "code": "too_long",
                        "message": f"At most {limits[name]} characters on {channel_code}.",
                    }
                )
                continue
            column = translation_column(name, language)
            if (getattr(content, column) or "") != text:
                setattr(content, column, text or None)
                if language == "en":
                    content.__dict__[name] = text
                touched = True
        if touched:
            contents.append(content)
            changed.add(f"channel_content.{channel_code}")
    if errors:
        raise AttributeValuesInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            code="validation_error",
            errors=errors,
        )
    product_columns = sorted(c for c in changed if not c.startswith("channel_content."))
    if product_columns:
        product.save(update_fields=[*product_columns, "updated_at"])
    for content in contents:
        content.save()
    if changed:
        product_content_changed(product_id=product.id, fields=changed, user=user)
    return changed


# --- completeness ------------------------------------------------------------------------------


def completeness_refresh(
    *, product_ids: Sequence[int] | None = None, batch_size: int = 2000
) -> int:
    """Recompute stored completeness for ``product_ids`` (all products when None) on every active
    channel, in batches with a fixed number of queries per batch. Returns rows written."""
    infos = channel_infos()
    if not infos:
        return 0
    ids = (
        list(product_ids)
        if product_ids is not None
        else list(Product.objects.order_by("id").values_list("id", flat=True))
    )
    written = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        computed = completeness_compute(product_ids=chunk, channels=infos)
        by_code = {info.code: info.id for info in infos}
        rows = [
            ProductCompleteness(
                product_id=c.product_id,
                channel_id=by_code[c.channel_code],
                percent=c.percent,
                missing=c.missing,
                locales=c.locales_dict(),
            )
            for c in computed.values()
        ]
        ProductCompleteness.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["product", "channel"],
            update_fields=["percent", "missing", "locales", "computed_at"],
        )
        written += len(rows)
    return written


@transaction.atomic
def product_save(*, product: Product, changed: Iterable[str], user: User | None = None) -> Product:
    """Save a product edited as a whole (the admin form): validates its attribute values and
    fields; a new product starts as a draft; a change to an existing one goes through
    ``product_content_changed`` (back to review if it was approved)."""
    creating = product.pk is None
    _require(user, "catalog.add_product" if creating else "catalog.change_product", "edit products")
    product.attributes = product_attributes_clean(
        product_type=product.product_type, values=product.attributes or {}
    )
    if creating:
        product.status = Product.Status.DRAFT
    _full_clean(product)
    if creating:
        product.save()
    else:  # never from a stale instance: status and the approved version belong to the workflow
        product.save(update_fields=_EDITABLE_PRODUCT_FIELDS)
    changed = set(changed)
    if creating:
        completeness_refresh(product_ids=[product.id])
    elif changed:
        product_content_changed(product_id=product.id, fields=changed, user=user)
    return product


@transaction.atomic
def variant_delete(*, variant_id: int, user: User | None = None) -> None:
    """Delete a variant that was never sold (stock and order lines protect it otherwise)."""
    _require(user, "catalog.delete_variant", "delete variants")
    variant = Variant.objects.filter(id=variant_id).first()
    if variant is None:
        return
    product_id = variant.product_id
    variant.delete()
    product_content_changed(product_id=product_id, fields={"variants"}, user=user)


@transaction.atomic
def product_category_set(
    *, product_ids: Sequence[int], category_id: int, user: User | None = None
) -> int:
    """Set the category of several products (a content change: approved ones go back to review)."""
    _require(user, "catalog.change_product", "change product categories")
    products = _products_locked(product_ids)
    for product in products:
        if product.category_id != category_id:
            product.category_id = category_id
            product.save(update_fields=["category", "updated_at"])
            product_content_changed(product_id=product.id, fields={"category"}, user=user)
    return len(products)
