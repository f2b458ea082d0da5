from django.db import migrations


def sync_roles(apps, schema_editor):
    from config.migrations import _roles

    _roles.create_permissions_and_sync(apps)


def drop_auditor(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Auditor").delete()


class Migration(migrations.Migration):
    """Add the auditor role: reads the audit log of sensitive actions."""

    dependencies = [
        ("project", "0003_store_page_roles"),
        ("core", "0004_audit_entry"),
    ]

    operations = [migrations.RunPython(sync_roles, drop_auditor)]
