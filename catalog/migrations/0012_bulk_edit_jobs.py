"""Bulk edit jobs: a job per bulk edit in the admin and one row per product or variant, with its
outcome and its values before and after (docs/catalog.md, "Bulk edits"). Expand only: two new
tables."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_media_kinds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BulkEditJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("set_attribute", "Set an attribute"),
                            ("price_change", "Change prices"),
                            ("price_schedule", "Schedule a price"),
                            ("submit", "Submit for review"),
                            ("approve", "Approve"),
                            ("publish", "Publish"),
                            ("unpublish", "Unpublish"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "target",
                    models.CharField(
                        choices=[("product", "Products"), ("variant", "Variants")],
                        help_text="What each row of the job is.",
                        max_length=10,
                    ),
                ),
                ("params", models.JSONField(blank=True, default=dict)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Done"),
                            ("partial", "Done, some rows failed"),
                            ("failed", "Stopped"),
                        ],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("total", models.PositiveIntegerField(default=0)),
                (
                    "done",
                    models.PositiveIntegerField(
                        default=0, help_text="Rows changed or already as asked."
                    ),
                ),
                ("failed", models.PositiveIntegerField(default=0)),
                (
                    "error",
                    models.TextField(blank=True, help_text="Why the whole job stopped, if it did."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.CreateModel(
            name="BulkEditJobRow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "object_id",
                    models.PositiveBigIntegerField(
                        help_text="The product or variant (job.target)."
                    ),
                ),
                (
                    "label",
                    models.CharField(blank=True, help_text="SKU or product name.", max_length=255),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("changed", "Changed"),
                            ("unchanged", "Already so"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("before", models.JSONField(blank=True, null=True)),
                ("after", models.JSONField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rows",
                        to="catalog.bulkeditjob",
                    ),
                ),
            ],
            options={
                "ordering": ["job_id", "id"],
                "indexes": [
                    models.Index(fields=["job", "status", "id"], name="bulk_edit_row_job_status")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job", "object_id"), name="bulk_edit_row_unique"
                    )
                ],
            },
        ),
    ]
