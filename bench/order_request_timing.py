"""In-process cost of one order request: ``POST /api/v1/orders/`` (one line, ship, a new customer
email each time) through Django's test ``Client`` with a real API key, on PostgreSQL (and Redis
for the cache when ``REDIS_URL`` is set). No HTTP server and no load generator: what the request
costs inside Django, as a median and percentiles over ``--requests`` requests after a warm-up,
the CPU time of this process alone (Python, Django, the driver; not the database server) and
the number of queries of one request (outside a test transaction: BEGIN/COMMIT are not
counted, nested atomic blocks are savepoints). Run it with ``CELERY_TASK_ALWAYS_EAGER=false`` and a
``REDIS_URL``: the tasks kicked after the commit (confirmation email, outbox relay) are then
queued as in production instead of running inside the request.

    createdb -h 127.0.0.1 -U postgres omnihub_ordtime
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_ordtime \\
      REDIS_URL=redis://127.0.0.1:6379/8 CELERY_TASK_ALWAYS_EAGER=false \\
      DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/order_request_timing.py
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from catalog import services as catalog_services  # noqa: E402
from catalog.models import Product, Variant  # noqa: E402
from channels.services import channel_upsert  # noqa: E402
from core.api.services import partner_api_key_create  # noqa: E402
from core.models import Partner  # noqa: E402
from inventory.models import Location  # noqa: E402
from inventory.stock_feed import FeedRow, stock_counts_apply  # noqa: E402
from tests.catalog.factories import complete_product  # noqa: E402


def setup() -> tuple[str, str]:
    call_command("migrate", verbosity=0)
    warehouse, _ = Location.objects.get_or_create(
        code="time-orders-dc",
        defaults={"name": "Timing DC", "kind": "warehouse", "country": "NL", "ships_orders": True},
    )
    channel, _ = channel_upsert(
        code="time-orders",
        name="Timing orders",
        kind="webshop",
        currency="EUR",
        locale="en",
        location_ids=[warehouse.pk],
    )
    if not Product.objects.filter(handle="time-order-tee").exists():
        product = complete_product(channel, name="Time Order Tee", sizes=("m",))
        catalog_services.product_submit(product_ids=[product.pk])
        catalog_services.product_approve(product_ids=[product.pk])
        catalog_services.product_publish(product_ids=[product.pk], channel_code=channel.code)
    variant = Variant.objects.filter(product__handle="time-order-tee").get()
    stock_counts_apply(rows=[FeedRow(2, variant.pk, warehouse.pk, 10_000_000, "time", "time")])
    partner, _ = Partner.objects.get_or_create(code="time-orders", defaults={"name": "Timing"})
    partner.channels.add(channel)
    _key, raw = partner_api_key_create(
        partner=partner, name="timing", scopes=["orders:read", "orders:write"]
    )
    return raw, variant.sku


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--profile", type=int, default=0, help="print the top N functions of a cProfile run"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL database")
    raw, sku = setup()
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    run = uuid.uuid4().hex[:8]

    def order(n: int) -> None:
        response = client.post(
            "/api/v1/orders/",
            {
                "channel": "time-orders",
                "customer": {"email": f"t-{run}-{n}@example.com"},
                "lines": [{"sku": sku, "quantity": 1}],
                "fulfillment": {"method": "ship", "address": {"country": "NL"}},
                "payment_status": "captured",
            },
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"{run}-{n}",
        )
        assert response.status_code == 201, response.content

    for n in range(args.warmup):
        order(-1 - n)
    queries: list[str] = []

    def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        order(0)
    times, cpu = [], []
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    for n in range(1, args.requests + 1):
        started, started_cpu = time.perf_counter(), time.process_time()
        order(n)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    if profiler:
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"{args.requests} requests: median {statistics.median(times):.2f} ms, "
        f"mean {statistics.fmean(times):.2f} ms, p95 {p95:.2f} ms; "
        f"this process's CPU median {statistics.median(cpu):.2f} ms; "
        f"{len(queries)} queries a request"
    )


if __name__ == "__main__":
    main()
