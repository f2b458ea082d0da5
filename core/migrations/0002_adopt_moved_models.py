"""Content types and permissions follow the models that moved into the bottom layer.

On a database built before ``core`` existed, the channel, partner, API key, idempotency and outbox
models have content types under their old app labels (``channels``, ``api``, ``outbox``), and the
role groups and users hold permissions through them. Relabelling those rows keeps every
permission id, so every group and user keeps exactly the permissions it had, and admin log
entries keep pointing at their objects. On a new database there is nothing to relabel.
"""

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder

MOVED = {
    "channel": "channels",
    "partner": "api",
    "partnerapikey": "api",
    "idempotencyrecord": "api",
    "changeevent": "outbox",
    "objectsequence": "outbox",
}

# Present only in databases built with the old layout, which must be at its last migrations:
# the moved tables then have every column that core's models declare.
LEGACY_MARKER = ("channels", "0002_channel_stock_buffer")
LEGACY_REQUIRED = [
    ("channels", "0001_initial"),
    ("channels", "0002_channel_stock_buffer"),
    ("channels", "0003_listings_deliveries"),
    ("channels", "0004_feeds"),
    ("api", "0001_initial"),
    ("api", "0002_initial"),
    ("outbox", "0001_initial"),
]


def adopt(apps, schema_editor):
    applied = MigrationRecorder(schema_editor.connection).applied_migrations()
    if LEGACY_MARKER in applied:
        missing = [f"{app}.{name}" for app, name in LEGACY_REQUIRED if (app, name) not in applied]
        if missing:
            raise RuntimeError(
                "This database predates the current layout and is not at the previous release's "
                f"last migrations (missing: {', '.join(missing)}). Migrate it with release 0.1 "
                "first, then with this one."
            )
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_label in MOVED.items():
        old = content_type.objects.filter(app_label=old_label, model=model).first()
        if old is None:
            continue
        # A stray new row (made by an interrupted earlier run) would block the relabel; the old
        # row carries the permissions that groups and users hold, so it wins.
        content_type.objects.filter(app_label="core", model=model).delete()
        old.app_label = "core"
        old.save(update_fields=["app_label"])


def restore(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_label in MOVED.items():
        content_type.objects.filter(app_label="core", model=model).update(app_label=old_label)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(adopt, restore)]
