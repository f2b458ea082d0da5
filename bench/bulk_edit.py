"""A bulk price change of N variants (default 10,000) as the admin runs it: the preview, the job
and its rows created, then the job run batch by batch in this process (as the Celery task runs it).
Prints the wall time of each step. Writes fresh products (``bench-bulk-<run>-*``) into the
database it is given, so use a scratch database:

    createdb -h 127.0.0.1 -U postgres omnihub_h5
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_h5 REDIS_URL=redis://127.0.0.1:6379/5
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/bulk_edit.py [--variants 10000] [--per-product 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from catalog import bulk_edit  # noqa: E402
from catalog.models import BulkEditJob, Price, Product, Variant  # noqa: E402
from core.models import Channel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--per-product", type=int, default=10)
    args = parser.parse_args()
    run = int(time.time())
    channel, _ = Channel.objects.get_or_create(
        code="bench-bulk", defaults={"name": "Bench bulk", "currency": "EUR"}
    )
    products = Product.objects.bulk_create(
        [
            Product(handle=f"bench-bulk-{run}-{n}", name=f"Bench bulk {n}")
            for n in range(args.variants // args.per_product)
        ]
    )
    variants = Variant.objects.bulk_create(
        [
            Variant(product=product, sku=f"BB-{run}-{p}-{v}", options={"n": str(v)})
            for p, product in enumerate(products)
            for v in range(args.per_product)
        ],
        batch_size=5000,
    )
    Price.objects.bulk_create(
        [
            Price(variant=v, channel=channel, currency="EUR", amount=Decimal("10.00"))
            for v in variants
        ],
        batch_size=5000,
    )
    ids = [variant.id for variant in variants]
    if connection.vendor == "postgresql":  # fresh rows: give the planner the statistics a
        with connection.cursor() as cursor:  # live catalog has (autovacuum would, later)
            cursor.execute("ANALYZE catalog_product, catalog_variant, catalog_price")
    print(f"{connection.vendor}: {len(ids)} variants of {len(products)} products")

    params = bulk_edit.price_params_clean(
        action=BulkEditJob.Action.PRICE_CHANGE, channel=channel.code, kind="percent", value="10"
    )
    began = time.perf_counter()
    preview = bulk_edit.bulk_price_preview(
        action=BulkEditJob.Action.PRICE_CHANGE, variant_ids=ids, params=params
    )
    preview_s = time.perf_counter() - began
    began = time.perf_counter()
    job = bulk_edit.bulk_edit_job_create(
        action=BulkEditJob.Action.PRICE_CHANGE, target="variant", object_ids=ids, params=params
    )
    create_s = time.perf_counter() - began
    began = time.perf_counter()
    job = bulk_edit.bulk_edit_job_run(job_id=job.id)
    run_s = time.perf_counter() - began
    assert job.status == BulkEditJob.Status.SUCCEEDED and job.done == len(ids), job
    assert preview.changing == len(ids)
    print(f"preview (counts over all, first 200 rows): {preview_s:.2f} s")
    print(f"job and {job.total} rows created: {create_s:.2f} s")
    print(
        f"job run, {bulk_edit.batch_size()} rows a batch: {run_s:.2f} s "
        f"({job.total / run_s:.0f} rows/s)"
    )


if __name__ == "__main__":
    main()
