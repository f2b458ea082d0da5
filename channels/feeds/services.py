"""Feeds kept up to date incrementally.

1. The relay, in the transaction that relays change events, marks each product the events touch
   as stale for every feed channel concerned (``FeedStale``, ``feeds_mark_from_events``).
2. ``feed_refresh`` claims a channel's stale products (``SKIP LOCKED`` on PostgreSQL), recomputes
   only their ``FeedItem`` rows (approved channel content, channel price, channel
   available-to-sell), and marks the channel's feed files dirty when an item really changed (a
   stock change that keeps a SKU in stock changes nothing in the feed).
3. A dirty file is written again from the stored items alone, no catalog query, at most every
   ``CHANNELS_FEED_MIN_SECONDS``; it is stored whole with its ETag, so a request never builds
   anything (but for the very first one of a channel).

An item holds the channel's default country and language, and every other country and language
the channel sells in under ``fields["locales"]`` (``channels.feeds.locales``): each has its own
file, written with the plain one from the same items (``feed_locale_render``).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.locales import DEFAULT_LANGUAGE
from catalog.selectors import VariantPrice
from channels.feeds import render, spec
from channels.feeds.locales import FeedLocale, feed_locales
from channels.models import Feed, FeedItem, FeedStale
from core import bulk
from core.events import EventType
from core.models import ChangeEvent, Channel
from inventory.selectors import channel_availability
from orders.pricing import DisplayPrice, display_prices

FEED_KINDS = frozenset({Channel.Kind.GOOGLE_FEED, Channel.Kind.META_FEED})
FORMATS: dict[str, tuple[str, ...]] = {
    Channel.Kind.GOOGLE_FEED: (Feed.Format.XML, Feed.Format.TSV),
    Channel.Kind.META_FEED: (Feed.Format.CSV,),
}
CONTENT_TYPES: dict[str, str] = {
    Feed.Format.XML: "application/rss+xml; charset=utf-8",
    Feed.Format.TSV: "text/tab-separated-values; charset=utf-8",
    Feed.Format.CSV: "text/csv; charset=utf-8",
}
FEED_TOPICS = frozenset(
    {
        EventType.PRODUCT_UPDATED,
        EventType.PRODUCT_DELETED,
        EventType.PRICE_CHANGED,
        EventType.STOCK_CHANGED,
    }
)
CHUNK = 500


def feed_channels() -> list[Channel]:
    return list(
        Channel.objects.filter(is_active=True, kind__in=FEED_KINDS).prefetch_related("locations")
    )


def min_seconds() -> float:
    return float(getattr(settings, "CHANNELS_FEED_MIN_SECONDS", 30.0))


def public_url(path: str) -> str:
    """An absolute URL for a stored file, as feeds need (storage URLs may already be absolute)."""
    url = default_storage.url(path)
    if url.startswith(("http://", "https://")):
        return url
    return str(getattr(settings, "OMNIHUB_PUBLIC_URL", "http://localhost:8000")).rstrip("/") + url


# --- 1. marking --------------------------------------------------------------------------------


def feeds_mark_from_events(events: Sequence[ChangeEvent]) -> set[int]:
    """Mark the products ``events`` touch as stale on the feed channels concerned (an event for
    one channel: that channel if it is a feed; a broadcast: every feed channel, where an
    unpublished product simply has no item). Returns the channel ids marked. Two queries."""
    relevant = [e for e in events if e.topic in FEED_TOPICS]
    if not relevant:
        return set()
    channels = {c.code: c.pk for c in Channel.objects.filter(is_active=True, kind__in=FEED_KINDS)}
    if not channels:
        return set()
    variant_ids = {int(e.aggregate_id) for e in relevant if e.aggregate == "variant"}
    product_of_variant = dict(
        catalog_selectors.variant_list().filter(id__in=variant_ids).values_list("id", "product_id")
        if variant_ids
        else []
    )
    marks: set[tuple[int, int]] = set()
    for event in relevant:
        if event.aggregate == "product":
            product_id: int | None = int(event.aggregate_id)
        elif event.aggregate == "variant":
            product_id = product_of_variant.get(int(event.aggregate_id))
        else:
            continue
        if product_id is None:
            continue
        if event.channel_code:
            targets = [channels[event.channel_code]] if event.channel_code in channels else []
        else:
            targets = list(channels.values())
        marks.update((channel_id, product_id) for channel_id in targets)
    FeedStale.objects.bulk_create(
        [FeedStale(channel_id=c, product_id=p) for c, p in sorted(marks)], ignore_conflicts=True
    )
    return {channel_id for channel_id, _ in marks}


def feed_mark_all(channel: Channel) -> int:
    """Mark every product published on ``channel`` (and every product it lists) as stale: the
    full rebuild, done by the refresh in chunks like any other change."""
    published = set(
        catalog_selectors.published_product_list(channel_code=channel.code).values_list(
            "product_id", flat=True
        )
    )
    listed = set(FeedItem.objects.filter(channel=channel).values_list("product_id", flat=True))
    ids = sorted(published | listed)
    for start in range(0, len(ids), 5000):
        FeedStale.objects.bulk_create(
            [FeedStale(channel=channel, product_id=pid) for pid in ids[start : start + 5000]],
            ignore_conflicts=True,
        )
    return len(ids)


# --- 2. items ----------------------------------------------------------------------------------


def feed_price(
    *, price: VariantPrice, shown: DisplayPrice, country: str, prices_include_tax: bool
) -> spec.FeedPrice:
    """What the feed says of one variant's price, all from ``orders.pricing.display_prices``
    (``shown``; ``price`` is the channel price it was given, for the dates of a dated override).

    The regular price is the compare-at price of a running dated override that lowers the
    price, else the channel's price. The sale price is what one unit costs now (a product-level
    promotion's sale price, else the override's price) when below the regular price; its window
    is the latest start and the earliest end of the override and the promotion that make it.
    For a shopper in an EU country every amount includes VAT: when the channel's prices exclude
    tax, the country's rate is added (``DisplayPrice.with_tax``)."""
    override = shown.compare_at is not None and shown.compare_at > shown.price
    regular = shown.compare_at if override and shown.compare_at is not None else shown.price
    current = shown.current
    starts: list[datetime] = []
    ends: list[datetime] = []
    if override:
        starts += [price.promotion_starts_at] if price.promotion_starts_at else []
        ends += [price.promotion_ends_at] if price.promotion_ends_at else []
    if shown.sale_price is not None:
        starts += [shown.sale_starts_at] if shown.sale_starts_at else []
        ends += [shown.sale_ends_at] if shown.sale_ends_at else []

    def shown_to_shopper(amount: Decimal) -> Decimal:
        if not spec.google_prices_include_vat(country):
            return amount
        return shown.with_tax(amount, prices_include_tax=prices_include_tax)

    on_sale = current < regular
    return spec.FeedPrice(
        currency=shown.currency,
        price=shown_to_shopper(regular),
        sale_price=shown_to_shopper(current) if on_sale else None,
        sale_starts_at=max(starts) if on_sale and starts else None,
        sale_ends_at=min(ends) if on_sale and ends else None,
    )


def _locale_views(
    channel: Channel, english: list[catalog_selectors.ProductView], chain: Sequence[str]
) -> dict[int, catalog_selectors.ProductView]:
    """``english`` read in ``chain`` (one query), with the English views' prices."""
    if list(chain) == [DEFAULT_LANGUAGE]:
        return {view.id: view for view in english}
    info = catalog_selectors.channel_info(channel.code)
    if info is None:
        return {}
    views = catalog_selectors.approved_views(
        channel=info, product_ids=[view.id for view in english], languages=chain
    )
    prices = {variant.id: variant.price for view in english for variant in view.variants}
    for view in views.values():
        for variant in view.variants:
            variant.price = prices.get(variant.id)
    return views


def _items_for(
    channel: Channel, product_ids: Sequence[int], *, country: str | None = None
) -> dict[int, FeedItem]:
    """The feed items of ``product_ids`` as they should be now, by variant id: for shoppers in
    ``country`` (default: the channel's default country, its first ``ChannelCountry``) in the
    channel's language, and under ``fields["locales"]["BE:fr"]`` (``{"fields", "problems"}``)
    for each other country and language the channel sells in (``feed_locales``), so every file
    is written from the stored items alone. Texts follow the fallback chain (the locale's
    language, the channel's, English)."""
    locales = feed_locales(channel)
    default = FeedLocale((country or locales[0].country or "").upper(), channel.language)
    locales = [default] + [locale for locale in locales[1:] if locale != default]
    now = timezone.now()
    english = catalog_selectors.product_views(
        channel_code=channel.code, product_ids=product_ids, at=now
    )
    skus = [variant.sku for view in english for variant in view.variants]
    available: dict[str, int] = {}
    if skus:
        results, _unknown = channel_availability(channel=channel, skus=skus)
        available = {result.sku: result.available for result in results}
    prices = {
        variant.id: variant.price
        for view in english
        for variant in view.variants
        if variant.price is not None
    }
    shown_in: dict[str, dict[int, DisplayPrice]] = {}
    chains = {locale: tuple(locale.chain(channel)) for locale in locales}
    urls: dict[str, str] = {}

    def image_url(path: str) -> str:  # the storage's URL of a picture, once per picture
        url = urls.get(path)
        if url is None:
            url = urls[path] = public_url(path)
        return url

    # per fallback chain: variant id -> (product view, variant view) in that chain's texts
    views_in: dict[tuple[str, ...], dict[int, tuple[Any, Any]]] = {}
    for locale in locales:
        if locale.country not in shown_in:
            shown_in[locale.country] = (
                display_prices(
                    channel=channel,
                    variant_ids=list(prices),
                    country=locale.country,
                    at=now,
                    prices=prices,
                )
                if prices
                else {}
            )
        chain = chains[locale]
        if chain not in views_in:
            views_in[chain] = {
                variant.id: (view, variant)
                for view in _locale_views(channel, english, chain).values()
                for variant in view.variants
            }

    def fields_made(
        view: catalog_selectors.ProductView,
        variant: Any,
        price: spec.FeedPrice | None,
        english: tuple[catalog_selectors.ProductView, Any],
    ) -> tuple[dict[str, Any], list[str]]:
        quantity = available.get(variant.sku, 0)
        google = spec.google_fields(
            product=view,
            variant=variant,
            available=quantity,
            link_template=channel.product_url_template,
            image_url=image_url,
            price=price,
            english=english,
        )
        if channel.kind == Channel.Kind.META_FEED:
            fields = spec.meta_fields(
                google,
                available=quantity,
                video_url=spec.meta_video_url(view, variant, image_url),
            )
            return fields, spec.meta_problems(fields)
        return google, spec.google_problems(google)

    def item_fields(
        locale: FeedLocale,
        view_en: catalog_selectors.ProductView,
        variant_en: Any,
        made: dict[tuple[tuple[str, ...], spec.FeedPrice | None], Any],
    ) -> tuple[dict[str, Any], list[str]] | None:
        """The variant's fields and problems for ``locale``. They depend on the locale only
        through its texts (the fallback chain) and the price its country shows, so locales
        that share both (countries whose shoppers see the same price) share one computation
        (``made``, per variant); each gets its own copy, the default's takes ``locales``."""
        chain = chains[locale]
        found = views_in[chain].get(variant_en.id)
        if found is None:
            return None
        view, variant = found
        display = shown_in[locale.country].get(variant.id)
        price = (
            None
            if display is None or variant.price is None
            else feed_price(
                price=variant.price,
                shown=display,
                country=locale.country,
                prices_include_tax=channel.prices_include_tax,
            )
        )
        key = (chain, price)
        if key not in made:
            made[key] = fields_made(view, variant, price, (view_en, variant_en))
        fields, problems = made[key]
        return dict(fields), list(problems)

    items = {}
    for view_en in english:
        for variant_en in view_en.variants:
            made_for_variant: dict[tuple[tuple[str, ...], spec.FeedPrice | None], Any] = {}
            made = item_fields(default, view_en, variant_en, made_for_variant)
            if made is None:
                continue
            fields, problems = made
            others: dict[str, Any] = {}
            for locale in locales[1:]:
                other = item_fields(locale, view_en, variant_en, made_for_variant)
                if other is not None:
                    others[locale.key] = {"fields": other[0], "problems": other[1]}
            if others:
                fields["locales"] = others
            items[variant_en.id] = FeedItem(
                channel=channel,
                product_id=view_en.id,
                variant_id=variant_en.id,
                fields=fields,
                problems=problems,
            )
    return items


def feed_items_refresh(
    channel: Channel, product_ids: Sequence[int], *, country: str | None = None
) -> int:
    """Bring the items of ``product_ids`` up to date for shoppers in ``country`` (default: the
    channel's default country; per-country feeds will pass theirs); returns how many were
    added, changed or removed. A fixed number of queries per call."""
    wanted = _items_for(channel, product_ids, country=country)
    existing = {
        item.variant_id: item
        for item in FeedItem.objects.filter(channel=channel, product_id__in=list(product_ids))
    }
    new = [item for variant_id, item in wanted.items() if variant_id not in existing]
    changed = []
    for variant_id, item in existing.items():
        fresh = wanted.get(variant_id)
        if fresh is None:
            continue
        if (item.fields, item.problems, item.product_id) != (
            fresh.fields,
            fresh.problems,
            fresh.product_id,
        ):
            item.fields, item.problems, item.product_id = (
                fresh.fields,
                fresh.problems,
                fresh.product_id,
            )
            changed.append(item)
    gone = [item.pk for variant_id, item in existing.items() if variant_id not in wanted]
    bulk.create_ignore_conflicts(new, FeedItem)
    now = timezone.now()
    for item in changed:
        item.updated_at = now
    bulk.update(
        changed, FeedItem, ["fields", "problems", "product_id", "updated_at"], history=False
    )
    FeedItem.objects.filter(pk__in=gone).delete()
    return len(new) + len(changed) + len(gone)


# --- 3. files ----------------------------------------------------------------------------------


class _HashingWriter(io.TextIOBase):
    """A text sink that spools the UTF-8 bytes to a temporary file (in memory while small) and
    keeps their SHA-256, so a feed of any size is written in constant memory."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:  # type: ignore[override]
        data = text.encode()
        self.file.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(text)


def _writer(channel: Channel, fmt: str, out: Any) -> render.FeedWriter:
    if fmt == Feed.Format.XML:
        return render.GoogleXmlWriter(
            out,
            title=channel.name,
            link=str(getattr(settings, "OMNIHUB_PUBLIC_URL", "http://localhost:8000")),
            description=f"Products of {channel.name}, from OmniHub",
        )
    if fmt == Feed.Format.TSV:
        return render.GoogleTsvWriter(out)
    return render.MetaCsvWriter(out)


@dataclass(frozen=True)
class _Target:
    """A file to write: the channel's plain file of a format (``locale`` None) or a locale's."""

    locale: FeedLocale | None
    format: str


@dataclass
class _Written:
    """A file written to its spool and not stored yet, with what its row or cache entry says."""

    target: _Target
    spool: Any
    sink: _HashingWriter
    writer: render.FeedWriter
    excluded: int = 0


def _files_write(channel: Channel, targets: Sequence[_Target], stack: ExitStack) -> list[_Written]:
    """Write every file of ``targets`` from the channel's stored items in ONE pass over them,
    in product and variant order: a plain file takes the items without problems; a locale's
    file takes the items' ``fields["locales"]`` entry of that locale when it has no problems
    (items that do not carry the locale are left out, not counted). Reading the items once,
    not once per file, is what keeps a channel with many countries and languages fast: each
    row's JSON is read and decoded once. The spools close with ``stack``."""
    written = []
    for target in targets:
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        stack.enter_context(spool)  # closed by the caller's stack
        sink = _HashingWriter(spool)
        written.append(_Written(target, spool, sink, _writer(channel, target.format, sink)))
    plain = [one for one in written if one.target.locale is None]
    by_locale: dict[str, list[_Written]] = defaultdict(list)
    for one in written:
        if one.target.locale is not None:
            by_locale[one.target.locale.key].append(one)
    rows = (
        FeedItem.objects.filter(channel=channel)
        .order_by("product_id", "variant_id")
        .values_list("fields", "problems")
    )
    for fields, problems in rows.iterator(chunk_size=2000):
        for one in plain:
            if problems:
                one.excluded += 1
            else:
                one.writer.write(fields)
        entries = fields.get("locales") or {}
        for key, files in by_locale.items():
            entry = entries.get(key)
            if not entry:
                continue
            for one in files:
                if entry["problems"]:
                    one.excluded += 1
                else:
                    one.writer.write(entry["fields"])
    for one in written:
        one.writer.close()
        one.spool.seek(0)
    return written


def feed_render(channel: Channel) -> list[Feed]:
    """Write every file of ``channel`` again from its stored items and swap them in: the plain
    file of each format and those of every other country and language, all from one pass over
    the items (so each ``Feed.seconds`` is the time of that whole pass)."""
    started = time.perf_counter()
    formats = FORMATS.get(channel.kind, ())
    locales = feed_locales(channel)[1:] if formats else []
    targets = [_Target(None, fmt) for fmt in formats]
    targets += [_Target(locale, fmt) for locale in locales for fmt in formats]
    feeds: dict[str, Feed] = {}
    with ExitStack() as stack:
        written = _files_write(channel, targets, stack)
        for one in written:
            if one.target.locale is None:
                feeds[one.target.format] = _feed_store(channel, one, started)
        for one in written:
            if one.target.locale is not None:
                _locale_store(channel, one.target.locale, feeds[one.target.format], one)
    return list(feeds.values())


def _feed_store(channel: Channel, written: _Written, started: float) -> Feed:
    """Store a plain file under a new name, switch the channel's ``Feed`` row to it, and only
    then delete the file the row named before (see ``feed_open``)."""
    fmt = written.target.format
    name = default_storage.save(
        f"feeds/{channel.code}-{uuid.uuid4().hex[:12]}.{fmt}", File(written.spool)
    )
    with transaction.atomic():
        feed, _ = Feed.objects.select_for_update().get_or_create(channel=channel, format=fmt)
        old_path = feed.path
        feed.path = name
        feed.etag = written.sink.digest.hexdigest()[:32]
        feed.generated_at = timezone.now()
        feed.item_count = written.writer.count
        feed.excluded_count = written.excluded
        feed.size_bytes = written.sink.size
        feed.seconds = round(time.perf_counter() - started, 3)
        feed.dirty = False
        feed.save()
    if old_path and old_path != name:
        default_storage.delete(old_path)
    return feed


# --- 3b. files per country and language --------------------------------------------------------


@dataclass(frozen=True)
class FeedFile:
    """The written file of one country and language other than the channel's default (its plain
    file's ``Feed`` row is per channel and format only, so what is known of the file is kept in
    the cache; a lost entry only means the file is written again from the stored items)."""

    path: str
    format: str
    etag: str
    generated_at: datetime
    item_count: int
    excluded_count: int
    size_bytes: int
    basis: tuple[int, str]  # the plain file's Feed row and its generated_at when this was written


def _locale_cache_key(channel: Channel, locale: FeedLocale, fmt: str) -> str:
    return f"channels.feed:{channel.pk}:{locale.key}:{fmt}"


def _basis(feed: Feed) -> tuple[int, str]:
    return (feed.pk, feed.generated_at.isoformat() if feed.generated_at else "")


def feed_locale_render(channel: Channel, locale: FeedLocale, feed: Feed) -> FeedFile:
    """Write the file of ``locale`` in ``feed``'s format from the stored items (their
    ``fields["locales"]``), as the plain file is written: constant memory, a new name, the
    previous files of the locale deleted after the switch."""
    with ExitStack() as stack:
        (written,) = _files_write(channel, [_Target(locale, feed.format)], stack)
        return _locale_store(channel, locale, feed, written)


def _locale_store(channel: Channel, locale: FeedLocale, feed: Feed, written: _Written) -> FeedFile:
    """Store a locale's file under a new name, remember it in the cache with ``feed`` (the plain
    file it goes with), then delete the locale's previous files."""
    fmt = feed.format
    prefix = f"{channel.code}.{locale.country}.{locale.language}."
    name = default_storage.save(f"feeds/{prefix}{uuid.uuid4().hex[:12]}.{fmt}", File(written.spool))
    file = FeedFile(
        path=name,
        format=fmt,
        etag=written.sink.digest.hexdigest()[:32],
        generated_at=timezone.now(),
        item_count=written.writer.count,
        excluded_count=written.excluded,
        size_bytes=written.sink.size,
        basis=_basis(feed),
    )
    cache.set(_locale_cache_key(channel, locale, fmt), file, timeout=None)
    try:
        _dirs, names = default_storage.listdir("feeds")
    except (FileNotFoundError, NotImplementedError):
        names = []
    for other in names:
        if other.startswith(prefix) and other.endswith(f".{fmt}") and f"feeds/{other}" != name:
            default_storage.delete(f"feeds/{other}")
    return file


def feed_open(feed: Feed, *, attempts: int = 3) -> tuple[Feed, Any]:
    """Open the stored file of ``feed`` for reading; returns the feed row actually served (its
    ETag, date and counts belong to that file) and the open file.

    A render writes the new file under a new name, switches the row to it, and only then deletes
    the file the row named before. A request that read the row just before the switch can thus
    find its file gone: the row is read again and the file that replaced it is opened. When the
    row still names a file that is missing (removed from the storage by hand), the channel's
    files are written again first. Once open, a file stays readable even if a later render
    deletes it (POSIX semantics of the file system storage). Raises ``FileNotFoundError`` after
    ``attempts`` tries, ``Feed.DoesNotExist`` when the row itself is gone.
    """
    for _attempt in range(attempts - 1):
        try:
            return feed, default_storage.open(feed.path, "rb")
        except FileNotFoundError:
            current = Feed.objects.select_related("channel").get(pk=feed.pk)
            if current.path == feed.path:  # nothing replaced it: write the files again
                feed_render(current.channel)
                current = Feed.objects.get(pk=feed.pk)
            feed = current
    return feed, default_storage.open(feed.path, "rb")


@dataclass(frozen=True)
class RefreshResult:
    products: int
    items_changed: int
    rendered: bool


def _claim(channel: Channel, limit: int) -> list[FeedStale]:
    claimed = FeedStale.objects.filter(channel=channel).order_by("pk")
    if connection.vendor == "postgresql":
        claimed = claimed.select_for_update(skip_locked=True)
    return list(claimed[:limit])


def feed_refresh(channel: Channel, *, force_render: bool = False) -> RefreshResult:
    """Recompute the stale products of ``channel`` (chunk by chunk, each in one transaction with
    the removal of its marks) and write the files when an item changed and the last file is
    older than ``CHANNELS_FEED_MIN_SECONDS`` (or when ``force_render``)."""
    products = changed = 0
    while True:
        with transaction.atomic():
            marks = _claim(channel, CHUNK)
            if not marks:
                break
            product_ids = sorted({mark.product_id for mark in marks})
            count = feed_items_refresh(channel, product_ids)
            FeedStale.objects.filter(pk__in=[mark.pk for mark in marks]).delete()
            if count:
                Feed.objects.filter(channel=channel).update(dirty=True)
        products += len(product_ids)
        changed += count
    formats = FORMATS.get(channel.kind, ())
    feeds = {feed.format: feed for feed in Feed.objects.filter(channel=channel)}
    missing = any(fmt not in feeds for fmt in formats)
    dirty = any(feed.dirty for feed in feeds.values())
    newest = max((f.generated_at for f in feeds.values() if f.generated_at), default=None)
    due = newest is None or (timezone.now() - newest).total_seconds() >= min_seconds()
    rendered = False
    if formats and (force_render or missing or (dirty and due)):
        feed_render(channel)
        rendered = True
    return RefreshResult(products, changed, rendered)


def feeds_refresh_all() -> dict[str, RefreshResult]:
    """Refresh every active feed channel (the periodic task)."""
    return {channel.code: feed_refresh(channel) for channel in feed_channels()}


def feed_rebuild(channel: Channel) -> RefreshResult:
    """Recompute every item of ``channel`` and write its files now."""
    feed_mark_all(channel)
    return feed_refresh(channel, force_render=True)


def feed_channel_get(*, code: str, fmt: str) -> Channel | None:
    """The active feed channel ``code`` when it serves files of format ``fmt``, else None."""
    channel = (
        Channel.objects.filter(code=code, is_active=True, kind__in=FEED_KINDS)
        .prefetch_related("locations", "countries")
        .first()
    )
    if channel is None or fmt not in FORMATS.get(channel.kind, ()):
        return None
    return channel


def feed_for_request(*, code: str, fmt: str) -> Feed | None:
    """The feed file to serve for ``/channels/{code}/feed.{fmt}``, or None when the channel is
    not an active feed channel of that format. A channel's very first request builds it; later
    ones serve the stored file, written again first only if it is dirty and due."""
    channel = feed_channel_get(code=code, fmt=fmt)
    if channel is None:
        return None
    feed = Feed.objects.filter(channel=channel, format=fmt).first()
    if feed is None or not feed.path:
        feed_rebuild(channel)
    elif feed.dirty or FeedStale.objects.filter(channel=channel).exists():
        feed_refresh(channel)
    return Feed.objects.filter(channel=channel, format=fmt).first()


def feed_locale_for_request(*, channel: Channel, locale: FeedLocale, fmt: str) -> FeedFile | None:
    """The file of ``locale`` (not the channel's default) for ``/channels/{code}/feed.{fmt}
    ?country=&language=``, or None when the channel has no file of that format. The plain file
    is brought up to date first (``feed_for_request``); the locale's file is the one written
    with it, or is written now from the stored items when the cache does not know it (another
    process wrote it, the cache was emptied). Items that do not carry the locale yet (a country
    or language added to the channel since they were computed) are all computed again first."""
    feed = feed_for_request(code=channel.code, fmt=fmt)
    if feed is None or not feed.path:
        return None
    key = _locale_cache_key(channel, locale, fmt)
    file = cache.get(key)
    if isinstance(file, FeedFile) and file.basis == _basis(feed):
        return file
    items = FeedItem.objects.filter(channel=channel)
    if items.count() != items.filter(fields__locales__has_key=locale.key).count():
        feed_rebuild(channel)  # writes every file, this locale's too
        feed = Feed.objects.get(pk=feed.pk)
        file = cache.get(key)
        if isinstance(file, FeedFile) and file.basis == _basis(feed):
            return file
    return feed_locale_render(channel, locale, feed)


def feed_locale_open(
    file: FeedFile, *, channel: Channel, locale: FeedLocale
) -> tuple[FeedFile, Any]:
    """Open ``file``; when a render has just replaced (and deleted) it, open the file of the
    locale as it is now instead (see ``feed_open``)."""
    try:
        return file, default_storage.open(file.path, "rb")
    except FileNotFoundError:
        current = feed_locale_for_request(channel=channel, locale=locale, fmt=file.format)
        if current is None:
            raise
        if current.path == file.path:
            feed = Feed.objects.get(channel=channel, format=file.format)
            current = feed_locale_render(channel, locale, feed)
        return current, default_storage.open(current.path, "rb")


def feed_problem_summary(channel: Channel) -> dict[str, int]:
    """How many left-out items break a rule of each attribute, most first (for the admin)."""
    counts: dict[str, int] = defaultdict(int)
    rows = (
        FeedItem.objects.filter(channel=channel)
        .exclude(problems=[])
        .values_list("problems", flat=True)
    )
    for problems in rows.iterator(chunk_size=2000):
        for attribute in {problem.split(":")[0] for problem in problems}:
            counts[attribute] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
