"""Issue 15's target table in one run: the yardstick, then every hot API path, same load generator.

    .venv/bin/python bench/http_load.py [--seconds 15] [--workers 4] [--threads 1]
        [--connections 8] [--db omnihub_bench] [--only availability-1 ...]

In one run it:

1. starts the yardstick (``$OMNIHUB_SHARED_DIR/bench/yardstick/run.sh``, ``../shared`` beside the
   checkout by default): the least a Django + DRF write endpoint can do, served and loaded the
   same way; for the hot-SKU row, the same yardstick app pointed at one hot row (every request
   reserving the same stock row, as many connections as the hot-SKU run);
2. migrates a dedicated PostgreSQL database (``--db``, created when missing), seeds the small
   demo into it (``seed_demo``, an upsert) and serves the project under
   ``config.settings.production`` with Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/15``)
   by gunicorn (``config/gunicorn.conf.py``; ``--workers``/``--threads``);
3. loads every row of the table with wrk (installed from Debian packages when missing): the
   order load uses only SKUs published on the channel and resets their stock to plenty before
   each figure, so every answer should be 2xx; the hot-SKU variant sends 32 connections at one
   SKU with exactly ``--hot-units`` (1,000) units, takes the rate from the first sale to the
   last, and checks that exactly that many were sold with no 5xx;
4. prints each figure (req/s, p50, p99, non-2xx) with its ratio to the yardstick, each gunicorn
   worker's resident memory after the run, the date and the machine's load.

Needs PostgreSQL at 127.0.0.1:5432 (user postgres), Redis, and ``psql`` on the PATH.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stack import (
    GUNICORN,
    Figure,
    django_setup,
    free_port,
    parse_wrk,
    prepare_database,
    project_env,
    run_wrk,
    run_yardstick,
    shared_dir,
    start_gunicorn,
    wait_port,
    worker_rss_mib,
    wrk_path,
)

BENCH_KEY = "BenchH15.http-load-benchmark-key-not-for-production-use"
CHANNEL = "webshop"
PLENTY = 10_000_000

ROWS = [
    "orders",
    "holds",
    "availability-1",
    "availability-10",
    "products",
    "hot-sku",
]


# --- load generator -------------------------------------------------------------------------------

_LUA_COMMON = """
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  math.randomseed(os.time() * 1000 + tid)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d %d\\n", code, n)) end
end
local function pick(list) return list[math.random(1, #list)] end
local function uid()
  counter = counter + 1
  return string.format("%d-%d-%d-%d", os.time(), tid, counter, math.random(1, 1000000000))
end
"""


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(value) for value in values) + "}"


def lua_script(row: str, *, key: str, skus: list[str], location: str, hot_sku: str) -> str:
    auth = f'wrk.headers["Authorization"] = "Api-Key {key}"\n'
    head = _LUA_COMMON + auth + f"local skus = {_lua_list(skus)}\n"
    if row in ("orders", "hot-sku"):
        sku = f'"{hot_sku}"' if row == "hot-sku" else "pick(skus)"
        return head + (
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            "request = function()\n"
            '  local body = string.format(\'{"channel":"' + CHANNEL + '",'
            '"lines":[{"sku":"%s","quantity":1}],'
            '"fulfillment":{"method":"ship","address":{"name":"Bench","line1":"Kade 1",'
            '"postal_code":"1011AA","city":"Amsterdam","country":"NL"}},'
            '"shipping_total":"4.95","customer":{"email":"bench-%s@load.example"}}\', '
            f"{sku}, uid())\n"
            '  return wrk.format(nil, "/api/v1/orders/", nil, body)\nend\n'
        )
    if row == "holds":
        return head + (
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            "request = function()\n"
            '  local body = string.format(\'{"reference":"bench-%s","lines":'
            f'[{{"location":"{location}","sku":"%s","quantity":1}}]}}\', uid(), pick(skus))\n'
            '  return wrk.format(nil, "/api/v1/stock/holds/", nil, body)\nend\n'
        )
    if row == "availability-1":
        return head + (
            "request = function()\n"
            f'  return wrk.format("GET", "/api/v1/availability/?channel={CHANNEL}&sku=" '
            ".. pick(skus))\n"
            "end\n"
        )
    if row == "availability-10":
        return head + (
            "request = function()\n"
            "  local chosen = {}\n"
            "  for i = 1, 10 do chosen[i] = pick(skus) end\n"
            f'  return wrk.format("GET", "/api/v1/availability/?channel={CHANNEL}&sku=" '
            '.. table.concat(chosen, ","))\n'
            "end\n"
        )
    if row == "products":
        return head + (
            "request = function()\n"
            f'  return wrk.format("GET", "/api/v1/products/?channel={CHANNEL}&limit=50")\n'
            "end\n"
        )
    raise ValueError(row)


_YARDSTICK_HOT_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"order_id":%d,"sku_id":1,"location_id":1,"qty":1}',
    counter * 1000 + math.random(1, 999))
  return wrk.format(nil, nil, nil, body)
end
"""


def run_yardstick_hot(
    wrk: str, *, seconds: float, connections: int, workers: int, threads: int
) -> Figure:
    """The yardstick pointed at one hot row: its own app (the database ``run.sh`` just left,
    1,000,000 units on every row, so it never sells out) served the same way, every request
    reserving one unit of SKU 1 at location 1, with as many connections as the hot-SKU row."""
    here = shared_dir() / "bench" / "yardstick"
    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="omnihub-yardstick-hot-") as tmp:
        script = Path(tmp) / "post_hot.lua"
        script.write_text(_YARDSTICK_HOT_LUA)
        server = subprocess.Popen(
            [
                str(GUNICORN),
                "wsgi:application",
                "-w",
                str(workers),
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "/dev/null",
                "--error-logfile",
                str(Path(tmp) / "err"),
            ],
            cwd=here,
            env=env,
        )
        try:
            wait_port(port)
            url = f"http://127.0.0.1:{port}/api/reserve/"
            run_wrk(
                wrk, url=url, script=script, seconds=3, connections=connections, threads=threads
            )
            output = run_wrk(
                wrk,
                url=url,
                script=script,
                seconds=seconds,
                connections=connections,
                threads=threads,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return parse_wrk("yardstick, one hot row", output)


@dataclass
class Fixture:
    key: str
    skus: list[str]
    location_code: str
    location_id: int
    variant_ids: dict[str, int]


def bench_fixture() -> Fixture:
    """A bench partner key on the channel, the SKUs published on it, the shipping warehouse."""
    from catalog.models import ProductPublication, Variant
    from core.api.services import partner_api_key_create
    from core.models import Channel, Partner, PartnerAPIKey
    from inventory.models import Location

    channel = Channel.objects.get(code=CHANNEL)
    partner, _ = Partner.objects.get_or_create(code="bench-http", defaults={"name": "HTTP bench"})
    partner.channels.add(channel)
    if not PartnerAPIKey.objects.filter(prefix=BENCH_KEY.split(".")[0]).exists():
        partner_api_key_create(
            partner=partner,
            name="HTTP bench",
            scopes=["catalog:read", "stock:read", "stock:write", "orders:read", "orders:write"],
            rate_limit="100000000/min",
            raw_key=BENCH_KEY,
        )
    published = ProductPublication.objects.filter(channel=channel).values_list(
        "product_id", flat=True
    )
    variants = list(
        Variant.objects.filter(product_id__in=published).order_by("sku").values_list("sku", "pk")
    )
    if len(variants) < 11:
        raise SystemExit(f"Only {len(variants)} SKUs are published on {CHANNEL}: seed the demo.")
    warehouse = (
        Location.objects.filter(channels=channel, ships_orders=True, is_active=True)
        .order_by("sourcing_priority", "code")
        .first()
    )
    if warehouse is None:
        raise SystemExit(f"No active shipping location sells for {CHANNEL}.")
    return Fixture(
        key=BENCH_KEY,
        skus=[sku for sku, _ in variants],
        location_code=warehouse.code,
        location_id=warehouse.pk,
        variant_ids=dict(variants),
    )


def stock_reset(fixture: Fixture, skus: list[str], on_hand: int) -> None:
    """Set the warehouse's count of these SKUs so that ``on_hand`` units are available to sell
    (the committed units and live holds of earlier figures are added on top), and take every
    other location's stock of them out of sourcing (count 0), so the hot SKU has exactly
    ``on_hand`` units in the whole channel."""
    from django.db import connection

    from inventory.models import StockHold, StockLevel
    from inventory.stock_feed import FeedRow, stock_counts_apply

    ids = [fixture.variant_ids[sku] for sku in skus]
    # live holds of earlier figures would keep stock back: release them
    StockHold.objects.filter(stock__variant_id__in=ids, status=StockHold.Status.ACTIVE).update(
        status=StockHold.Status.RELEASED
    )
    levels = {
        (row.variant_id, row.location_id): row
        for row in StockLevel.objects.filter(variant_id__in=ids)
    }

    def kept_back(level: StockLevel | None) -> int:
        return level.committed + level.safety_stock if level else 0

    rows = []
    line = 2
    for variant_id in ids:
        for (vid, location_id), level in levels.items():
            if vid == variant_id and location_id != fixture.location_id:
                rows.append(FeedRow(line, vid, location_id, kept_back(level), "bench", "bench"))
                line += 1
        here = levels.get((variant_id, fixture.location_id))
        rows.append(
            FeedRow(
                line, variant_id, fixture.location_id, on_hand + kept_back(here), "bench", "bench"
            )
        )
        line += 1
    stock_counts_apply(rows=rows)
    connection.close()


def sold_between(fixture: Fixture, sku: str, since: datetime.datetime) -> list[datetime.datetime]:
    from orders.models import OrderLine

    return list(
        OrderLine.objects.filter(variant_id=fixture.variant_ids[sku], order__created_at__gte=since)
        .order_by("order__created_at")
        .values_list("order__created_at", flat=True)
    )


LABELS = {
    "orders": "`POST /api/v1/orders/` (one line, ship)",
    "holds": "`POST /api/v1/stock/holds/` (one line)",
    "availability-1": "`GET /api/v1/availability/` (1 SKU)",
    "availability-10": "`GET /api/v1/availability/` (10 SKUs)",
    "products": "`GET /api/v1/products/?limit=50`",
    "hot-sku": "hot SKU: 32 connections, one SKU",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per figure (default 15)")
    parser.add_argument("--warmup", type=float, default=3, help="per row before its figure")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--db", default="omnihub_bench")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--no-seed", action="store_true", help="the database is already seeded")
    parser.add_argument("--no-yardstick", action="store_true", help="ratios left out")
    parser.add_argument("--only", nargs="*", choices=ROWS, default=ROWS)
    parser.add_argument("--hot-units", type=int, default=1000)
    parser.add_argument("--hot-connections", type=int, default=32)
    parser.add_argument(
        "--hot-seconds", type=float, default=60, help="longest the hot run may take"
    )
    args = parser.parse_args()

    wrk = wrk_path()
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.UTC)
    yardstick = yardstick_hot = None
    if not args.no_yardstick:
        yardstick = run_yardstick(
            seconds=args.seconds, connections=args.connections, workers=args.workers
        )
        if "hot-sku" in args.only:
            yardstick_hot = run_yardstick_hot(
                wrk,
                seconds=args.seconds,
                connections=args.hot_connections,
                workers=args.workers,
                threads=args.wrk_threads,
            )
    env = project_env(db=args.db, redis=args.redis, workers=args.workers, threads=args.threads)
    prepare_database(db=args.db, env=env, seed=not args.no_seed)
    django_setup(env)
    fixture = bench_fixture()
    order_skus = fixture.skus[1:]  # the first SKU is the hot one
    hot_sku = fixture.skus[0]
    port = free_port()
    server = start_gunicorn(env, port)
    figures: list[Figure] = []
    hot_note = ""
    hot_failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="omnihub-bench-") as tmp:
            for row in args.only:
                script = Path(tmp) / f"{row}.lua"
                script.write_text(
                    lua_script(
                        row,
                        key=fixture.key,
                        skus=order_skus,
                        location=fixture.location_code,
                        hot_sku=hot_sku,
                    )
                )
                url = f"http://127.0.0.1:{port}"
                if row == "hot-sku":
                    # warm the workers on another SKU, then exactly hot_units of the hot one
                    stock_reset(fixture, order_skus, PLENTY)
                    warm = Path(tmp) / "orders.lua"
                    warm.write_text(
                        lua_script(
                            "orders",
                            key=fixture.key,
                            skus=order_skus,
                            location=fixture.location_code,
                            hot_sku=hot_sku,
                        )
                    )
                    run_wrk(
                        wrk,
                        url=url,
                        script=warm,
                        seconds=args.warmup,
                        connections=args.hot_connections,
                        threads=args.wrk_threads,
                    )
                    stock_reset(fixture, [hot_sku], args.hot_units)
                    since = datetime.datetime.now(datetime.UTC)
                    output = run_wrk(
                        wrk,
                        url=url,
                        script=script,
                        seconds=args.hot_seconds,
                        connections=args.hot_connections,
                        threads=args.wrk_threads,
                    )
                    figure = parse_wrk(LABELS[row], output)
                    sales = sold_between(fixture, hot_sku, since)
                    server_errors = sum(n for code, n in figure.statuses.items() if code >= 500)
                    if len(sales) >= 2:
                        span = (sales[-1] - sales[0]).total_seconds()
                        figure.rate = (len(sales) - 1) / span if span > 0 else float("inf")
                    if len(sales) == args.hot_units:
                        verdict = "exactly the stock"
                    elif len(sales) > args.hot_units:
                        verdict = "OVERSOLD"
                    else:
                        verdict = f"NOT SOLD OUT within {args.hot_seconds:.0f} s"
                    hot_note = (
                        f"hot SKU {hot_sku}: {len(sales)} sold of {args.hot_units} ({verdict}), "
                        f"{server_errors} 5xx, statuses {dict(sorted(figure.statuses.items()))}; "
                        "rate from the first sale to the last"
                    )
                    hot_failed = len(sales) != args.hot_units or server_errors > 0
                    figures.append(figure)
                    continue
                if row in ("orders", "holds"):
                    stock_reset(fixture, order_skus, PLENTY)
                run_wrk(
                    wrk,
                    url=url,
                    script=script,
                    seconds=args.warmup,
                    connections=args.connections,
                    threads=args.wrk_threads,
                )
                if row in ("orders", "holds"):
                    stock_reset(fixture, order_skus, PLENTY)
                output = run_wrk(
                    wrk,
                    url=url,
                    script=script,
                    seconds=args.seconds,
                    connections=args.connections,
                    threads=args.wrk_threads,
                )
                figures.append(parse_wrk(LABELS[row], output))
        rss = worker_rss_mib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    load_after = os.getloadavg()

    print()
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
        f"{load_before[0]:.2f} before / {load_after[0]:.2f} after; gunicorn {args.workers} "
        f"workers x {args.threads} threads; wrk {args.wrk_threads} threads, {args.connections} "
        f"connections, {args.seconds:.0f} s per figure after {args.warmup:.0f} s warm-up"
    )
    print()
    print("| endpoint | req/s | p50 | p99 | non-2xx | share of the yardstick |")
    print("| --- | --- | --- | --- | --- | --- |")
    if yardstick:
        print(yardstick.line(yardstick))
    if yardstick_hot:
        print(yardstick_hot.line(yardstick_hot))
    for figure in figures:
        # the hot-SKU row is compared with the yardstick pointed at one hot row
        hot = figure.label == LABELS["hot-sku"] and yardstick_hot is not None
        print(figure.line(yardstick_hot if hot else yardstick))
    print()
    if hot_note:
        print(hot_note)
    print("gunicorn worker RSS after the run: " + ", ".join(f"{value:.0f} MiB" for value in rss))
    if hot_failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
