"""Benchmark: customer resolution, loyalty redemptions under contention, and the Customer 360
page with a long history.

    .venv/bin/python bench/customers_loyalty.py                 # SQLite in a temporary file
    DATABASE_URL=postgres://... .venv/bin/python bench/customers_loyalty.py

Migrates the target database, then prints:
- the time of 1,000 resolutions of new customers (email + phone + card) and 1,000 repeat
  resolutions of the same identifiers (the path every order takes);
- 800 one-point redemptions on one customer from 8 threads (PostgreSQL only: every redemption
  queues on the customer's lock), with the final balance checked exact;
- the query count and time of the Customer 360 selectors for a customer with 5,000 ledger rows.
The bench data is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from customers import selectors, services  # noqa: E402
from customers.models import Customer, CustomerAudit, MergeAudit  # noqa: E402

N = 1_000
PREFIX = "bench-cust"


def resolve_many() -> None:
    start = time.perf_counter()
    for n in range(N):
        services.customer_resolve(
            email=f"{PREFIX}-{n}@example.com",
            phone=f"+3161{n:07d}",
            loyalty_card=f"BENCH{n:06d}",
            channel_code="bench",
        )
    new = time.perf_counter() - start
    start = time.perf_counter()
    for n in range(N):
        services.customer_resolve(
            email=f"{PREFIX}-{n}@example.com", phone=f"+3161{n:07d}", channel_code="bench"
        )
    repeat = time.perf_counter() - start
    print(f"resolve {N} new customers: {new:.2f} s ({N / new:.0f}/s)")
    print(f"resolve {N} known customers: {repeat:.2f} s ({N / repeat:.0f}/s)")


def redeem_race(customer_id: int) -> None:
    if connection.vendor != "postgresql":
        print("redemption race: skipped (needs PostgreSQL)")
        return
    services.loyalty_earn(
        customer_id=customer_id,
        amount=Decimal("1000"),
        currency="EUR",
        channel_code="bench",
        reference=f"{PREFIX}-race",
    )
    before = selectors.loyalty_balance(customer_id=customer_id)

    def redeem(n: int) -> None:
        try:
            services.loyalty_redeem(
                customer_id=customer_id, points=1, channel_code="bench", reference=f"{PREFIX}-r{n}"
            )
        finally:
            connections.close_all()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(redeem, range(800)))
    took = time.perf_counter() - start
    after = selectors.loyalty_balance(customer_id=customer_id)
    assert after == before - 800, (before, after)
    print(f"800 redemptions on one customer, 8 threads: {took:.2f} s ({800 / took:.0f}/s), exact")


def history(customer_id: int) -> None:
    for n in range(2_500):
        services.loyalty_earn(
            customer_id=customer_id,
            amount=Decimal("3"),
            currency="EUR",
            channel_code="bench",
            reference=f"{PREFIX}-h{n}",
        )
        services.loyalty_redeem(
            customer_id=customer_id, points=1, channel_code="bench", reference=f"{PREFIX}-hr{n}"
        )
    reset_queries()  # the query log is capped; start counting from an empty one
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        story = selectors.customer_360(customer_id=customer_id)
    took = time.perf_counter() - start
    assert story is not None
    print(
        f"customer_360 with {selectors.loyalty_ledger(customer_id=customer_id).count()} ledger "
        f"rows: {len(queries.captured_queries)} queries, {took * 1000:.1f} ms"
    )


def cleanup() -> None:
    ids = list(
        Customer.objects.filter(channel_links__channel_code="bench").values_list("pk", flat=True)
    )
    CustomerAudit.objects.filter(customer_id__in=ids).delete()
    MergeAudit.objects.filter(survivor_id__in=ids).delete()
    Customer.objects.filter(pk__in=ids).delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    cleanup()
    try:
        resolve_many()
        first = Customer.objects.get(identifiers__value=f"{PREFIX}-0@example.com")
        redeem_race(first.pk)
        history(first.pk)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
