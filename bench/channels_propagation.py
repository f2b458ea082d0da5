"""Benchmark: channel sync with real Celery workers on Redis and PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_chan \
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/channels_propagation.py

Starts a local HTTP receiver and ``WORKERS`` worker processes (``celery worker -Q <private queue>
--concurrency 2``), then measures, in the same run:

1. the plain Celery rate: 5,000 no-op tasks through the same broker and workers;
2. propagation latency, commit to receiver: 300 single price changes committed one by one
   (20 ms apart), each timestamped at commit, p50/p95/max at arrival;
3. throughput: 10,000 price changes on each of four channels (40,000 events, recorded in bulk
   transactions) until every receiver holds all of them.

Needs PostgreSQL and Redis. The bench rows are deleted afterwards.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")
if not os.environ.get("REDIS_URL") or "postgres" not in os.environ.get("DATABASE_URL", ""):
    sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")
QUEUE = f"bench-sync-{uuid.uuid4().hex[:8]}"
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from channels.models import Delivery, DeliveryAttempt, Listing  # noqa: E402
from channels.tasks import noop  # noqa: E402
from config.celery import app  # noqa: E402
from core.events import EventType  # noqa: E402
from core.models import (  # noqa: E402
    ChangeEvent,
    Channel,
    ObjectSequence,
)
from core.outbox.services import event_record, event_record_many  # noqa: E402
from tests.channels.receiver import running_receiver  # noqa: E402


def start_workers() -> list[subprocess.Popen[bytes]]:
    # the workers push to the local receiver on 127.0.0.1, a private address (core.net)
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false", "OUTBOUND_ALLOW_PRIVATE_URLS": "true"}
    processes = []
    for n in range(WORKERS):
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", QUEUE,
            "--concurrency", "2", "--without-mingle", "--without-gossip",
            "--loglevel", "WARNING", "-n", f"{QUEUE}-{n}@%h",
        ]  # fmt: skip
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
    time.sleep(6)
    return processes


UNACKED_BEFORE = 0


def drained(client: redis.Redis) -> bool:  # type: ignore[type-arg]
    """The queue is empty and no task of ours is still unacknowledged (entries left in kombu's
    ``unacked`` hash by a killed worker elsewhere are not ours: compare with the start)."""
    return client.llen(QUEUE) == 0 and client.hlen("unacked") <= UNACKED_BEFORE


def bench_noop(client: redis.Redis, count: int = 5000) -> float:  # type: ignore[type-arg]
    started = time.monotonic()
    for _ in range(count):
        noop.delay()
    while not drained(client):
        time.sleep(0.01)
    return count / (time.monotonic() - started)


def cleanup() -> None:
    DeliveryAttempt.objects.all().delete()
    Delivery.objects.all().delete()
    Listing.objects.all().delete()
    ChangeEvent.objects.filter(aggregate="bench").delete()
    ObjectSequence.objects.filter(aggregate="bench").delete()
    Channel.objects.filter(code__startswith="bench-").delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    cleanup()
    app.conf.task_routes = {"*": {"queue": QUEUE}}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    global UNACKED_BEFORE
    UNACKED_BEFORE = int(client.hlen("unacked"))
    workers = start_workers()
    try:
        with running_receiver() as receiver:
            channels = [
                Channel.objects.create(
                    code=f"bench-{n}",
                    name=f"Bench {n}",
                    kind=Channel.Kind.WEBSHOP,
                    currency="EUR",
                    endpoint_url=receiver.url,
                    rate_limit_per_second=100000,
                    batch_size=500,
                )
                for n in range(4)
            ]
            rate = bench_noop(client)
            print(f"plain no-op tasks: {rate:,.0f}/s ({WORKERS} worker(s) x 2 processes)")

            # latency: one change per commit, timestamped at commit
            latencies = []
            for n in range(300):
                with transaction.atomic():
                    event_record(
                        topic=EventType.PRICE_CHANGED,
                        aggregate="bench",
                        aggregate_id=f"lat-{n}",
                        channel_code="bench-0",
                        payload={"amount": "1.00"},
                    )
                committed = time.time()
                key = ("price", "bench", f"lat-{n}")
                if not receiver.wait_for(lambda key=key: key in receiver.state, timeout=30):
                    raise RuntimeError(f"change {n} never arrived")
                arrived = receiver.arrivals[key]
                latencies.append((arrived - committed) * 1000)
                time.sleep(0.02)
            latencies.sort()
            p50 = statistics.median(latencies)
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(
                f"commit -> receiver latency: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
                f"max {latencies[-1]:.0f} ms (300 single commits)"
            )

            # throughput: 10,000 price changes on each of four channels
            before = receiver.change_count
            started = time.monotonic()
            for channel in channels:
                for start in range(0, 10_000, 2_000):
                    with transaction.atomic():
                        event_record_many(
                            topic=EventType.PRICE_CHANGED,
                            aggregate="bench",
                            channel_code=channel.code,
                            payloads={
                                f"p-{n}": {"amount": f"{n}.99"} for n in range(start, start + 2_000)
                            },
                        )
            recorded = time.monotonic() - started
            total = 40_000
            if not receiver.wait_for(lambda: receiver.change_count - before >= total, timeout=600):
                raise RuntimeError("not every change arrived")
            elapsed = time.monotonic() - started
            print(
                f"10,000 price changes x 4 channels: recorded in {recorded:.1f} s, all at the "
                f"receiver after {elapsed:.1f} s ({total / elapsed:,.0f} changes/s, "
                f"{len(receiver.accepted)} requests); the no-op rate would run {total:,} tasks "
                f"in {total / rate:.1f} s"
            )
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=30)
        cleanup()


if __name__ == "__main__":
    main()
