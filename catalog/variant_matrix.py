"""Generating a product's variant matrix: one variant per combination of chosen axis values.

``variant_matrix_plan`` (a read) lists the combinations, the SKU each would get and the ones the
product already has; ``variant_matrix_create`` (a write) checks every new one by
``variant_save``'s rules, creates them in one insert with a history row each, then runs the
follow-up of a variant added by hand once for the product (back to review if it was approved,
completeness recomputed), so 90 variants cost about the same queries as 2.

SKU rule: the product's handle followed by each option code in the type's axis order, upper
case, anything but letters and digits turned into ``-``, at most 64 characters
(``organic-tee`` + ``s`` + ``navy`` -> ``ORGANIC-TEE-S-NAVY``). It is the Shopify import's rule for
variants without a SKU (there applied to the file's option values); the merchandiser may change any
SKU before confirming.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from catalog.attributes import type_attributes, value_normalise
from catalog.exceptions import NotAllowed, VariantMatrixInvalid
from catalog.imports.shopify import derived_sku
from catalog.models import Attribute, Product, Variant

User = Any


@dataclass(frozen=True)
class MatrixAxis:
    code: str
    name: str
    options: list[tuple[str, str]]  # (code, label) in the attribute's order


@dataclass(frozen=True)
class MatrixRow:
    """One combination: its options by axis code (axis order), how it reads, its SKU."""

    options: dict[str, str]
    label: str
    sku: str
    existing_sku: str = ""  # the variant that already has these options, if any

    @property
    def key(self) -> str:
        """A stable name for the combination (form field names): ``size=s&color=navy``."""
        return "&".join(f"{code}={value}" for code, value in self.options.items())


@dataclass
class MatrixPlan:
    axes: list[MatrixAxis]
    new: list[MatrixRow] = field(default_factory=list)
    existing: list[MatrixRow] = field(default_factory=list)


def matrix_axes(product: Product) -> list[MatrixAxis]:
    """The select axes of the product's type (the matrix combines managed options only)."""
    return [
        MatrixAxis(
            code=ta.attribute.code,
            name=ta.attribute.name,
            options=[(option.code, option.label) for option in ta.attribute.options.all()],
        )
        for ta in type_attributes(product.product_type, "variant")
        if ta.is_variant_axis and ta.attribute.kind == Attribute.Kind.SELECT
    ]


def variant_sku_derive(*, handle: str, option_codes: Sequence[str]) -> str:
    """The generated SKU of a combination (see the module docstring)."""
    return derived_sku(handle, option_codes)


def variant_matrix_plan(*, product: Product, values: Mapping[str, Sequence[str]]) -> MatrixPlan:
    """The combinations of ``values`` (option codes by axis code; every select axis of the
    product's type needs at least one). Combinations the product already has go to
    ``existing``. Raises ``VariantMatrixInvalid`` naming each unknown axis or value."""
    axes = matrix_axes(product)
    errors: list[dict[str, str]] = []
    if not axes:
        errors.append(
            {
                "field": "axes",
                "code": "no_axes",
                "message": "This product's type has no select variant axes to combine.",
            }
        )
    by_code = {axis.code: axis for axis in axes}
    for code in values:
        if code not in by_code:
            errors.append(
                {
                    "field": f"options.{code}",
                    "code": "not_an_axis",
                    "message": f"{code!r} is not a variant axis of {product.product_type}.",
                }
            )
    chosen: list[list[tuple[str, str]]] = []
    for axis in axes:
        labels = dict(axis.options)
        picked = list(dict.fromkeys(str(value) for value in values.get(axis.code, [])))
        unknown = [value for value in picked if value not in labels]
        for value in unknown:
            errors.append(
                {
                    "field": f"options.{axis.code}",
                    "code": "unknown_option",
                    "message": f"{axis.name}: {value!r} is not an option of this axis.",
                }
            )
        if not picked:
            errors.append(
                {
                    "field": f"options.{axis.code}",
                    "code": "required",
                    "message": f"{axis.name}: pick at least one value.",
                }
            )
        # in the attribute's order, whatever the order they were picked in
        chosen.append([(code, label) for code, label in axis.options if code in picked])
    if errors:
        raise VariantMatrixInvalid("; ".join(e["message"] for e in errors), errors=errors)
    have = {
        _options_key(variant.options): variant.sku
        for variant in Variant.objects.filter(product=product).only("sku", "options")
    }
    plan = MatrixPlan(axes=axes)
    for combination in itertools.product(*chosen):
        options = {axis.code: code for axis, (code, _label) in zip(axes, combination, strict=True)}
        row = MatrixRow(
            options=options,
            label=" / ".join(label for _code, label in combination),
            sku=variant_sku_derive(handle=product.handle, option_codes=list(options.values())),
            existing_sku=have.get(_options_key(options), ""),
        )
        (plan.existing if row.existing_sku else plan.new).append(row)
    return plan


def _options_key(options: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in options.items()))


@transaction.atomic
def variant_matrix_create(
    *,
    product: Product,
    values: Mapping[str, Sequence[str]],
    skus: Mapping[str, str] | None = None,
    user: User | None = None,
) -> list[Variant]:
    """Create a variant for every new combination of ``values`` (see ``variant_matrix_plan``),
    each with the SKU given in ``skus`` (by ``MatrixRow.key``) or the generated one; GTIN empty,
    positions after the product's last variant. All or nothing: an empty, repeated or taken SKU,
    or a value or field ``variant_save`` would refuse, raises ``VariantMatrixInvalid`` with one
    error per row (``field`` = the row's key) and nothing is created. Every row is checked
    before any is written; then one insert (with a history row per variant) and one
    ``product_content_changed`` for the product. Locks the product row, so two merchandisers
    generating at once cannot create the same combination twice."""
    if user is not None and not user.has_perm("catalog.add_variant"):
        raise NotAllowed("You may not add variants.")
    Product.objects.select_for_update().filter(pk=product.pk).first()
    plan = variant_matrix_plan(product=product, values=values)
    wanted = {row.key: (skus or {}).get(row.key, row.sku).strip() for row in plan.new}
    taken = set(Variant.objects.filter(sku__in=wanted.values()).values_list("sku", flat=True))
    errors: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for row in plan.new:
        sku = wanted[row.key]
        message = ""
        if not sku:
            message = "Enter a SKU."
        elif len(sku) > 64:
            message = "A SKU has at most 64 characters."
        elif sku in taken:
            message = f"SKU {sku} is already used by another variant."
        elif sku in seen:
            message = f"SKU {sku} is also given to {seen[sku]}."
        if message:
            errors.append({"field": row.key, "code": "invalid_sku", "message": message})
        seen.setdefault(sku, row.label)
    if errors:
        raise VariantMatrixInvalid(
            "; ".join(e["message"] for e in errors), errors=errors, extra={"created": 0}
        )
    from catalog.services import product_content_changed

    last = max(
        Variant.objects.filter(product=product).values_list("position", flat=True), default=-1
    )
    axes = {
        ta.attribute.code: ta.attribute
        for ta in type_attributes(product.product_type, "variant")
        if ta.is_variant_axis
    }
    variants = []
    for offset, row in enumerate(plan.new, start=1):
        variant = Variant(product=product, sku=wanted[row.key], position=last + offset)
        try:
            # variant_values_clean's rule for each value, with the axes read once
            variant.options = {
                code: value_normalise(
                    axes[code], value, {option.code for option in axes[code].options.all()}
                )
                for code, value in row.options.items()
            }
            # the field rules; SKU and options uniqueness were checked above for all rows
            variant.full_clean(
                exclude=["product"], validate_unique=False, validate_constraints=False
            )
        except ValueError as refused:
            errors.append({"field": row.key, "code": "invalid", "message": str(refused)})
        except ValidationError as refused:
            errors.append(
                {
                    "field": row.key,
                    "code": "invalid",
                    "message": "; ".join(
                        f"{name}: {message}"
                        for name, messages in refused.message_dict.items()
                        for message in messages
                    ),
                }
            )
        variants.append(variant)
    if errors:
        raise VariantMatrixInvalid(
            "; ".join(e["message"] for e in errors), errors=errors, extra={"created": 0}
        )
    created: list[Variant] = bulk_create_with_history(variants, Variant)  # a history row each
    product_content_changed(product_id=product.pk, fields={"variants"}, user=user)
    return created
