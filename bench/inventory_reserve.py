"""Benchmark, in one run on PostgreSQL: the reserve path through the service, through HTTP
(gunicorn, ``POST /api/v1/stock/holds/``) and as raw SQL through pgbench; a hot-SKU flash sale
(one SKU, 1,000 units, 32 concurrent HTTP clients) that must sell exactly 1,000 with no 5xx;
availability lookups per second.

    createdb -h 127.0.0.1 -U postgres omnihub_inv
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_inv
    .venv/bin/python bench/inventory_reserve.py [--seconds 5] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database (the comparison with pgbench needs one).")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from catalog.models import Product, Variant  # noqa: E402
from core.api.services import partner_api_key_create  # noqa: E402
from core.models import Partner  # noqa: E402
from inventory.models import Location, StockHold, StockLevel  # noqa: E402
from inventory.selectors import availability_for_variants  # noqa: E402
from inventory.services import StockLine, stock_reserve  # noqa: E402
from inventory.stock_feed import FeedRow, stock_counts_apply  # noqa: E402


def _free_port() -> int:
    # A port nobody listens on (other people's servers may run on the same machine).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()
COLD = 100


def setup() -> tuple[Location, list[Variant], Variant, str]:
    call_command("migrate", verbosity=0)
    store, _ = Location.objects.get_or_create(
        code="bench-store", defaults={"name": "Bench store", "kind": "store", "country": "NL"}
    )
    StockHold.objects.filter(stock__location=store).delete()
    product, _ = Product.objects.get_or_create(handle="bench-reserve", defaults={"name": "Bench"})
    variants = [
        Variant.objects.get_or_create(
            product=product, sku=f"BENCH-COLD-{n:03d}", defaults={"options": {"n": str(n)}}
        )[0]
        for n in range(COLD)
    ]
    hot = Variant.objects.get_or_create(
        product=product, sku="BENCH-HOT", defaults={"options": {"n": "hot"}}
    )[0]
    # Absolute counts through the ledger (re-runs start from the same levels, no drift).
    stock_counts_apply(
        rows=[
            FeedRow(n, v.pk, store.pk, 1_000 if v == hot else 1_000_000, "bench", "bench")
            for n, v in enumerate([*variants, hot], start=2)
        ]
    )
    partner, _ = Partner.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    _key, raw = partner_api_key_create(
        partner=partner,
        name="bench",
        scopes=["stock:read", "stock:write"],
        rate_limit="10000000/min",
    )
    return store, variants, hot, raw


def service_rate(store: Location, variants: list[Variant], threads: int, seconds: float) -> float:
    done = Counter()

    def run(n: int) -> None:
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            variant = variants[(n * 7 + i) % len(variants)]
            stock_reserve(
                lines=[StockLine(variant.pk, store.pk, 1)],
                reference=f"svc-{n}-{i}",
                ttl=timedelta(hours=1),
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


def http_load(
    raw_key: str, threads: int, seconds: float, request: object, stop_on: int | None = None
) -> tuple[Counter[int], list[float], float]:
    """``request(n, i) -> (method, path, body)``; returns status counts, latencies (ms), elapsed."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def run(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            method, path, body = request(n, i)  # type: ignore[operator]
            t0 = time.perf_counter()
            conn.request(
                method,
                path,
                body=body,
                headers={"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                statuses[response.status] += 1
                latencies.append(elapsed)
            i += 1
            if stop_on is not None and response.status == stop_on:
                break
        conn.close()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return statuses, latencies, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 2 else float("nan")


def pgbench(store: Location, variants: list[Variant], clients: int, seconds: int) -> float:
    levels = sorted(
        StockLevel.objects.filter(location=store, variant__in=variants).values_list("id", flat=True)
    )
    assert levels == list(range(levels[0], levels[0] + len(levels))), (
        "bench levels must be contiguous"
    )
    url = urlparse(os.environ["DATABASE_URL"])
    result = subprocess.run(
        [
            "pgbench",
            "-n",
            "-h",
            url.hostname or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            "-D",
            f"first_level={levels[0]}",
            "-D",
            f"levels={len(levels)}",
            "-f",
            str(ROOT / "bench" / "inventory_reserve.sql"),
            url.path.lstrip("/"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    args = parser.parse_args()
    store, variants, hot, raw_key = setup()
    print(
        f"PostgreSQL {connection.pg_version}, {os.cpu_count()} cores; "
        f"{args.seconds:.0f} s per measurement"
    )

    for threads in (1, 8):
        print(
            f"service stock_reserve, {threads} thread(s): "
            f"{service_rate(store, variants, threads, args.seconds):8.0f} holds/s"
        )
    for clients in (1, 8):
        print(
            f"raw SQL (pgbench), {clients} client(s):    "
            f"{pgbench(store, variants, clients, int(args.seconds)):8.0f} holds/s"
        )

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{PORT}",
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
                probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not answer /healthz")
        skus = [v.sku for v in variants]

        def hold(n: int, i: int) -> tuple[str, str, str]:
            body = {
                "reference": f"http-{n}-{i}",
                "lines": [
                    {"location": "bench-store", "sku": skus[(n * 7 + i) % len(skus)], "quantity": 1}
                ],
            }
            return "POST", "/api/v1/stock/holds/", json.dumps(body)

        for clients in (1, 8):
            statuses, latencies, elapsed = http_load(raw_key, clients, args.seconds, hold)
            print(
                f"HTTP POST /stock/holds/, {clients} client(s): "
                f"{sum(statuses.values()) / elapsed:8.0f} holds/s, "
                f"p50 {pct(latencies, 50):.1f} ms, p95 {pct(latencies, 95):.1f} ms, "
                f"{dict(statuses)} ({args.workers} gunicorn workers)"
            )

        def flash(n: int, i: int) -> tuple[str, str, str]:
            body = {
                "reference": f"flash-{n}-{i}",
                "lines": [{"location": "bench-store", "sku": "BENCH-HOT", "quantity": 1}],
            }
            return "POST", "/api/v1/stock/holds/", json.dumps(body)

        statuses, latencies, elapsed = http_load(raw_key, 32, 120, flash, stop_on=409)
        held = sum(
            StockHold.objects.filter(stock__variant=hot, status="active").values_list(
                "quantity", flat=True
            )
        )
        errors = sum(count for status, count in statuses.items() if status >= 500)
        print(
            f"flash sale, 1 SKU x 1,000 units, 32 clients: {statuses[201]} sold, "
            f"{held} held in the database, "
            f"{errors} 5xx, {dict(statuses)}, {elapsed:.1f} s, p95 {pct(latencies, 95):.0f} ms"
        )
        assert statuses[201] == held == 1000 and errors == 0, (
            "the flash sale must sell exactly 1,000"
        )

        query = "/api/v1/availability/?channel=bench&sku=" + ",".join(skus[:10])
        from channels.services import channel_upsert

        channel, _ = channel_upsert(
            code="bench",
            name="Bench",
            kind="webshop",
            currency="EUR",
            locale="en",
            location_ids=[store.pk],
        )
        Partner.objects.get(code="bench").channels.add(channel)
        statuses, latencies, elapsed = http_load(
            raw_key, 8, args.seconds, lambda n, i: ("GET", query, None)
        )
        print(
            f"HTTP GET /availability/ (10 SKUs), 8 clients: "
            f"{sum(statuses.values()) / elapsed:8.0f} req/s, "
            f"p50 {pct(latencies, 50):.1f} ms, p95 {pct(latencies, 95):.1f} ms, {dict(statuses)}"
        )
    finally:
        server.terminate()
        server.wait()
    ids = [v.pk for v in variants]
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < args.seconds:
        availability_for_variants(variant_ids=ids)
        n += 1
    print(
        f"availability_for_variants, 100 SKUs, 1 thread: {n / args.seconds:8.0f} lookups/s "
        f"({100 * n / args.seconds:.0f} SKUs/s)"
    )


if __name__ == "__main__":
    main()
