from typing import Any

from django.apps import AppConfig
from django.core.management.base import CommandError

# The previous layout's last migrations of the apps whose models moved into core: a database
# built with that layout must have applied them all, so the moved tables have every column.
PREVIOUS_LAYOUT_LAST_MIGRATIONS = [
    ("channels", "0001_initial"),
    ("channels", "0002_channel_stock_buffer"),
    ("channels", "0003_listings_deliveries"),
    ("channels", "0004_feeds"),
    ("api", "0001_initial"),
    ("api", "0002_initial"),
    ("outbox", "0001_initial"),
]


class CoreConfig(AppConfig):
    """The bottom layer: channels, partners and their API keys, the API platform, the outbox and
    the domain error base. Every domain app builds on it; it imports none of them."""

    name = "core"
    verbose_name = "Channels and partners"

    def ready(self) -> None:
        from django.db.models.signals import pre_migrate

        from core.api import (
            channel_cache,
            principal_cache,
            schema,  # noqa: F401  (registers the OpenAPI auth extensions)
        )

        pre_migrate.connect(previous_layout_check, sender=self)
        principal_cache.connect_signals()  # shared API principal cache: invalidate on writes
        channel_cache.connect_signals()


def previous_layout_check(using: str = "default", **kwargs: Any) -> None:
    """Before ``migrate`` runs anything: a database of the layout before ``core`` (its partner
    content type still says ``api``) must be at that layout's last migrations, or upgrading it
    would leave columns of the moved tables missing. Stops with what to do instead."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    if "django_content_type" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM django_content_type WHERE app_label = 'api' AND model = 'partner'"
        )
        if cursor.fetchone() is None:
            return  # a new database, or one already upgraded
    applied = MigrationRecorder(connection).applied_migrations()
    missing = [
        f"{app}.{name}"
        for app, name in PREVIOUS_LAYOUT_LAST_MIGRATIONS
        if (app, name) not in applied
    ]
    if missing:
        raise CommandError(
            "This database was built before the core layout and is not at the previous "
            f"release's last migrations (missing: {', '.join(missing)}). Migrate it with the "
            "previous release first (9e9a642), then with this one."
        )
