"""Typed attribute values: validation and normalisation by attribute kind.

Values are stored as JSON on the product and the variant, keyed by attribute code; this module is
the only place that decides what a valid value of each kind is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from catalog.exceptions import AttributeValuesInvalid
from catalog.models import Attribute, ProductType, ProductTypeAttribute

_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def value_normalise(attribute: Attribute, value: Any, option_codes: set[str]) -> Any:
    """Return the stored form of ``value`` for ``attribute`` or raise ``ValueError`` saying why."""
    kind = attribute.kind
    if kind in (Attribute.Kind.TEXT, Attribute.Kind.RICH_TEXT):
        if not isinstance(value, (str, int, float)):
            raise ValueError("Enter text.")
        text = str(value).strip()
        if kind == Attribute.Kind.TEXT and "\n" in text:
            raise ValueError("Text must be one line (use rich text for paragraphs).")
        return text
    if kind == Attribute.Kind.NUMBER:
        raw = value.get("value") if isinstance(value, Mapping) else value
        if isinstance(raw, bool):
            raise ValueError("Enter a number.")
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("Enter a number.") from None
        if not number.is_finite():
            raise ValueError("Enter a finite number.")
        unit = value.get("unit", attribute.unit) if isinstance(value, Mapping) else attribute.unit
        if unit != attribute.unit:
            raise ValueError(f"The unit must be {attribute.unit!r}.")
        return {
            "value": str(number.normalize() if number == number.to_integral() else number),
            "unit": attribute.unit,
        }
    if kind == Attribute.Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in _TRUE:
            return True
        if str(value).strip().lower() in _FALSE:
            return False
        raise ValueError("Enter yes or no.")
    if kind == Attribute.Kind.DATE:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("Enter a date as YYYY-MM-DD.") from None
    if kind == Attribute.Kind.SELECT:
        code = str(value).strip()
        if code not in option_codes:
            raise ValueError(f"{code!r} is not an option of {attribute.name}.")
        return code
    if kind == Attribute.Kind.MULTI_SELECT:
        codes = [
            str(item).strip()
            for item in (value if isinstance(value, list) else str(value).split(","))
        ]
        codes = [code for code in codes if code]
        unknown = [code for code in codes if code not in option_codes]
        if unknown:
            raise ValueError(f"Not options of {attribute.name}: {', '.join(unknown)}.")
        return sorted(set(codes), key=codes.index)
    raise ValueError(f"Unknown attribute kind {kind!r}.")


def type_attributes(product_type: ProductType | None, level: str) -> list[ProductTypeAttribute]:
    if product_type is None:
        return []
    return [
        type_attribute
        for type_attribute in product_type.type_attributes.select_related(
            "attribute"
        ).prefetch_related("attribute__options")
        if type_attribute.level == level
    ]


def attribute_values_clean(
    *,
    product_type: ProductType | None,
    level: str,
    values: Mapping[str, Any],
    field: str = "attributes",
) -> dict[str, Any]:
    """Validate ``values`` against the product type's attributes of ``level`` and return the
    normalised dict (empty values dropped). Unknown codes and badly typed values raise
    ``AttributeValuesInvalid`` naming each attribute."""
    allowed = {ta.attribute.code: ta.attribute for ta in type_attributes(product_type, level)}
    cleaned: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for code, value in values.items():
        if _empty(value):
            continue
        attribute = allowed.get(code)
        if attribute is None:
            errors.append(
                {
                    "field": f"{field}.{code}",
                    "code": "unknown_attribute",
                    "message": f"{code!r} is not a {level} attribute of this product type.",
                }
            )
            continue
        options = {option.code for option in attribute.options.all()}
        try:
            cleaned[code] = value_normalise(attribute, value, options)
        except ValueError as exc:
            errors.append({"field": f"{field}.{code}", "code": "invalid", "message": str(exc)})
    if errors:
        raise AttributeValuesInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        )
    return cleaned


def display_value(value: Any, option_labels: Mapping[str, str] | None = None) -> str:
    """A value as a shopper reads it: option labels, numbers with their unit, yes/no."""
    labels = option_labels or {}
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Mapping):
        return f"{value.get('value', '')} {value.get('unit', '')}".strip()
    if isinstance(value, list):
        return ", ".join(labels.get(str(item), str(item)) for item in value)
    return labels.get(str(value), str(value))


def axis_codes(type_attributes_: Iterable[ProductTypeAttribute]) -> list[str]:
    return [ta.attribute.code for ta in type_attributes_ if ta.is_variant_axis]
