from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Project-wide glue: roles, health, demo data and the worker heartbeat."""

    name = "config"
    label = "project"
    verbose_name = "OmniHub"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_roles_sync_after_migrate, sender=self)

        from config.wiring import hooks_register

        hooks_register()

        from config.metrics import metrics_setup

        metrics_setup()  # Celery task outcomes for /metrics; OpenTelemetry when enabled


def _roles_sync_after_migrate(**kwargs: object) -> None:
    """Keep the role groups exactly in step with ``config.roles`` after every migrate.

    Runs once per migrate (for this app, which is installed after the domain apps, so their
    permissions exist by then).
    """
    from config.roles import roles_sync

    roles_sync()
