from django.db import migrations


def sync_roles(apps, schema_editor):
    from config.migrations import _roles

    _roles.create_permissions_and_sync(apps)


def drop_operator(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Operator").delete()


class Migration(migrations.Migration):
    """Add the operator role (the channel-operations pages and the dashboard,
    ``reports.view_dashboard``) and give the roles with figures to read the permission to see the
    dashboard and the reports (``reports.view_reports``)."""

    dependencies = [
        ("project", "0005_demo_money_roles"),
        ("core", "0010_reports_read_scope"),
        ("channels", "0006_store_ack_cursor_is_position"),
        ("reports", "0001_rollups"),
    ]

    operations = [migrations.RunPython(sync_roles, drop_operator)]
