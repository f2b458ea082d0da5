"""Every column of a variant is either content (a change sends an approved product back to
review) or internal (the cost price), so a new column cannot slip past the approval unnoticed."""

from __future__ import annotations

from catalog.models import Variant
from catalog.services import VARIANT_CONTENT_COLUMNS, VARIANT_INTERNAL_FIELDS

BOOKKEEPING = {"id", "created_at", "updated_at"}


def test_every_variant_column_is_content_internal_or_bookkeeping() -> None:
    columns = {field.attname for field in Variant._meta.concrete_fields}
    internal = {Variant._meta.get_field(name).attname for name in VARIANT_INTERNAL_FIELDS}
    content = set(VARIANT_CONTENT_COLUMNS)
    assert not content & internal
    assert columns == content | internal | BOOKKEEPING
