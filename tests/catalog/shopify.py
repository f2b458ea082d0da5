"""What a Shopify product CSV holds, counted straight from the file, independently of the
importer, so import tests can compare the database with it."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileCounts:
    variants: Counter[str]  # variants per handle
    images: int  # distinct (handle, image URL), product images and variant images
    compare_at: int  # variants with a compare-at price
    stock: int  # sum of the inventory quantities


def expected_from_file(path: Path) -> FileCounts:
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    variant_rows = [row for row in rows if row["Variant Price"]]
    images = {(row["Handle"], row["Image Src"]) for row in rows if row["Image Src"]}
    images |= {(row["Handle"], row["Variant Image"]) for row in rows if row.get("Variant Image")}
    return FileCounts(
        variants=Counter(row["Handle"] for row in variant_rows),
        images=len(images),
        compare_at=sum(1 for row in variant_rows if row["Variant Compare At Price"]),
        stock=sum(int(row["Variant Inventory Qty"] or 0) for row in variant_rows),
    )
