from django.db import migrations


def sync_roles(apps, schema_editor):
    from config.migrations import _roles

    _roles.create_permissions_and_sync(apps)


def drop_store_manager(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Store manager").delete()


class Migration(migrations.Migration):
    """Give the store roles the store page's permissions and add the store manager role."""

    dependencies = [
        ("project", "0002_inventory_roles"),
        ("inventory", "0006_staffmember_store_memberships"),
    ]

    operations = [migrations.RunPython(sync_roles, drop_store_manager)]
