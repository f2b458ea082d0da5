"""Benchmark: the product changelist and change page on the large demo catalog (20,000 products,
100,000 variants, prices on six channels).

    createdb omnihub_large
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --size large
    .venv/bin/python bench/catalog_admin.py

Renders each page through Django's test client as the demo admin (server time only: no network,
no browser) five times and prints the median, the slowest and the number of queries.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Product, Variant  # noqa: E402


def measure(client: Client, label: str, url: str) -> None:
    times = []
    queries = 0
    for _ in range(5):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured.captured_queries)
    print(
        f"{label:<44} median {statistics.median(times):6.0f} ms, "
        f"max {max(times):6.0f} ms, {queries} queries"
    )


def main() -> None:
    print(
        f"{connection.vendor}: {Product.objects.count():,} products, "
        f"{Variant.objects.count():,} variants"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="admin"))
    product = Product.objects.filter(handle__startswith="demo-").order_by("-id").first()
    assert product is not None
    sku = product.variants.first().sku  # type: ignore[union-attr]
    base = "/admin/catalog/product/"
    measure(client, "changelist, 50 per page", base)
    measure(client, "changelist, page 2", f"{base}?p=2")
    measure(client, "search by SKU", f"{base}?q={sku}")
    measure(client, "search by name", f"{base}?q=Linen")
    measure(client, "filter: incomplete on google", f"{base}?complete=no%3Agoogle")
    measure(
        client,
        "filter: published on webshop, brand Vela",
        f"{base}?channel=on%3Awebshop&brand=Vela",
    )
    measure(client, "change page (5 variants, 1 image)", f"{base}{product.pk}/change/")
    measure(client, "history page", f"{base}{product.pk}/history/")
    measure(client, "variant changelist", "/admin/catalog/variant/")
    measure(
        client,
        "variant search by GTIN",
        f"/admin/catalog/variant/?q={product.variants.first().gtin}",
    )  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
