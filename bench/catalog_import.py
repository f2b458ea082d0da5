"""Benchmark: a Shopify product CSV with 100,000 variant rows (20,000 products x 5 sizes).

    .venv/bin/python bench/catalog_import.py             # SQLite in a temporary file
    DATABASE_URL=postgres://... .venv/bin/python bench/catalog_import.py [--products 20000]

Migrates the target database, deletes the bench products, writes the CSV in the exact Shopify
export layout (Shopify's product CSV header), then times: the first import (creates
everything, with history rows, prices on the webshop and completeness), a repeated import (nothing
changes) and an import where every price changed (updates and price.changed events). Images are
left out (their fetching is the media task's job, not the import's).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from catalog.imports.services import products_import  # noqa: E402
from catalog.models import Product  # noqa: E402
from channels.services import channel_upsert  # noqa: E402
from demo.catalog import gtin13  # noqa: E402

HEADER = (ROOT.parent / "shared" / "data" / "shopify" / "apparel.csv").read_text().splitlines()[0]
SIZES = ["XS", "S", "M", "L", "XL"]


def shopify_csv(products: int, price_bump: int = 0) -> bytes:
    columns = HEADER.split(",")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for index in range(products):
        for position, size in enumerate(SIZES):
            row = dict.fromkeys(columns, "")
            row.update(
                {
                    "Handle": f"bench-{index:06d}",
                    "Option1 Value": size,
                    "Variant SKU": f"BENCH-{index:06d}-{size}",
                    "Variant Grams": "300",
                    "Variant Price": f"{19 + index % 50 + price_bump}.95",
                    "Variant Barcode": gtin13(500_000_000 + index * 10 + position),
                    "Variant Inventory Qty": "",
                }
            )
            if position == 0:
                row.update(
                    {
                        "Title": f"Bench Tee {index}",
                        "Body (HTML)": "<p>Organic cotton.</p>",
                        "Vendor": "Bench",
                        "Type": "Tee",
                        "Option1 Name": "Size",
                    }
                )
            writer.writerow([row[c] for c in columns])
    return out.getvalue().encode()


def timed(label: str, data: bytes) -> None:
    started = time.perf_counter()
    summary = products_import(data=data, price_channel_code="webshop")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    counts = {k: v for k, v in summary.as_dict().items() if v}
    print(f"{connection.vendor} {label}: {elapsed:.1f} s, peak RSS {peak:.0f} MiB, {counts}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=20_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    channel_upsert(code="webshop", name="Webshop", kind="webshop", currency="EUR", locale="en")
    Product.objects.filter(handle__startswith="bench-").delete()
    data = shopify_csv(args.products)
    print(f"{args.products * len(SIZES):,} variant rows, {len(data) / 2**20:.1f} MiB of CSV")
    timed("first import", data)
    timed("same file again", data)
    timed("every price changed", shopify_csv(args.products, price_bump=1))


if __name__ == "__main__":
    main()
