"""Shared by the role migrations: create the permissions that exist at this point of the
migration history, then give each role those of its permissions that exist."""

from django.contrib.auth.management import create_permissions


def create_permissions_and_sync(apps):
    # Permissions are normally created after all migrations have run; create them now so the
    # groups can be given them in this migration.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    from config.roles import roles_sync

    roles_sync(apps, strict=False)
