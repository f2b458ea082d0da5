"""Benchmark: availability for many SKUs, and holds taken one after another.

    .venv/bin/python bench/inventory_availability.py            # SQLite in a temporary file
    DATABASE_URL=postgres://... .venv/bin/python bench/inventory_availability.py

Migrates the target database, creates 2,000 variants stocked at 10 locations (20,000 levels,
with 2,000 active holds), then prints the wall time and query count of
``availability_for_variants`` for 100 and 2,000 SKUs, and the time of 500 single-line
``stock_reserve`` calls. The bench data is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
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
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Product, Variant  # noqa: E402
from inventory import selectors, services  # noqa: E402
from inventory.models import Location, StockHold, StockLevel, StockMovement  # noqa: E402
from inventory.services import StockLine  # noqa: E402

VARIANTS, LOCATIONS = 2_000, 10


def setup() -> tuple[list[int], list[int]]:
    product = Product.objects.create(handle="bench-inventory", name="Bench")
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"BENCH-{n:05d}", options={"n": n}) for n in range(VARIANTS)
    )
    locations = [
        Location.objects.create(
            code=f"bench-{n}",
            name=f"Bench {n}",
            kind="store",
            country="NL",
            latitude=52 + n / 100,
            longitude=4 + n / 100,
        )
        for n in range(LOCATIONS)
    ]
    for location in locations:
        services.stock_receive(
            lines=[StockLine(v.pk, location.pk, 5) for v in variants], reference="bench"
        )
    services.stock_reserve(
        lines=[StockLine(v.pk, locations[0].pk, 1) for v in variants],
        reference="bench-cart",
        ttl=timedelta(hours=1),
    )
    return [v.pk for v in variants], [loc.pk for loc in locations]


def teardown(location_ids: list[int]) -> None:
    StockHold.objects.filter(stock__location_id__in=location_ids).delete()
    StockMovement.objects.filter(stock__location_id__in=location_ids).delete()
    StockLevel.objects.filter(location_id__in=location_ids).delete()
    Location.objects.filter(pk__in=location_ids).delete()
    Product.objects.filter(handle="bench-inventory").delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    teardown(list(Location.objects.filter(code__startswith="bench-").values_list("pk", flat=True)))
    variant_ids, location_ids = setup()
    try:
        for count in (100, VARIANTS):
            connection.queries_log.clear()  # the setup filled the bounded log
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = selectors.availability_for_variants(
                    variant_ids=variant_ids[:count], location_ids=location_ids
                )
                elapsed = time.perf_counter() - started
            assert result[variant_ids[0]].total == 5 * LOCATIONS - 1
            print(
                f"availability for {count} SKUs x {LOCATIONS} locations: "
                f"{elapsed * 1000:.1f} ms, {len(queries)} queries"
            )
        started = time.perf_counter()
        for n in range(500):
            services.stock_reserve(
                lines=[StockLine(variant_ids[n], location_ids[1], 1)],
                reference=f"bench-{n}",
                ttl=timedelta(minutes=5),
            )
        elapsed = time.perf_counter() - started
        print(f"500 stock_reserve calls: {elapsed:.2f} s ({elapsed / 500 * 1000:.1f} ms each)")
    finally:
        teardown(location_ids)


if __name__ == "__main__":
    main()
