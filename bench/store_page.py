"""Benchmark: server time of the store page on the large demo dataset (20,000 products,
100,000 variants, 22 locations).

    createdb -h 127.0.0.1 -U postgres omnihub_large
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --size large
    .venv/bin/python bench/store_page.py

Logs in as the demo store associate and renders each page through Django's test client (server
time only) twenty times; prints the median, the 95th percentile and the number of queries.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
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

from catalog.models import Product, Variant  # noqa: E402
from inventory.models import StaffMember  # noqa: E402

RUNS = 20


def measure(client: Client, label: str, url: str, expect: int = 200) -> None:
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, (url, response.status_code)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"{label:<42} median {statistics.median(times):6.1f} ms, p95 {p95:6.1f} ms, "
        f"{len(captured.captured_queries)} queries"
    )


def main() -> None:
    associate = User.objects.get(
        pk=StaffMember.objects.filter(user__groups__name="Store associate")
        .order_by("pk")
        .values_list("user_id", flat=True)[0]
    )
    print(
        f"{connection.vendor}: {Product.objects.count():,} products, {Variant.objects.count():,} "
        f"variants; associate {associate.username}"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(associate)
    product = Product.objects.filter(handle__startswith="demo-").order_by("-id").first()
    assert product is not None
    variant = product.variants.order_by("id").first()
    assert variant is not None
    measure(
        client, "product page (variant grid, nearby, incoming)", f"/store/products/{product.pk}/"
    )
    measure(
        client, "scan a barcode (redirect to the product)", f"/store/?q={variant.gtin}", expect=302
    )
    measure(client, "type a SKU", f"/store/?q={variant.sku}", expect=302)
    measure(client, "search by name words", "/store/?q=linen%20shirt")
    measure(client, "search with a typo", "/store/?q=lnen%20shrt")
    measure(client, "click & collect queue", "/store/pickups/")


if __name__ == "__main__":
    main()
