"""Benchmark, in one run on PostgreSQL: order placement throughput through HTTP
(``POST /api/v1/orders/`` under gunicorn) against the minimal reserve endpoint
(``POST /api/v1/stock/holds/``) and raw SQL (pgbench running the SQL of one hold), plus the
``order_place`` service called directly. One-line ship orders over 30 SKUs with plenty of stock.

    createdb -h 127.0.0.1 -U postgres omnihub_ord
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_ord
    .venv/bin/python bench/orders_place.py [--seconds 5] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import inventory_reserve as reserve_bench  # noqa: E402  (sets Django up, checks PostgreSQL)
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from catalog import services as catalog_services  # noqa: E402
from catalog.models import Product, Variant  # noqa: E402
from channels.services import channel_upsert  # noqa: E402
from core.api.services import partner_api_key_create  # noqa: E402
from core.models import Partner  # noqa: E402
from inventory.models import Location, StockLevel  # noqa: E402
from inventory.stock_feed import FeedRow, stock_counts_apply  # noqa: E402
from orders.models import Order  # noqa: E402
from orders.services import LineInput, order_place  # noqa: E402
from tests.catalog.factories import complete_product  # noqa: E402

PRODUCTS = 10  # x 3 sizes = 30 SKUs


def setup() -> tuple[Location, list[Variant], str]:
    call_command("migrate", verbosity=0)
    warehouse, _ = Location.objects.get_or_create(
        code="bench-orders-dc",
        defaults={"name": "Bench DC", "kind": "warehouse", "country": "NL", "ships_orders": True},
    )
    channel, _ = channel_upsert(
        code="bench-orders",
        name="Bench orders",
        kind="webshop",
        currency="EUR",
        locale="en",
        location_ids=[warehouse.pk],
    )
    for n in range(PRODUCTS):
        if not Product.objects.filter(handle=f"bench-order-tee-{n}").exists():
            product = complete_product(channel, name=f"Bench Order Tee {n}", sizes=("s", "m", "l"))
            catalog_services.product_submit(product_ids=[product.pk])
            catalog_services.product_approve(product_ids=[product.pk])
            catalog_services.product_publish(product_ids=[product.pk], channel_code=channel.code)
    variants = list(
        Variant.objects.filter(product__handle__startswith="bench-order-tee-").order_by("pk")
    )
    # Absolute counts: re-runs start from the same on hand (committed units stay committed).
    stock_counts_apply(
        rows=[
            FeedRow(n, v.pk, warehouse.pk, 10_000_000, "bench", "bench")
            for n, v in enumerate(variants, start=2)
        ]
    )
    partner, _ = Partner.objects.get_or_create(code="bench-orders", defaults={"name": "Bench"})
    partner.channels.add(channel)
    _key, raw = partner_api_key_create(
        partner=partner,
        name="bench",
        scopes=["stock:read", "stock:write", "orders:read", "orders:write"],
        rate_limit="10000000/min",
    )
    return warehouse, variants, raw


def service_rate(skus: list[str], threads: int, seconds: float) -> float:
    done: Counter[int] = Counter()

    def run(n: int) -> None:
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            order_place(
                channel_code="bench-orders",
                lines=[LineInput(skus[(n * 7 + i) % len(skus)], 1)],
                method="ship",
                address={"country": "NL"},
                shipping_total=Decimal("4.95"),
            )
            i += 1
        done[n] = i
        connection.close()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done.values()) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    args = parser.parse_args()
    warehouse, variants, raw_key = setup()
    skus = [v.sku for v in variants]
    print(
        f"PostgreSQL {connection.pg_version}, {os.cpu_count()} cores; "
        f"{args.seconds:.0f} s per measurement; {len(skus)} SKUs"
    )
    before = Order.objects.count()
    for threads in (1, 4):
        rate = service_rate(skus, threads, args.seconds)
        print(f"service order_place, {threads} thread(s): {rate:8.0f} orders/s")
    for clients in (1, 8):
        rate = reserve_bench.pgbench(warehouse, variants, clients, int(args.seconds))
        print(f"raw SQL hold (pgbench), {clients} client(s): {rate:8.0f} holds/s")

    port = reserve_bench.PORT
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(300):
            assert server.poll() is None, "gunicorn did not start"
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not answer /healthz")

        def place(n: int, i: int) -> tuple[str, str, str]:
            body = {
                "channel": "bench-orders",
                "lines": [{"sku": skus[(n * 7 + i) % len(skus)], "quantity": 1}],
                "fulfillment": {"method": "ship", "address": {"country": "NL"}},
                "shipping_total": "4.95",
            }
            return "POST", "/api/v1/orders/", json.dumps(body)

        def hold(n: int, i: int) -> tuple[str, str, str]:
            body = {
                "reference": f"bench-order-hold-{time.time_ns()}-{n}-{i}",
                "lines": [
                    {
                        "location": "bench-orders-dc",
                        "sku": skus[(n * 7 + i) % len(skus)],
                        "quantity": 1,
                    }
                ],
            }
            return "POST", "/api/v1/stock/holds/", json.dumps(body)

        for label, request in (("POST /orders/", place), ("POST /stock/holds/", hold)):
            # warm every gunicorn worker up (imports, connections) before measuring
            reserve_bench.http_load(raw_key, args.workers, 2, request)
            for clients in (1, 8):
                statuses, latencies, elapsed = reserve_bench.http_load(
                    raw_key, clients, args.seconds, request
                )
                print(
                    f"HTTP {label}, {clients} client(s): "
                    f"{sum(statuses.values()) / elapsed:8.0f} req/s, "
                    f"p50 {reserve_bench.pct(latencies, 50):.1f} ms, "
                    f"p95 {reserve_bench.pct(latencies, 95):.1f} ms, {dict(statuses)} "
                    f"({args.workers} gunicorn workers)"
                )
    finally:
        server.terminate()
        server.wait()
    placed = Order.objects.count() - before
    committed = sum(
        StockLevel.objects.filter(location=warehouse).values_list("committed", flat=True)
    )
    print(f"orders placed in this run: {placed}; units committed at the bench DC: {committed}")


if __name__ == "__main__":
    main()
