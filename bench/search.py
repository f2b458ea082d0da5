"""Benchmark: server time of the one product search (``catalog.search``) on the large demo
catalog (20,000 products, 100,000 variants), through the API, the admin and the store page.

    createdb -h 127.0.0.1 -U postgres omnihub_large
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --size large
    .venv/bin/python bench/search.py [--runs 20]

Only the catalog is needed: ``--seed`` runs the catalog steps of ``seed_demo --size large``
(categories, products and variants, locations, channels, prices and publication, staff,
partners) into an empty migrated database instead of the whole demo.

Each search runs through Django's test client (server time: routing, authentication, the
queries, serialising; no network) ``--runs`` times after one warm-up request; prints the
median, the 95th percentile and the queries of the last request. A logged-in superuser calls
the API (``?channel=`` the channel with most publications) and the admin; the demo store
associate calls the store page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Product, ProductPublication, Variant  # noqa: E402
from inventory.models import StaffMember  # noqa: E402

CATALOG_STEPS = [
    "categories (Google taxonomy)",
    "products and variants",
    "locations",
    "channels",
    "catalog: pictures, prices, approval, publication",
    "staff and roles",
    "partners and API keys",
]


def seed_catalog() -> None:
    from demo import seed

    steps = dict(seed.demo_steps("large"))
    for label in CATALOG_STEPS:
        started = time.perf_counter()
        with transaction.atomic():
            steps[label]()
        print(f"seeded {label} in {time.perf_counter() - started:.1f} s", flush=True)


def measure(client: Client, label: str, url: str, runs: int, expect: int = 200) -> float:
    client.get(url)  # warm-up: the cached vocabulary, connection, plan cache
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, (url, response.status_code)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"| {label} | {statistics.median(times):.1f} ms | {p95:.1f} ms | "
        f"{len(captured.captured_queries)} |",
        flush=True,
    )
    return p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", action="store_true", help="seed the catalog steps first")
    args = parser.parse_args()
    if args.seed:
        seed_catalog()
    admin, _ = User.objects.get_or_create(
        username="bench-search", defaults={"is_staff": True, "is_superuser": True}
    )
    print(
        f"{connection.vendor}: {Product.objects.count():,} products, "
        f"{Variant.objects.count():,} variants"
    )
    channel = (
        ProductPublication.objects.values("channel__code")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("channel__code", flat=True)
        .first()
    )
    variant = Variant.objects.exclude(gtin="").order_by("pk")[Variant.objects.count() // 2]
    sku_prefix = variant.sku.rsplit("-", 1)[0]
    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(admin)
    terms = [
        ("exact SKU", variant.sku),
        ("exact GTIN", variant.gtin),
        ("SKU prefix (one product's variants)", sku_prefix),
        ("one common word", "shirt"),
        ("brand and word", "noordkust linen"),
        ("a typo (transposed letters)", "jakcet"),
        ("two typos", "rian jakcet"),
        ("nothing matches (trigram nearest names)", "qzxv"),
    ]
    print(f"\nAPI: GET /api/v1/products/?channel={channel}&search=... (50 per page)\n")
    print("| search | median | p95 | queries |\n| --- | --- | --- | --- |")
    worst = 0.0
    for label, term in terms:
        query = urlencode({"channel": channel, "search": term})
        worst = max(worst, measure(staff, label, f"/api/v1/products/?{query}", args.runs))
    query = urlencode({"channel": channel, "search": "shirt", "facets": "category,brand,attribute"})
    measure(staff, "one common word, with every facet", f"/api/v1/products/?{query}", args.runs)
    query = urlencode({"channel": channel, "facets": "category,brand,attribute"})
    measure(staff, "no search, every facet (whole channel)", f"/api/v1/products/?{query}", 5)

    print("\nAdmin: product changelist ?q=... (50 per page)\n")
    print("| search | median | p95 | queries |\n| --- | --- | --- | --- |")
    measure(staff, "(no search: the changelist alone)", "/admin/catalog/product/", args.runs)
    for label, term in terms:
        url = f"/admin/catalog/product/?{urlencode({'q': term})}"
        worst = max(worst, measure(staff, label, url, args.runs))
    url = f"/admin/catalog/variant/?{urlencode({'q': variant.sku})}"
    measure(staff, "variant changelist, exact SKU", url, args.runs)

    associate_id = (
        StaffMember.objects.filter(user__groups__name="Store associate")
        .order_by("pk")
        .values_list("user_id", flat=True)
        .first()
    )
    if associate_id is not None:
        store = Client(HTTP_HOST="127.0.0.1")
        store.force_login(User.objects.get(pk=associate_id))
        print("\nStore page: /store/?q=... (20 best)\n")
        print("| search | median | p95 | queries |\n| --- | --- | --- | --- |")
        measure(store, "(no search: the page alone)", "/store/", args.runs)
        measure(
            store,
            "scan a barcode (exact GTIN, redirect)",
            f"/store/?q={variant.gtin}",
            args.runs,
            302,
        )
        for label, term in terms[3:]:
            worst = max(
                worst, measure(store, label, f"/store/?{urlencode({'q': term})}", args.runs)
            )
    print(f"\nworst p95 of the searches: {worst:.1f} ms")


if __name__ == "__main__":
    main()
