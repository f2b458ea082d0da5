"""Query parameters that several endpoints share, parsed exactly as their schema states.

The schema and the parser use the same pattern, so a client (or a fuzzer) that follows the schema
is never refused, and one that does not is always refused with a 400 naming the parameter.
"""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter

from core.api.problems import ApiError

MAX_SKUS = 100

# One way only to match an item (spaces, the first other character, the rest), so a list that
# fails (101 SKUs) fails in linear time instead of backtracking through every split.
# Spaces are spelled out rather than ``\s``: Python's ``\s`` also matches the separators
# \x1c-\x1f, which JSON Schema (ECMA) patterns do not, so a client checking the schema's pattern
# and this parser would disagree about a SKU made of them.
_SPACES = " \t\n\r\f\v"
_SPACES_CLASS = r" \t\n\r\f\v"  # the same, as the pattern spells them
_SKU = rf"[{_SPACES_CLASS}]*[^{_SPACES_CLASS},][^,]*"
SKU_LIST_PATTERN = rf"^{_SKU}(,{_SKU}){{0,{MAX_SKUS - 1}}}$"
"""1 to 100 comma-separated SKUs, none of them blank."""

_LATITUDE = r"-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
_LONGITUDE = r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
NEAR_PATTERN = rf"^{_LATITUDE},{_LONGITUDE}$"
"""``<latitude>,<longitude>`` in decimal degrees, within -90..90 and -180..180."""


def sku_list_parameter(description: str = "") -> OpenApiParameter:
    return OpenApiParameter(
        "sku",
        {"type": "string", "pattern": SKU_LIST_PATTERN},
        required=True,
        description=description or f"1 to {MAX_SKUS} SKUs, comma-separated.",
    )


def near_parameter(description: str) -> OpenApiParameter:
    return OpenApiParameter(
        "near", {"type": "string", "pattern": NEAR_PATTERN}, description=description
    )


def sku_list_parse(raw: str | None) -> list[str]:
    """The SKUs of ``sku=`` in order, each once; a 400 unless it is 1 to 100 SKUs, none blank."""
    if raw is None or not re.fullmatch(SKU_LIST_PATTERN, raw):
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail=f"sku must list 1 to {MAX_SKUS} SKUs, comma-separated, none of them blank.",
            errors=[{"field": "sku", "code": "invalid", "message": f"1 to {MAX_SKUS} SKUs"}],
        )
    return list(dict.fromkeys(sku.strip(_SPACES) for sku in raw.split(",")))


def near_parse(raw: str) -> tuple[float, float]:
    """``near=<lat>,<lng>`` as two floats; a 400 unless it is two decimal degrees in range."""
    if not re.fullmatch(NEAR_PATTERN, raw):
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail="near must be '<lat>,<lng>' in decimal degrees, e.g. 52.37,4.89.",
            errors=[{"field": "near", "code": "invalid", "message": "expected <lat>,<lng>"}],
        )
    latitude, longitude = raw.split(",")
    return float(latitude), float(longitude)
