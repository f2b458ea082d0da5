"""A validated import: plain data, ready to write. Row numbers are the file's line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class ImageRow:
    url: str
    position: int
    alt_text: str = ""
    variant_key: tuple[tuple[str, str], ...] | None = None


@dataclass
class VariantRow:
    row: int
    sku: str
    options: dict[str, str]
    option_labels: dict[str, str]
    gtin: str = ""
    weight_grams: int | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    inventory_quantity: int | None = None
    position: int = 0

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.options.items()))


@dataclass
class ProductRow:
    row: int
    handle: str
    name: str
    description: str = ""
    brand: str = ""
    product_type: str = ""
    google_category: str = ""
    option_names: list[str] = field(default_factory=list)
    variants: list[VariantRow] = field(default_factory=list)
    images: list[ImageRow] = field(default_factory=list)


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportPlan:
    products: list[ProductRow]
    rows: int

    @property
    def variant_count(self) -> int:
        return sum(len(product.variants) for product in self.products)
