"""Media beyond images: a kind per media (image, video, 360° view, document), the file of a video
or document with its type, size and page count, a video URL's provider, and the frames of a 360°
view. Additive only: every new column is nullable or has a database default (old code's inserts
leave them out and get an image), and ``SpinFrame`` is a new table."""

import django.db.models.deletion
from django.db import migrations, models

import catalog.models

KINDS = [
    ("image", "Image"),
    ("video", "Video"),
    ("spin", "360° view"),
    ("document", "Document (PDF)"),
]
FILE_HELP = "The video (MP4, WebM) or document (PDF) file."
PROVIDER_HELP = "Where a video URL plays: youtube, vimeo, or the allowed host's name."


def _media_fields(model_name: str, file_field: models.Field) -> list[migrations.AddField]:  # type: ignore[type-arg]
    return [
        migrations.AddField(
            model_name=model_name,
            name="kind",
            field=models.CharField(
                choices=KINDS, db_default="image", default="image", max_length=10
            ),
        ),
        migrations.AddField(model_name=model_name, name="file", field=file_field),
        migrations.AddField(
            model_name=model_name,
            name="content_type",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=40
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="size_bytes",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name=model_name,
            name="page_count",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name=model_name,
            name="provider",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                help_text=PROVIDER_HELP,
                max_length=100,
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_translations")]

    operations: list[migrations.operations.base.Operation] = [
        *_media_fields(
            "productmedia",
            models.FileField(
                blank=True,
                db_default="",
                default="",
                help_text=FILE_HELP,
                max_length=255,
                upload_to=catalog.models.media_upload_to,
            ),
        ),
        *_media_fields(
            "historicalproductmedia",
            models.TextField(
                blank=True, db_default="", default="", help_text=FILE_HELP, max_length=255
            ),
        ),
        migrations.CreateModel(
            name="SpinFrame",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveIntegerField()),
                (
                    "image",
                    models.ImageField(
                        max_length=255, upload_to=catalog.models.spin_frame_upload_to
                    ),
                ),
                ("width", models.PositiveIntegerField()),
                ("height", models.PositiveIntegerField()),
                (
                    "renditions",
                    models.JSONField(
                        blank=True, default=dict, help_text="Rendition name -> storage path."
                    ),
                ),
                (
                    "media",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="frames",
                        to="catalog.productmedia",
                    ),
                ),
            ],
            options={"ordering": ["media_id", "position"]},
        ),
        migrations.AddConstraint(
            model_name="spinframe",
            constraint=models.UniqueConstraint(
                fields=("media", "position"), name="catalog_spinframe_position_unique"
            ),
        ),
    ]
