from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Figures of the business: rollup tables kept current from the outbox, the back-office
    dashboard per role, the report pages and the partner reporting API."""

    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from core.outbox.services import relay_hook_register
        from reports.tasks import rollups_kick

        relay_hook_register(rollups_kick)
