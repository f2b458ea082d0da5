from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from catalog.imports import tasks  # noqa: F401  (registers the import task with Celery)
