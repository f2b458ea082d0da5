"""Benchmark: 10,000 price changes on each of four push channels, in one process.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_bench
    .venv/bin/python bench/channels_fanout.py
    ... bench/channels_fanout.py --changes 2000 --profile   # a shorter run with a cProfile summary

The same work as the throughput part of ``bench/channels_propagation.py`` (40,000 ``price.changed``
events recorded in bulk transactions, relayed into deliveries and listings, pushed in signed
batches of 500 to a local receiver that applies them by sequence), without Celery: the relay and
the pushes run inline, so the figure is the cost of the project's own code and SQL, not of the
broker and worker processes. Prints the time of each phase, the statements of the push phase and
the receiver's count (every change must arrive, none stale). The bench rows are deleted afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # the commit hook relays inline
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from channels.delivery import channel_push  # noqa: E402
from channels.models import Delivery, DeliveryAttempt, Listing  # noqa: E402
from channels.relay import relay_run  # noqa: E402
from core.events import EventType  # noqa: E402
from core.models import ChangeEvent, Channel, ObjectSequence  # noqa: E402
from core.outbox.services import event_record_many  # noqa: E402
from tests.channels.receiver import running_receiver  # noqa: E402

CHANNELS = 4


def cleanup() -> None:
    channel_ids = list(
        Channel.objects.filter(code__startswith="bench-").values_list("pk", flat=True)
    )
    DeliveryAttempt.objects.filter(delivery__channel_id__in=channel_ids).delete()
    Delivery.objects.filter(channel_id__in=channel_ids).delete()
    Listing.objects.filter(channel_id__in=channel_ids).delete()
    ChangeEvent.objects.filter(aggregate="bench").delete()
    ObjectSequence.objects.filter(aggregate="bench").delete()
    Channel.objects.filter(pk__in=channel_ids).delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=10_000, help="per channel")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    cleanup()
    profiler = cProfile.Profile()
    with running_receiver() as receiver:
        channels = [
            Channel.objects.create(
                code=f"bench-{n}",
                name=f"Bench {n}",
                kind=Channel.Kind.WEBSHOP,
                currency="EUR",
                endpoint_url=receiver.url,
                rate_limit_per_second=100_000,
                batch_size=500,
            )
            for n in range(CHANNELS)
        ]
        if args.profile:
            profiler.enable()
        started = time.perf_counter()
        for channel in channels:
            for start in range(0, args.changes, 2000):
                stop = min(start + 2000, args.changes)
                with transaction.atomic():
                    event_record_many(
                        topic=EventType.PRICE_CHANGED,
                        aggregate="bench",
                        channel_code=channel.code,
                        payloads={f"p-{n}": {"amount": f"{n}.99"} for n in range(start, stop)},
                    )
        while relay_run().events:
            pass
        relayed = time.perf_counter()
        with CaptureQueriesContext(connection) as pushed:
            for channel in channels:
                while channel_push(channel_id=channel.pk).sent:
                    pass
        done = time.perf_counter()
        if args.profile:
            profiler.disable()
        total = CHANNELS * args.changes
        assert receiver.change_count >= total and receiver.stale == 0, (
            receiver.change_count,
            receiver.stale,
        )
        print(
            f"{connection.vendor}: {args.changes:,} price changes x {CHANNELS} channels: "
            f"recorded and relayed in {relayed - started:.1f} s, pushed in {done - relayed:.1f} s "
            f"({len(receiver.accepted)} requests, {len(pushed.captured_queries)} statements), "
            f"total {done - started:.1f} s; {receiver.change_count:,} changes at the receiver"
        )
        if args.profile:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
                "channels|outbox", 25
            )
            print(out.getvalue())
    cleanup()


if __name__ == "__main__":
    main()
