"""Benchmark, in one run on PostgreSQL: order placement with the commerce layer (three running
promotions, a shipping method quoted for the address, tax per line and on shipping) against the
plain path (no promotion on the channel, the caller's shipping charge), the same two-line ship
orders over the same 30 SKUs and warehouse. Issue 17's target: the money path keeps at least
85 % of the plain rate.

Both paths are measured in alternating rounds (plain, money, plain, money, ...) so that drift
on a shared machine hits both alike: the ``order_place`` service called directly, then
``POST /api/v1/orders/`` under gunicorn.

    createdb -h 127.0.0.1 -U postgres omnihub_ord
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_ord
    .venv/bin/python bench/orders_money.py [--seconds 4] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import inventory_reserve as reserve_bench  # noqa: E402  (sets Django up, checks PostgreSQL)
import orders_place as plain_bench  # noqa: E402
import stack  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from catalog import services as catalog_services  # noqa: E402
from catalog.models import Variant  # noqa: E402
from channels.services import channel_upsert  # noqa: E402
from core.models import Channel, Partner  # noqa: E402
from core.services import channel_countries_set  # noqa: E402
from orders.models import Order, Promotion  # noqa: E402
from orders.services import LineInput, order_place  # noqa: E402
from orders.shipping import RateSpec, ZoneSpec, shipping_method_upsert  # noqa: E402

PLAIN, MONEY = "bench-orders", "bench-money"
ADDRESS = {"country": "NL", "postal_code": "1011 AB", "city": "Amsterdam", "line1": "Dam 1"}


def setup() -> tuple[list[Variant], str]:
    warehouse, variants, raw_key = plain_bench.setup()
    channel, _ = channel_upsert(
        code=MONEY,
        name="Bench money",
        kind="webshop",
        currency="EUR",
        locale="en",
        location_ids=[warehouse.pk],
    )
    channel_countries_set(channel=channel, countries=["NL"])
    channel_countries_set(channel=Channel.objects.get(code=PLAIN), countries=["NL"])
    for variant in variants:
        catalog_services.price_set(variant_id=variant.pk, channel_code=MONEY, amount="19.99")
    product_ids = sorted({v.product_id for v in variants})
    catalog_services.product_publish(product_ids=product_ids, channel_code=MONEY)
    Partner.objects.get(code="bench-orders").channels.add(channel)
    Promotion.objects.filter(name__startswith="bench-money ").delete()
    now = timezone.now()
    for name, kind, value, threshold in (
        ("bench-money 10 % off", Promotion.Kind.PERCENT_OFF, "10", "0"),
        ("bench-money 5 off over 30", Promotion.Kind.SPEND_THRESHOLD, "5", "30"),
        ("bench-money free shipping over 25", Promotion.Kind.FREE_SHIPPING, "0", "25"),
    ):
        promotion = Promotion.objects.create(
            name=name,
            kind=kind,
            value=Decimal(value),
            threshold=Decimal(threshold),
            starts_at=now,
            ends_at=now + timezone.timedelta(days=1),
        )
        promotion.channels.set([channel])
    shipping_method_upsert(
        code="bench-post",
        channel_codes=[MONEY],
        zones=[ZoneSpec(country="NL")],
        rates=[RateSpec(price=Decimal("4.95"), up_to_weight_grams=None)],
        name="Bench post",
        carrier="Bench",
        service="Standard",
        currency="EUR",
        rate_basis="weight",
        transit_days=1,
    )
    return variants, raw_key


def lines_for(skus: list[str], i: int) -> list[LineInput]:
    return [LineInput(skus[i % len(skus)], 1), LineInput(skus[(i + 11) % len(skus)], 1)]


def place_plain(skus: list[str], i: int) -> Order:
    return order_place(
        channel_code=PLAIN,
        lines=lines_for(skus, i),
        method="ship",
        address=ADDRESS,
        shipping_total=Decimal("4.95"),
    ).order


def place_money(skus: list[str], i: int) -> Order:
    return order_place(
        channel_code=MONEY,
        lines=lines_for(skus, i),
        method="ship",
        address=ADDRESS,
        shipping_method="bench-post",
    ).order


def service_rate(place, skus: list[str], seconds: float) -> float:
    end = time.perf_counter() + seconds
    started = time.perf_counter()
    i = 0
    while time.perf_counter() < end:
        place(skus, i)
        i += 1
    return i / (time.perf_counter() - started)


def http_body(channel: str, skus: list[str], i: int) -> str:
    body: dict[str, object] = {
        "channel": channel,
        "lines": [{"sku": line.sku, "quantity": 1} for line in lines_for(skus, i)],
        "fulfillment": {"method": "ship", "address": ADDRESS},
    }
    if channel == MONEY:
        body["shipping_method"] = "bench-post"
    else:
        body["shipping_total"] = "4.95"
    return json.dumps(body)


def gunicorn(workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "GUNICORN_WORKERS": str(workers),
    }
    return stack.start_gunicorn(env, reserve_bench.PORT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4, help="per round and path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=4, help="HTTP connections")
    args = parser.parse_args()
    variants, raw_key = setup()
    skus = [v.sku for v in variants]
    # The money path really prices: promotions, the quoted shipping, tax lines.
    sample = place_money(skus, 0)
    assert sample.discount_total > 0 and sample.tax_total > 0, "the money path did not price"
    assert sample.shipping_method == "bench-post" and sample.tax_lines.exists()
    print(
        f"PostgreSQL {connection.pg_version}, {os.cpu_count()} cores; {args.rounds} rounds of "
        f"{args.seconds:.0f} s per path; 2-line ship orders over {len(skus)} SKUs; sample money "
        f"order: subtotal {sample.subtotal}, discounts {sample.discount_total}, shipping "
        f"{sample.shipping_total} (discount {sample.shipping_discount}), tax {sample.tax_total}, "
        f"total {sample.total}"
    )
    rates: dict[str, list[float]] = {"plain": [], "money": []}
    service_rate(place_plain, skus, 1)  # warm up both paths
    service_rate(place_money, skus, 1)
    for _ in range(args.rounds):
        rates["plain"].append(service_rate(place_plain, skus, args.seconds))
        rates["money"].append(service_rate(place_money, skus, args.seconds))
    plain, money = statistics.median(rates["plain"]), statistics.median(rates["money"])
    print(
        f"service order_place, 1 thread: plain {plain:6.1f} orders/s, money {money:6.1f} "
        f"orders/s: {money / plain:.0%} of plain (rounds: plain "
        f"{[round(r, 1) for r in rates['plain']]}, money {[round(r, 1) for r in rates['money']]})"
    )
    connection.close()
    server = gunicorn(args.workers)
    try:
        results: dict[str, list[tuple[float, float, float]]] = {"plain": [], "money": []}

        def request_for(channel: str):
            return lambda n, i: ("POST", "/api/v1/orders/", http_body(channel, skus, n * 7 + i))

        for channel in (PLAIN, MONEY):  # warm every worker up on both paths
            reserve_bench.http_load(raw_key, args.workers, 2, request_for(channel))
        for _ in range(args.rounds):
            for label, channel in (("plain", PLAIN), ("money", MONEY)):
                statuses, latencies, elapsed = reserve_bench.http_load(
                    raw_key, args.clients, args.seconds, request_for(channel)
                )
                bad = {s: n for s, n in statuses.items() if not 200 <= int(s) < 300}
                assert not bad, f"{label}: non-2xx answers {bad}"
                results[label].append(
                    (
                        sum(statuses.values()) / elapsed,
                        reserve_bench.pct(latencies, 50),
                        reserve_bench.pct(latencies, 95),
                    )
                )
    finally:
        server.terminate()
        server.wait()
    summary = {
        label: tuple(statistics.median(r[k] for r in rows) for k in range(3))
        for label, rows in results.items()
    }
    for label, (rate, p50, p95) in summary.items():
        print(
            f"HTTP POST /orders/ {label}, {args.clients} clients, {args.workers} workers: "
            f"{rate:6.1f} req/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
    print(f"HTTP money / plain: {summary['money'][0] / summary['plain'][0]:.0%}")


if __name__ == "__main__":
    main()
