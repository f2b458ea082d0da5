from django.db import migrations


def sync_roles(apps, schema_editor):
    from config.migrations import _roles

    _roles.create_permissions_and_sync(apps)


class Migration(migrations.Migration):
    """Give the roles the permissions of the stock models (levels, movements, holds, transfers)."""

    dependencies = [
        ("project", "0001_staff_roles"),
        ("inventory", "0002_stocklevel_stockhold_stockmovement_transfer_and_more"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
