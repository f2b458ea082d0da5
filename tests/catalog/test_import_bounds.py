"""A Shopify import file that is not UTF-8, or any unexpected failure while a job runs, ends the
job as failed with its reason: never a 500, never a job left "running" forever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from catalog.exceptions import ImportFileInvalid
from catalog.imports import services as import_services
from catalog.imports.services import import_job_run, products_import
from catalog.models import ImportJob, Product

pytestmark = pytest.mark.django_db

LATIN_1 = (
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
    "caf\u00e9-tee,Caf\u00e9 Tee,Size,S,CAFE-S,19.99\n"
).encode("latin-1")


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def job_with(data: bytes) -> ImportJob:
    return ImportJob.objects.create(
        format=ImportJob.Format.SHOPIFY,
        file=ContentFile(data, name="products.csv"),
        original_name="products.csv",
    )


def test_a_file_that_is_not_utf8_is_refused_naming_the_encoding() -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        products_import(data=LATIN_1)

    assert "UTF-8" in refused.value.message
    assert refused.value.errors[0]["row"] == 2  # the line holding the first bad byte
    assert not Product.objects.exists()


def test_a_job_with_a_file_that_is_not_utf8_fails_with_its_reason() -> None:
    job = job_with(LATIN_1)

    import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.finished_at is not None
    assert "UTF-8" in job.errors[0]["message"]
    assert not Product.objects.exists()


def test_any_unexpected_error_fails_the_job_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_services, "products_import", broken)
    job = job_with(b"Handle,Title\n")

    import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.finished_at is not None
    assert job.errors == [
        {"row": 0, "column": "", "message": "The import failed unexpectedly: RuntimeError."}
    ]
