"""Content types and permissions follow the models that moved into the bottom layer.

On a database built before ``core`` existed, the channel, partner, API key, idempotency and outbox
models have content types under their old app labels (``channels``, ``api``, ``outbox``), and the
role groups and users hold permissions through them. Relabelling those rows keeps every
permission id, so every group and user keeps exactly the permissions it had, and admin log
entries keep pointing at their objects. On a new database there is nothing to relabel.
(``core.apps.previous_layout_check`` refuses, before any migration runs, to upgrade a database
that is not at the previous layout's last migrations.)
"""

from django.db import migrations

MOVED = {
    "channel": "channels",
    "partner": "api",
    "partnerapikey": "api",
    "idempotencyrecord": "api",
    "changeevent": "outbox",
    "objectsequence": "outbox",
}


def adopt(apps, schema_editor):
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
