"""Running imports: from bytes (command, tests) or as a background job (admin)."""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from catalog.exceptions import ImportFileInvalid
from catalog.imports import apply, shopify
from catalog.imports.apply import ImportSummary, Progress
from catalog.models import ImportJob

FORMATS = {"shopify": shopify.parse}

logger = structlog.get_logger("omnihub.catalog.imports")


def default_price_channel() -> str:
    return str(getattr(settings, "CATALOG_IMPORT_PRICE_CHANNEL", "webshop"))


def products_import(
    *,
    data: bytes,
    fmt: str = "shopify",
    price_channel_code: str | None = None,
    stock_location_code: str = "",
    reference: str = "",
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate the whole file, then write it in one transaction. A file with any bad row raises
    ``ImportFileInvalid`` whose ``errors`` list every bad cell as {row, column, message}, and
    nothing is written. Repeating an import updates what it created."""
    parse = FORMATS.get(fmt)
    if parse is None:
        raise ImportFileInvalid(f"Unknown import format {fmt!r}; use one of {', '.join(FORMATS)}.")
    plan, errors = parse(_utf8_text(data))
    if errors or plan is None:
        raise ImportFileInvalid(
            apply._message(errors), errors=[error.as_dict() for error in errors]
        )
    return apply.plan_apply(
        plan=plan,
        price_channel_code=default_price_channel()
        if price_channel_code is None
        else price_channel_code,
        stock_location_code=stock_location_code,
        reference=reference,
        progress=progress,
    )


def _utf8_text(data: bytes | str) -> str:
    """The file as text; a file in another encoding is refused naming the line of the first
    byte that is not UTF-8 (an export from a spreadsheet saved as Latin-1 or Windows-1252)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = (
            f"The file is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line} cannot be "
            "read); save it as CSV UTF-8 and import it again."
        )
        raise ImportFileInvalid(
            message, errors=[{"row": line, "column": "", "message": message}]
        ) from exc


def _progress_key(job_id: int) -> str:
    return f"catalog:import-job:{job_id}:progress"


def import_job_progress(job: ImportJob) -> tuple[int, int]:
    """(rows done, rows total) of a running job: the import writes in one transaction, so live
    progress is kept in the cache, where the admin can see it before the commit."""
    live = cache.get(_progress_key(job.id))
    return tuple(live) if live else (job.rows_done, job.rows_total)  # type: ignore[return-value]


def import_job_create(
    *, fmt: str, uploaded: Any, user: Any = None, options: dict[str, str] | None = None
) -> ImportJob:
    """Store the upload and queue the job after commit (on the ``imports`` queue)."""
    from catalog.imports.tasks import import_products

    job = ImportJob.objects.create(
        format=fmt,
        file=uploaded,
        original_name=getattr(uploaded, "name", "")[:255],
        created_by=user if user is not None and user.is_authenticated else None,
        summary={"options": options or {}},
    )
    transaction.on_commit(lambda: import_products.delay(job.id))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job: progress in the cache while it runs, errors or a summary at the end."""
    job = ImportJob.objects.get(id=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    options = dict(job.summary.get("options", {}))

    def progress(done: int, total: int) -> None:
        cache.set(_progress_key(job.id), (done, total), timeout=3600)

    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        if job.format == ImportJob.Format.NATIVE:
            from catalog.resources import catalog_native_import

            fmt = "xlsx" if job.original_name.lower().endswith(".xlsx") else "csv"
            counts = catalog_native_import(file_bytes=data, fmt=fmt, user=job.created_by)
            rows = int(counts.get("rows", 0))
        else:
            summary = products_import(
                data=data,
                fmt=job.format,
                price_channel_code=options.get("price_channel") or None,
                stock_location_code=options.get("stock_location", ""),
                reference=f"import job {job.id}",
                progress=progress,
            )
            counts = summary.as_dict()
            rows = summary.variants_created + summary.variants_updated
    except ImportFileInvalid as refused:
        job.status, job.errors = (
            ImportJob.Status.FAILED,
            refused.errors or [{"row": 0, "column": "", "message": refused.message}],
        )
    except Exception as exc:
        # whatever else went wrong, the job ends: a job left "running" is never retried and
        # tells the staff nothing; the traceback goes to the log with the job's id
        logger.exception("catalog.import_job.crashed", job_id=job.id)
        job.status, job.errors = (
            ImportJob.Status.FAILED,
            [
                {
                    "row": 0,
                    "column": "",
                    "message": f"The import failed unexpectedly: {type(exc).__name__}.",
                }
            ],
        )
    else:
        job.status = ImportJob.Status.SUCCEEDED
        job.summary = {"options": options, **counts}
        job.rows_total = job.rows_done = rows
    job.finished_at = timezone.now()
    done, total = import_job_progress(job)
    job.rows_done, job.rows_total = max(job.rows_done, done), max(job.rows_total, total)
    job.save()
    cache.delete(_progress_key(job.id))
    return job
