"""The issue's "must show": a bulk price change of 10,000 variants runs as a background job, with
progress the admin page shows, and writes history for every row. Runs on SQLite and PostgreSQL
(``DATABASE_URL``); its figures on PostgreSQL are in docs/benchmarks.md ("Bulk edits")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog.bulk_edit import bulk_edit_job_run
from catalog.models import BulkEditJob, BulkEditJobRow, Price, Product, Variant
from core.models import AuditEntry, ChangeEvent, Channel
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db, pytest.mark.scale]

PRODUCTS, VARIANTS_EACH = 1_000, 10
VARIANTS = PRODUCTS * VARIANTS_EACH


def _catalog() -> list[int]:
    """1,000 products of 10 variants at 10.00 EUR on the webshop, written in bulk."""
    channel: Channel = ChannelFactory.create(code="webshop", currency="EUR")
    products = Product.objects.bulk_create(
        [Product(handle=f"bulk-{n}", name=f"Bulk {n}") for n in range(PRODUCTS)]
    )
    variants = Variant.objects.bulk_create(
        [
            Variant(product=product, sku=f"BULK-{p}-{v}", options={"n": str(v)}, position=v)
            for p, product in enumerate(products)
            for v in range(VARIANTS_EACH)
        ],
        batch_size=2000,
    )
    Price.objects.bulk_create(
        [
            Price(variant=variant, channel=channel, currency="EUR", amount=Decimal("10.00"))
            for variant in variants
        ],
        batch_size=2000,
    )
    return [variant.id for variant in variants]


def test_a_price_change_of_10000_variants_runs_as_a_job_with_progress_and_history(
    merchandiser, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    ids = _catalog()
    client = Client()
    client.force_login(merchandiser)
    url = reverse("admin:catalog_variant_changelist")
    action = {
        "action": "bulk_change_prices",
        "select_across": "1",  # "select all 10,000" on the changelist
        "_selected_action": [ids[0]],
        "bulk-channel": "webshop",
        "bulk-kind": "percent",
        "bulk-value": "10",
    }

    # given the preview of +10 % on every variant
    preview = client.post(url, {**action, "_bulk_step": "preview"}).content.decode()
    assert "10000 variant(s): <strong>10000</strong> will change" in preview
    assert "More than 1000 rows: the change runs in the background" in preview
    assert "<td>BULK-0-0</td><td>Bulk 0</td><td>EUR</td><td>10.00</td><td>11.00</td>" in preview

    # when it is confirmed, then a job is queued (after commit) and nothing has changed yet
    with django_capture_on_commit_callbacks(execute=False) as queued:
        confirmed = client.post(url, {**action, "_bulk_step": "confirm"})
    job = BulkEditJob.objects.get()
    page_url = reverse("admin:catalog_bulkeditjob_change", args=[job.pk])
    assert confirmed["Location"] == page_url
    assert len(queued) == 1
    assert (job.status, job.total, job.target) == (BulkEditJob.Status.QUEUED, VARIANTS, "variant")
    page = client.get(page_url)
    assert page["Refresh"] == "2"
    assert "0% (0 of 10000 rows: 0 done, 0 failed)" in page.content.decode()

    # the page follows the job batch by batch
    job = bulk_edit_job_run(job_id=job.pk, max_batches=2)
    assert (job.status, job.done) == (BulkEditJob.Status.RUNNING, 1000)
    assert "10% (1000 of 10000 rows: 1000 done, 0 failed)" in client.get(page_url).content.decode()
    assert Price.objects.filter(amount=Decimal("11.00")).count() == 1000

    # the queued task (eager here) runs the rest
    queued[0]()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == (BulkEditJob.Status.SUCCEEDED, VARIANTS, 0)
    assert job.finished_at is not None
    finished = client.get(page_url)
    assert "Refresh" not in finished
    assert "100% (10000 of 10000 rows: 10000 done, 0 failed)" in finished.content.decode()

    # every price moved once, and every row's before and after is kept twice over: on the job's
    # row and in the price history, which names the job and the merchandiser
    assert Price.objects.filter(amount=Decimal("11.00")).count() == VARIANTS
    assert not Price.objects.exclude(amount=Decimal("11.00")).exists()
    rows = BulkEditJobRow.objects.filter(job=job)
    assert rows.filter(status=BulkEditJobRow.Status.CHANGED).count() == VARIANTS
    first = rows.get(object_id=ids[0])
    assert (first.label, first.before, first.after) == (
        "BULK-0-0",
        {"amount": "10.00", "currency": "EUR"},
        {"amount": "11.00", "currency": "EUR"},
    )
    history = Price.history.filter(history_change_reason=f"bulk edit job #{job.pk}")
    assert history.count() == VARIANTS
    assert set(history.values_list("amount", "history_type", "history_user_id")) == {
        (Decimal("11.00"), "~", merchandiser.pk)
    }
    # the channels hear of it: one price.changed per product (a batch holds 50 whole products)
    assert ChangeEvent.objects.filter(topic="price.changed").count() == PRODUCTS
    assert AuditEntry.objects.filter(object_type="catalog.bulkeditjob").count() == VARIANTS // 500
