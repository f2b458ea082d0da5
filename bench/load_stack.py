"""Whole-stack load test (issue 20, part 5): N web workers, M Celery workers, a Locust mix.

    .venv/bin/python bench/load_stack.py [--points 1x1,2x2,4x2] [--seconds 60] [--warmup 10]
        [--users 12] [--db omnihub_load] [--redis redis://127.0.0.1:6379/6]
        [--json var/load_stack.json] [--no-seed] [--no-yardstick]

For each point (N gunicorn workers, M Celery workers) it:

1. serves the project under ``config.settings.production`` (PostgreSQL ``--db``, Redis
   ``--redis``) with gunicorn (``config/gunicorn.conf.py``, N sync workers) and starts M Celery
   worker processes on the queues of ``CELERY_TASK_ROUTES`` (one worker: ``sync,default,imports``;
   two or more: the first on ``sync``, the second on ``default,imports``, the rest alternating),
   plus beat; pushes go to a fake channel endpoint served by this script on loopback (the demo's
   push channels, webshop, app and marketplace, point their ``endpoint_url`` at it);
2. warms up with Locust (``--warmup`` seconds, figures thrown away), then runs the mix of
   ``bench/locustfile.py`` for ``--seconds`` (headless, ``--users`` users, no think time) while
   sampling once a second: CPU per process group (gunicorn, celery, postgres, redis, locust,
   everything else) with psutil, PostgreSQL sessions waiting on a lock (``pg_stat_activity``,
   ``wait_event_type = 'Lock'``) and ungranted ``pg_locks``, Redis ``INFO`` (commands/s);
3. after the run, waits (at most ``--drain`` seconds) for the price edits still in flight to
   reach the fake endpoint and measures the channel lag: the time from the merchandiser's save
   answering to the push carrying that price arriving, per channel.

It also runs the yardstick (``$OMNIHUB_SHARED_DIR/bench/yardstick/run.sh``, ``../shared`` beside
the checkout by default) with wrk, N gunicorn workers and as many connections as Locust users,
right before each point, and reports each point's throughput as a ratio to it.

Prints one markdown table per point (throughput, p50/p95/p99 and errors per operation), the
channel lag, the resources, the scaling ratio (throughput of each point over the first) and the
yardstick ratios; writes everything as JSON to ``--json``. Needs PostgreSQL at 127.0.0.1:5432
(user postgres), Redis, ``psql``, and wrk for the yardstick. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from stack import (
    PYTHON,
    ROOT,
    collect_static,
    django_setup,
    free_port,
    prepare_database,
    project_env,
    run_yardstick,
    start_gunicorn,
)

LOCUST = ROOT / ".venv" / "bin" / "locust"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
DEMO_WEB_KEY = "DemoWeb1.webshop-demo-secret-do-not-use-in-production"
POS_KEY = "LoadPos1.load-test-pos-key-not-for-production-use"
CHANNEL = "webshop"
POS_CHANNEL = "pos"
# the channels a price edit changes; the first three take pushes, the POS pulls its change feed
PRICE_CHANNELS = ["webshop", "app", "marketplace", "pos"]
PLENTY = 1_000_000


# --- the fake channel endpoint ----------------------------------------------------------------


@dataclass
class FakeChannel:
    """Takes every push (200), records when each (channel, SKU, price) first arrived."""

    url: str = ""
    requests: int = 0
    changes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    arrivals: dict[tuple[str, str, str], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.changes = defaultdict(int)
            self.arrivals = {}

    def take(self, body: dict[str, Any], at: float) -> None:
        with self.lock:
            self.requests += 1
            channel = str(body.get("channel", ""))
            for change in body.get("changes", []):
                self.changes[str(change.get("type"))] += 1
                if change.get("type") != "price.changed":
                    continue
                for sku, price in (change.get("data", {}).get("prices") or {}).items():
                    self.arrivals.setdefault((channel, sku, str(price.get("amount"))), at)


def fake_channel_start(fake: FakeChannel) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            at = time.time()
            with contextlib.suppress(ValueError):  # not JSON: taken, not timed
                fake.take(json.loads(raw), at)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "11")
            self.end_headers()
            self.wfile.write(b'{"ok":true}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/push"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- the bench database -----------------------------------------------------------------------


def load_fixture(*, endpoint_url: str, edits_path: Path) -> dict[str, Any]:
    """Point the push channels at the fake endpoint, create the POS key, give every published
    SKU plenty of stock where orders take it, and gather what the locustfile needs."""
    from django.db import connection

    from catalog.models import Product, ProductPublication, Variant
    from core.api.services import partner_api_key_create
    from core.models import Channel, Partner, PartnerAPIKey
    from demo.seed import DEMO_PASSWORD
    from inventory.models import Location
    from inventory.stock_feed import FeedRow, stock_counts_apply

    push = ["webshop", "app", "marketplace"]
    Channel.objects.filter(code__in=push).update(endpoint_url=endpoint_url)
    pos = Channel.objects.get(code=POS_CHANNEL)
    partner, _ = Partner.objects.get_or_create(code="load-pos", defaults={"name": "Load test POS"})
    partner.channels.add(pos)
    if not PartnerAPIKey.objects.filter(prefix=POS_KEY.split(".")[0]).exists():
        partner_api_key_create(
            partner=partner,
            name="Load test till",
            scopes=["catalog:read", "stock:read", "orders:read", "orders:write"],
            raw_key=POS_KEY,
        )
    # SKUs for sale on the webshop and the POS; price edits on products on every push channel
    web = set(
        ProductPublication.objects.filter(channel__code=CHANNEL).values_list(
            "product_id", flat=True
        )
    )
    on_pos = set(
        ProductPublication.objects.filter(channel=pos).values_list("product_id", flat=True)
    )
    everywhere = set(web)
    for code in push:
        everywhere &= set(
            ProductPublication.objects.filter(channel__code=code).values_list(
                "product_id", flat=True
            )
        )
    variants = list(
        Variant.objects.filter(product_id__in=web & on_pos)
        .order_by("sku")
        .values_list("sku", "pk", "product_id")
    )
    if len(variants) < 10 or not everywhere:
        raise SystemExit("Too few products published on the channels: seed the demo.")
    stores = Location.objects.filter(is_active=True, kind=Location.Kind.STORE)
    pickup_store = stores.filter(channels__code=CHANNEL, offers_pickup=True).order_by("code")[0]
    till_store = stores.filter(channels=pos, sells_in_store=True).order_by("code")[0]
    warehouses = list(
        Location.objects.filter(channels__code=CHANNEL, ships_orders=True, is_active=True)
    )
    feed_locations = sorted({pickup_store.code, till_store.code, *(w.code for w in warehouses)})
    location_ids = dict(Location.objects.filter(code__in=feed_locations).values_list("code", "pk"))
    rows = [
        FeedRow(n + 2, variant_id, location_ids[code], PLENTY, "load test", "load test")
        for n, ((_, variant_id, _), code) in enumerate(
            (v, c) for v in variants for c in feed_locations
        )
    ]
    stock_counts_apply(rows=rows)
    connection.close()
    return {
        "api_key": DEMO_WEB_KEY,
        "pos_key": POS_KEY,
        "channel": CHANNEL,
        "pos_channel": POS_CHANNEL,
        "skus": [sku for sku, _, _ in variants],
        "product_ids": sorted({product for _, _, product in variants}),
        # categories of the products on sale: a filtered list page as a shop's menu opens it
        "categories": sorted(
            set(
                Product.objects.filter(pk__in=web)
                .exclude(category=None)
                .values_list("category_id", flat=True)
            )
        ),
        "pickup_store": pickup_store.code,
        "till_store": till_store.code,
        "feed_locations": feed_locations,
        "password": DEMO_PASSWORD,
        "price_variants": [
            {"id": pk, "sku": sku} for sku, pk, product in variants if product in everywhere
        ],
        "price_channels": PRICE_CHANNELS,
        "channel_ids": {str(pk): code for pk, code in Channel.objects.values_list("pk", "code")},
        "edits_path": str(edits_path),
    }


# --- processes --------------------------------------------------------------------------------


def worker_queues(m: int) -> list[str]:
    """The queue groups of ``CELERY_TASK_ROUTES`` spread over ``m`` worker processes."""
    if m == 1:
        return ["sync,default,imports"]
    groups = ["sync", "default,imports"]
    return [groups[n % 2] for n in range(m)]


def start_celery(env: dict[str, str], m: int, concurrency: int, tmp: Path) -> list[Any]:
    processes = []
    for n, queues in enumerate(worker_queues(m)):
        command = [
            str(PYTHON), "-m", "celery", "-A", "config", "worker", "-Q", queues,
            "--concurrency", str(concurrency), "--without-mingle", "--without-gossip",
            "--loglevel", "WARNING", "-n", f"load{n}@%h",
        ]  # fmt: skip
        log = open(tmp / f"celery-{n}.log", "wb")  # noqa: SIM115 (closed with the process)
        processes.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
    beat_log = open(tmp / "beat.log", "wb")  # noqa: SIM115
    beat = [str(PYTHON), "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING"]
    processes.append(
        subprocess.Popen(
            [*beat, "-s", str(tmp / "beat-schedule")],
            cwd=ROOT,
            env=env,
            stdout=beat_log,
            stderr=subprocess.STDOUT,
        )
    )
    # ready when every worker has forked its pool (its "ready." line is INFO, below LOG_LEVEL)
    import psutil

    deadline = time.monotonic() + 120
    for n, process in enumerate(processes[:m]):
        while len(psutil.Process(process.pid).children()) < concurrency:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(processes)
                log = (tmp / f"celery-{n}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"Celery worker {n} did not start:\n{log}")
            time.sleep(0.3)
    time.sleep(2)  # the consumer connects to the broker after the pool is up
    return processes


def stop(processes: list[Any]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_locust(
    *, host: str, users: int, seconds: float, csv_prefix: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    command = [
        str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
        "--run-time", f"{max(1, round(seconds))}s", "--host", host, "--csv", str(csv_prefix),
        "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(f"{csv_prefix}.log", "wb"),
    )


# --- resource sampling ------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Once a second: CPU seconds per process group, lock waits in PostgreSQL, Redis commands."""

    def __init__(
        self, *, groups: dict[str, list[int]], db: str, redis_url: str, interval: float = 1.0
    ) -> None:
        super().__init__(daemon=True)
        self.roots = groups  # group -> root pids (their children count with them)
        self.db = db
        self.redis_url = redis_url
        self.interval = interval
        self.halt = threading.Event()
        self.cpu: dict[str, float] = defaultdict(float)
        self.lock_waits: list[int] = []
        self.ungranted: list[int] = []
        self.waits: dict[str, int] = defaultdict(int)
        self.active: list[int] = []
        self.redis_ops: list[float] = []
        self.machine_busy: list[float] = []
        self.started = time.monotonic()
        self.ended = self.started
        self.redis_commands = 0

    def _cpu_snapshot(self) -> dict[int, tuple[str, float]]:
        import psutil

        members: dict[int, str] = {}
        for group, roots in self.roots.items():
            for pid in roots:
                try:
                    root = psutil.Process(pid)
                    for proc in [root, *root.children(recursive=True)]:
                        members[proc.pid] = group
                except psutil.NoSuchProcess:
                    continue
        snapshot: dict[int, tuple[str, float]] = {}
        for proc in psutil.process_iter(["name", "cpu_times"]):
            times = proc.info["cpu_times"]
            if times is None:
                continue
            name = proc.info["name"] or ""
            group = members.get(proc.pid)
            if group is None:
                if name.startswith("postgres"):
                    group = "postgres"
                elif name.startswith("redis-server"):
                    group = "redis"
                else:
                    group = "other"
            snapshot[proc.pid] = (group, times.user + times.system)
        return snapshot

    def run(self) -> None:
        import psutil
        import psycopg
        import redis

        client = redis.Redis.from_url(self.redis_url)
        conn = psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
        )
        before = self._cpu_snapshot()
        commands_before = int(client.info("stats")["total_commands_processed"])
        psutil.cpu_percent()
        self.started = time.monotonic()
        while not self.halt.wait(self.interval):
            now = self._cpu_snapshot()
            for pid, (group, seconds) in now.items():
                previous = before.get(pid)
                # a process born during the run counts from zero
                self.cpu[group] += seconds - (previous[1] if previous else 0.0)
            before = {**before, **now}
            self.machine_busy.append(psutil.cpu_percent())
            rows = conn.execute(
                "SELECT coalesce(wait_event_type, 'CPU'), count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND state = 'active' GROUP BY 1",
                [self.db],
            ).fetchall()
            counts = {str(kind): int(n) for kind, n in rows}
            for kind, n in counts.items():
                self.waits[kind] += n
            self.lock_waits.append(counts.get("Lock", 0))
            self.active.append(sum(counts.values()))
            self.ungranted.append(
                int(conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0])  # type: ignore[index]
            )
            self.redis_ops.append(float(client.info("stats")["instantaneous_ops_per_sec"]))
        self.ended = time.monotonic()
        self.redis_commands = (
            int(client.info("stats")["total_commands_processed"]) - commands_before
        )
        conn.close()

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def summary(self) -> dict[str, Any]:
        span = max(self.ended - self.started, 1e-9)
        samples = max(len(self.active), 1)
        return {
            "seconds": span,
            "machine_busy_percent": statistics.mean(self.machine_busy or [0.0]),
            "cores": os.cpu_count(),
            "cpu_seconds": dict(self.cpu),
            "cpu_percent_of_one_core": {g: s / span * 100 for g, s in self.cpu.items()},
            "pg_active_sessions_mean": statistics.mean(self.active or [0]),
            "pg_waiting_on_lock_mean": statistics.mean(self.lock_waits or [0]),
            "pg_waiting_on_lock_max": max(self.lock_waits or [0]),
            "pg_samples_with_lock_wait": sum(1 for n in self.lock_waits if n) / samples,
            "pg_ungranted_locks_max": max(self.ungranted or [0]),
            "pg_wait_events_per_sample": {k: v / samples for k, v in self.waits.items()},
            "redis_commands_per_second": self.redis_commands / span,
            "redis_instantaneous_ops_max": max(self.redis_ops or [0.0]),
        }


# --- one point --------------------------------------------------------------------------------


def read_locust_csv(prefix: Path) -> dict[str, dict[str, Any]]:
    operations: dict[str, dict[str, Any]] = {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            operations[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
            }
    failures: list[dict[str, Any]] = []
    path = Path(f"{prefix}_failures.csv")
    if path.exists():
        with open(path) as handle:
            failures = [
                {"name": r["Name"], "error": r["Error"][:300], "count": int(r["Occurrences"])}
                for r in csv.DictReader(handle)
            ]
    return {"operations": operations, "failures": failures}  # type: ignore[dict-item]


def channel_lag(fake: FakeChannel, edits_path: Path) -> dict[str, Any]:
    edits = [json.loads(line) for line in edits_path.read_text().splitlines() if line.strip()]
    lags: list[float] = []
    per_channel: dict[str, list[float]] = defaultdict(list)
    superseded = missing = 0
    last_amount: dict[str, str] = {}
    for edit in edits:
        last_amount[edit["sku"]] = edit["amount"]
    with fake.lock:
        arrivals = dict(fake.arrivals)
    for edit in edits:
        for channel in edit["channels"]:
            if channel == POS_CHANNEL:
                continue  # the POS pulls its change feed: nothing is pushed
            at = arrivals.get((channel, edit["sku"], edit["amount"]))
            if at is None:
                # a newer edit of the same product sent before this one went out replaces it
                if last_amount[edit["sku"]] != edit["amount"]:
                    superseded += 1
                else:
                    missing += 1
                continue
            lag = (at - edit["saved"]) * 1000
            lags.append(lag)
            per_channel[channel].append(lag)

    def stats(values: list[float]) -> dict[str, float]:
        if not values:
            return {"n": 0}
        ordered = sorted(values)
        return {
            "n": len(ordered),
            "p50_ms": statistics.median(ordered),
            "p95_ms": ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)],
            "max_ms": ordered[-1],
        }

    return {
        "edits": len(edits),
        "pushes_expected": sum(len([c for c in e["channels"] if c != POS_CHANNEL]) for e in edits),
        "arrived": len(lags),
        "superseded": superseded,
        "missing": missing,
        "all": stats(lags),
        "per_channel": {c: stats(v) for c, v in sorted(per_channel.items())},
    }


def edits_arrived(fake: FakeChannel, edits_path: Path) -> bool:
    lag = channel_lag(fake, edits_path)
    return lag["missing"] == 0


def run_point(
    args: argparse.Namespace,
    *,
    n: int,
    m: int,
    index: int,
    fake: FakeChannel,
    fixture: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    env = project_env(db=args.db, redis=args.redis, workers=n)
    env.update(
        {
            "API_RATE_LIMIT": "100000000/min",  # the load is one client: never throttled
            "OUTBOUND_ALLOW_PRIVATE_URLS": "true",  # the fake channel listens on loopback
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
    )
    point_dir = tmp / f"point-{index}-{n}x{m}"
    point_dir.mkdir()
    edits_path = point_dir / "edits.jsonl"
    edits_path.touch()
    fixture_path = point_dir / "fixture.json"
    fixture_path.write_text(json.dumps({**fixture, "edits_path": str(edits_path)}))
    locust_env = {
        **os.environ,
        "LOAD_FIXTURE": str(fixture_path),
        "LOAD_PRICE_BASE": str(index * 100_000),
        "LOAD_PRICE_EDIT_SECONDS": str(args.price_edit_seconds),
        "LOAD_STOCK_FEED_SECONDS": str(args.stock_feed_seconds),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    port = free_port()
    web = start_gunicorn(env, port, log=point_dir / "gunicorn.log")
    workers: list[Any] = []
    try:
        workers = start_celery(env, m, args.celery_concurrency, point_dir)
        host = f"http://127.0.0.1:{port}"
        if args.warmup > 0:
            warm = run_locust(
                host=host,
                users=args.users,
                seconds=args.warmup,
                csv_prefix=point_dir / "warmup",
                env={**locust_env, "LOAD_PRICE_BASE": str(index * 100_000 + 50_000)},
            )
            warm.wait()
        time.sleep(2)
        fake.reset()
        edits_path.write_text("")
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        locust = run_locust(
            host=host,
            users=args.users,
            seconds=args.seconds,
            csv_prefix=point_dir / "run",
            env=locust_env,
        )
        sampler = Sampler(
            groups={
                "gunicorn": [web.pid],
                "celery": [w.pid for w in workers],
                "locust": [locust.pid],
            },
            db=args.db,
            redis_url=args.redis,
        )
        sampler.start()
        locust.wait()
        sampler.stop()
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + args.drain
        while not edits_arrived(fake, edits_path) and time.monotonic() < deadline:
            time.sleep(0.5)
        result = read_locust_csv(point_dir / "run")
    finally:
        stop(workers)
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
    operations = result["operations"]
    total = operations.pop("Aggregated", {})
    resources = sampler.summary()
    requests = max(int(total.get("requests", 0)), 1)
    per_request_ms = {
        group: seconds / requests * 1000 for group, seconds in resources["cpu_seconds"].items()
    }
    with fake.lock:
        pushes = {"requests": fake.requests, "changes": dict(fake.changes)}
    return {
        "web_workers": n,
        "celery_workers": m,
        "users": args.users,
        "seconds": elapsed,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "total": total,
        "operations": operations,
        "failures": result["failures"],
        "channel_lag": channel_lag(fake, edits_path),
        "pushes_received": pushes,
        "resources": resources,
        "cpu_ms_per_request": per_request_ms,
        "saturating": saturating(resources),
    }


def saturating(resources: dict[str, Any]) -> str:
    """Name the resource that runs out, from the samples."""
    busy = resources["machine_busy_percent"]
    lock = resources["pg_waiting_on_lock_mean"]
    active = max(resources["pg_active_sessions_mean"], 1e-9)
    cpu = resources["cpu_percent_of_one_core"]
    top = sorted(
        ((g, v) for g, v in cpu.items() if g != "other"), key=lambda item: item[1], reverse=True
    )
    shares = ", ".join(f"{g} {v:.0f} %" for g, v in top[:4])
    other = cpu.get("other", 0.0)
    if busy >= 85:
        verdict = f"CPU: the machine was {busy:.0f} % busy ({shares} of one core)"
        if other >= 50:
            verdict += (
                f", {other:.0f} % of one core by other work on the machine: the figures are "
                "those of a shared machine, not of the stack alone"
            )
    elif lock / active >= 0.25:
        verdict = (
            f"PostgreSQL locks: {lock:.1f} of {active:.1f} active sessions waiting on a lock "
            "on average"
        )
    else:
        verdict = f"none clearly: machine {busy:.0f} % busy ({shares} of one core)"
    return (
        f"{verdict}; PostgreSQL sessions waiting on a lock: mean {lock:.2f}, max "
        f"{resources['pg_waiting_on_lock_max']}; Redis "
        f"{resources['redis_commands_per_second']:.0f} commands/s"
    )


# --- report -----------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def report(points: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for point in points:
        n, m = point["web_workers"], point["celery_workers"]
        total = point["total"]
        ys = point["yardstick"]
        ratio = (
            f", {total['rps'] / ys['rate'] * 100:.1f} % of the yardstick ({ys['rate']:.0f} req/s)"
            if ys
            else ""
        )
        out.append(
            f"### (N, M) = ({n}, {m}): {total['rps']:.1f} req/s, {total['failures']} errors, "
            f"{point['users']} users, {point['seconds']:.0f} s, load average "
            f"{point['load_average_before']:.1f} -> {point['load_average_after']:.1f}{ratio}"
        )
        out.append("")
        out.append("| operation | requests | req/s | p50 | p95 | p99 | errors |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for name, op in sorted(point["operations"].items()):
            out.append(
                f"| {name} | {op['requests']} | {op['rps']:.1f} | {_ms(op['p50_ms'])} | "
                f"{_ms(op['p95_ms'])} | {_ms(op['p99_ms'])} | {op['failures']} |"
            )
        out.append(
            f"| **all** | {total['requests']} | {total['rps']:.1f} | {_ms(total['p50_ms'])} | "
            f"{_ms(total['p95_ms'])} | {_ms(total['p99_ms'])} | {total['failures']} |"
        )
        out.append("")
        lag = point["channel_lag"]
        every = lag["all"]
        out.append(
            f"Channel lag (price saved -> push at the fake endpoint), {lag['edits']} edits, "
            f"{lag['arrived']} of {lag['pushes_expected']} pushes timed "
            f"({lag['superseded']} superseded by a newer edit, {lag['missing']} never arrived): "
            + (
                f"p50 {_ms(every.get('p50_ms'))}, p95 {_ms(every.get('p95_ms'))}, "
                f"max {_ms(every.get('max_ms'))}"
                if every["n"]
                else "no edit timed"
            )
        )
        res = point["resources"]
        cpu = ", ".join(
            f"{g} {v:.0f} %"
            for g, v in sorted(res["cpu_percent_of_one_core"].items(), key=lambda i: -i[1])
        )
        per_req = ", ".join(
            f"{g} {v:.1f} ms"
            for g, v in sorted(point["cpu_ms_per_request"].items(), key=lambda i: -i[1])
            if g != "other"
        )
        out.append(
            f"CPU (% of one core): {cpu}; machine {res['machine_busy_percent']:.0f} % busy of "
            f"{res['cores']} cores. CPU per request: {per_req}."
        )
        waits = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(res["pg_wait_events_per_sample"].items())
        )
        out.append(
            f"PostgreSQL active sessions {res['pg_active_sessions_mean']:.2f} on average "
            f"(by wait: {waits}); waiting on a lock: mean {res['pg_waiting_on_lock_mean']:.2f}, "
            f"max {res['pg_waiting_on_lock_max']}, in {res['pg_samples_with_lock_wait'] * 100:.0f} "
            f"% of samples; ungranted pg_locks max {res['pg_ungranted_locks_max']}. Redis "
            f"{res['redis_commands_per_second']:.0f} commands/s (peak "
            f"{res['redis_instantaneous_ops_max']:.0f} ops/s)."
        )
        out.append(f"Saturating: {point['saturating']}.")
        if point["failures"]:
            out.append("Errors:")
            for failure in point["failures"]:
                out.append(f"- {failure['count']} x {failure['name']}: {failure['error']}")
        out.append("")
    if points:
        base = points[0]["total"]["rps"] or 1e-9
        out.append("| (N, M) | req/s | scaling over the first | yardstick req/s | share |")
        out.append("| --- | --- | --- | --- | --- |")
        for point in points:
            n = point["web_workers"]
            rps = point["total"]["rps"]
            ys = point["yardstick"]
            out.append(
                f"| ({n}, {point['celery_workers']}) | {rps:.1f} | {rps / base:.2f} | "
                + (f"{ys['rate']:.1f} | {rps / ys['rate'] * 100:.1f} % |" if ys else "- | - |")
            )
    return "\n".join(out)


def parse_points(text: str) -> list[tuple[int, int]]:
    points = []
    for item in text.split(","):
        n, _, m = item.strip().partition("x")
        if not (n.isdigit() and m.isdigit()) or int(n) < 1 or int(m) < 1:
            raise argparse.ArgumentTypeError(f"a point is NxM (web x Celery workers): {item!r}")
        points.append((int(n), int(m)))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--points", type=parse_points, default=parse_points("1x1,2x2,4x2"))
    parser.add_argument("--seconds", type=float, default=60, help="measured, per point")
    parser.add_argument("--warmup", type=float, default=10, help="per point, before the figure")
    parser.add_argument("--users", type=int, default=12, help="Locust users (2 of them staff)")
    parser.add_argument("--celery-concurrency", type=int, default=1, help="per worker process")
    parser.add_argument("--price-edit-seconds", type=float, default=2.0)
    parser.add_argument("--stock-feed-seconds", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=60, help="longest wait for pushes")
    parser.add_argument("--db", default="omnihub_load")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
    )
    parser.add_argument("--no-seed", action="store_true", help="the database is already seeded")
    parser.add_argument("--no-yardstick", action="store_true", help="ratios left out")
    parser.add_argument("--yardstick-seconds", type=float, default=15)
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "load_stack.json")
    args = parser.parse_args()
    if args.users < 3:
        parser.error("--users must be at least 3 (a merchandiser, a stock feeder, a shopper)")

    started = datetime.datetime.now(datetime.UTC)
    env = project_env(db=args.db, redis=args.redis, workers=1)
    prepare_database(db=args.db, env=env, seed=not args.no_seed)
    collect_static(env)
    django_setup(env)
    fake = FakeChannel()
    server = fake_channel_start(fake)
    points = []
    # logs of every process, Locust's CSV and the price edits, kept for reading after the run
    tmp = ROOT / "var" / "load" / f"{started:%Y%m%d-%H%M%S}"
    tmp.mkdir(parents=True)
    fixture = load_fixture(endpoint_url=fake.url, edits_path=tmp / "edits.jsonl")
    try:
        for index, (n, m) in enumerate(args.points):
            yardstick = None
            if not args.no_yardstick:
                # right before the point: the machine is shared, its load moves minute by minute
                print(f"yardstick: {n} workers, {args.users} connections")
                for attempt in (1, 2):
                    try:
                        figure = run_yardstick(
                            seconds=args.yardstick_seconds, connections=args.users, workers=n
                        )
                    except SystemExit as failed:
                        if attempt == 2:
                            raise
                        print(f"{failed}\nyardstick: once more in 15 s")
                        time.sleep(15)
                    else:
                        yardstick = asdict(figure)
                        break
            print(f"point ({n}, {m}): {args.warmup:.0f} s warm-up, {args.seconds:.0f} s run")
            point = run_point(args, n=n, m=m, index=index, fake=fake, fixture=fixture, tmp=tmp)
            points.append({**point, "yardstick": yardstick})
    finally:
        server.shutdown()
    text = report(points)
    header = (
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; Locust {args.users} users "
        f"(no think time; 1 merchandiser editing a price every {args.price_edit_seconds:g} s, 1 "
        f"stock feed every {args.stock_feed_seconds:g} s); {args.seconds:.0f} s per point after "
        f"{args.warmup:.0f} s warm-up; Celery concurrency {args.celery_concurrency} per worker"
    )
    print()
    print(header)
    print()
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "header": header,
                "arguments": {k: str(v) for k, v in vars(args).items()},
                "points": points,
            },
            indent=2,
        )
    )
    print(f"\nJSON: {args.json}; logs and Locust's CSV: {tmp}")
    errors = sum(int(p["total"].get("failures", 0)) for p in points)
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    sys.exit(main())
