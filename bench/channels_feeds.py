"""Benchmark: Google and Meta feeds on the large demo catalog (20,000 products, 100,000 variants).

    createdb omnihub_large
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --size large
    .venv/bin/python bench/channels_feeds.py

Measures, for the ``google`` and ``meta`` demo channels: the full rebuild (every item computed
and every file written), one price edit carried through the outbox (relay, the item of that one
product recomputed, the files written again from stored items), a stock edit that the feed does
not show (nothing written), and serving the file (a full GET and a conditional GET answered 304).
Peak memory is the process's resident high-water mark after each step.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from catalog import services as catalog_services  # noqa: E402
from catalog.models import Price  # noqa: E402
from channels import relay  # noqa: E402
from channels.feeds import services as feeds  # noqa: E402
from channels.models import Feed, FeedItem  # noqa: E402
from core.models import Channel  # noqa: E402
from inventory import services as inventory_services  # noqa: E402
from inventory.models import Location, StockLevel  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, action: Any) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"  {label:<58} {time.perf_counter() - started:8.3f} s   peak RSS {rss_mb():6.0f} MB")
    return result


def bench_channel(client: Client, code: str) -> None:
    channel = Channel.objects.prefetch_related("locations").get(code=code)
    print(f"{code} ({channel.get_kind_display()})")
    result: Any = timed(
        "full rebuild (every item, every file)", lambda: feeds.feed_rebuild(channel)
    )
    for feed in Feed.objects.filter(channel=channel):
        print(
            f"    feed.{feed.format}: {feed.item_count:,} items, {feed.excluded_count} left "
            f"out, {feed.size_bytes / 1e6:.1f} MB, written in {feed.seconds:.2f} s"
        )
    print(f"    ({result.products:,} products)")

    listed = FeedItem.objects.filter(channel=channel, problems=[]).order_by("?").first()
    assert listed is not None
    price = Price.objects.get(channel=channel, variant_id=listed.variant_id, starts_at__isnull=True)
    before = dict(Feed.objects.filter(channel=channel).values_list("format", "etag"))

    def price_edit() -> None:
        # with eager Celery (no broker) the commit's relay kick does the relay and the refresh
        # inline; the explicit calls below then find nothing left (and cost nothing)
        catalog_services.price_set(
            variant_id=price.variant_id, channel_code=code, amount=price.amount + Decimal("1.00")
        )
        relay.relay_run()
        feeds.feed_refresh(channel)

    timed("one price edit: commit, relay, 1 product, files again", price_edit)
    after = dict(Feed.objects.filter(channel=channel).values_list("format", "etag"))
    assert all(after[fmt] != etag for fmt, etag in before.items()), (before, after)
    listed.refresh_from_db()
    assert listed.fields["price"].startswith(str(price.amount + Decimal("1.00"))), listed.fields

    level = StockLevel.objects.filter(location__in=channel.locations.all(), on_hand__gt=5).first()
    assert level is not None

    before = dict(Feed.objects.filter(channel=channel).values_list("format", "etag"))

    def stock_edit() -> None:
        inventory_services.stock_receive(
            lines=[inventory_services.StockLine(level.variant_id, level.location_id, 1)],
            reference="BENCH",
        )
        relay.relay_run()
        feeds.feed_refresh(channel)

    timed("one stock edit that stays in stock: commit, relay, item", stock_edit)
    after = dict(Feed.objects.filter(channel=channel).values_list("format", "etag"))
    if code == "google":  # Meta's quantity_to_sell_on_facebook does show the new count
        assert after == before, "a stock change the feed does not show wrote a file"

    fmt = "xml" if code == "google" else "csv"
    url = f"/channels/{code}/feed.{fmt}"
    full, conditional = [], []
    size = 0
    for _ in range(5):
        started = time.perf_counter()
        response: Any = client.get(url)
        size = sum(len(chunk) for chunk in response.streaming_content)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
        conditional.append(time.perf_counter() - started)
    print(
        f"  GET {url}: {size / 1e6:.1f} MB in {statistics.median(full) * 1000:.0f} ms "
        f"(median of 5); 304 in {statistics.median(conditional) * 1000:.1f} ms"
    )


def main() -> None:
    settings.CHANNELS_FEED_MIN_SECONDS = 0
    print(f"{connection.vendor}: {FeedItem.objects.count():,} feed items before the run")
    client = Client(HTTP_HOST="127.0.0.1")
    for code in ("google", "meta"):
        bench_channel(client, code)
    print(f"{Location.objects.count()} locations; peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
