from django.db import migrations


def create_roles(apps, schema_editor):
    from config.migrations import _roles

    _roles.create_permissions_and_sync(apps)


def drop_roles(apps, schema_editor):
    from config.roles import ROLE_PERMISSIONS

    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("inventory", "0001_initial"),
        ("channels", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
