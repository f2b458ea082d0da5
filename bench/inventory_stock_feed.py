"""Benchmark: an ERP/WMS stock feed of 100,000 rows (20,000 variants x 5 locations).

    createdb -h 127.0.0.1 -U postgres omnihub_feed_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_feed_bench
    .venv/bin/python bench/inventory_stock_feed.py

Creates the bench variants and locations when missing (bulk), then times: the first feed (every
level created and counted: 100,000 count movements and stock.changed events), the same file again
(nothing changes, nothing written), and a feed where every count changed.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from catalog.models import Product, Variant  # noqa: E402
from inventory.models import Location, StockLevel, StockMovement  # noqa: E402
from inventory.stock_feed import stock_feed_apply  # noqa: E402

VARIANTS, LOCATIONS = 20_000, 5


def setup() -> None:
    call_command("migrate", verbosity=0)
    StockMovement.objects.filter(stock__location__code__startswith="feed-").delete()
    StockLevel.objects.filter(location__code__startswith="feed-").delete()
    if not Variant.objects.filter(sku__startswith="FEED-").exists():
        products = Product.objects.bulk_create(
            [Product(handle=f"feed-{n}", name=f"Feed {n}") for n in range(VARIANTS // 5)],
            batch_size=2000,
        )
        Variant.objects.bulk_create(
            [
                Variant(product=p, sku=f"FEED-{i:05d}-{s}", options={"size": str(s)})
                for i, p in enumerate(products)
                for s in range(5)
            ],
            batch_size=5000,
        )
    for n in range(LOCATIONS):
        Location.objects.get_or_create(
            code=f"feed-{n}", defaults={"name": f"Feed {n}", "kind": "store", "country": "NL"}
        )


def feed(bump: int) -> bytes:
    skus = list(
        Variant.objects.filter(sku__startswith="FEED-")
        .order_by("sku")
        .values_list("sku", flat=True)
    )
    lines = ["sku,location,on_hand,reference"]
    lines += [
        f"{sku},feed-{n},{(i + n) % 40 + bump},WMS"
        for i, sku in enumerate(skus)
        for n in range(LOCATIONS)
    ]
    return ("\n".join(lines) + "\n").encode()


def timed(label: str, data: bytes) -> None:
    started = time.perf_counter()
    summary = stock_feed_apply(data=data)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{connection.vendor} {label}: {elapsed:.1f} s for {summary.rows:,} rows "
        f"({summary.levels_changed:,} changed), peak RSS {peak:.0f} MiB"
    )


def main() -> None:
    setup()
    first = feed(0)
    timed("first feed", first)
    timed("same file again", first)
    timed("every count changed", feed(1))


if __name__ == "__main__":
    main()
