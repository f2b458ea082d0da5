"""Benchmark: server time of the dashboard (per role), the report pages and the reporting API on
the large demo dataset (20,000 products, 100,000 variants, over 200,000 orders in 12 months).

    createdb -h 127.0.0.1 -U postgres omnihub_large
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --size large
    .venv/bin/python bench/reports_pages.py [--runs 10]

Renders each page through Django's test client (server time only, no network), logged in as the
demo user of each role; prints the median, the slowest run (the 95th percentile from 20 runs on)
and the number of queries. The target is 500 ms of server time for every dashboard and report
page (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from orders.models import Order  # noqa: E402
from reports.models import DailySales  # noqa: E402

TARGET_MS = 500.0
worst: list[tuple[float, str]] = []


def measure(client: Client, label: str, url: str, runs: int) -> None:
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            try:
                response = client.get(url)
            except Exception as error:  # a page broken by something else: say so, go on
                print(f"{label:<58} FAILED: {type(error).__name__}: {str(error)[:80]!r}")
                return
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    tail, tail_name = (
        (max(times), "slowest") if runs < 20 else (statistics.quantiles(times, n=20)[-1], "p95")
    )
    median = statistics.median(times)
    worst.append((median, label))
    flag = "" if median <= TARGET_MS else "  OVER TARGET"
    print(
        f"{label:<58} median {median:6.1f} ms, {tail_name} {tail:6.1f} ms, "
        f"{len(captured.captured_queries):3d} queries{flag}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    print(
        f"{connection.vendor}: {Order.objects.count():,} orders, "
        f"{DailySales.objects.count():,} daily sales rows; {runs} runs each"
    )
    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=True)
    for username in (
        "admin",
        "merchandiser",
        "inventory",
        "manager",
        "service",
        "operator",
    ):
        client.force_login(User.objects.get(username=username))
        for days in (30, 90):
            measure(
                client,
                f"dashboard /admin/ as {username}, {days} days",
                f"/admin/?days={days}",
                runs,
            )
    client.force_login(User.objects.get(username="admin"))
    today = timezone.localdate()
    year = f"start={today - timedelta(days=364)}&end={today}"
    pages = [
        ("sales", ""),
        ("sales", f"{year}&group_by=week"),
        ("sales", f"{year}&group_by=month&channel=webshop"),
        ("sell-through", ""),
        ("sell-through", f"{year}&by=category"),
        ("sell-through", f"{year}&by=location"),
        ("returns", ""),
        ("returns", f"{year}&by=product"),
        ("returns", f"{year}&by=reason"),
        ("customers", ""),
        ("customers", year),
        ("margin", ""),
        ("margin", f"{year}&by=category"),
        ("fulfilment", ""),
        ("fulfilment", year),
        ("stock", ""),
        ("stock", year),
    ]
    for slug, query in pages:
        label = f"/admin/reports/{slug}/" + (
            f" ({query.split('&', 2)[-1]}, 12 months)" if query else ""
        )
        measure(client, label, f"/admin/reports/{slug}/?{query}", runs)
    for slug in ("sales", "stock", "returns", "fulfilment"):
        measure(
            client,
            f"API /api/v1/reports/{slug}/ (12 months)",
            f"/api/v1/reports/{slug}/?{year}",
            runs,
        )
    slowest = max(worst)
    print(f"slowest median: {slowest[0]:.1f} ms ({slowest[1]}); target {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
