from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The partner API platform: partners, API keys, idempotency records and the conventions of
    ``shared/API.md`` (problem+json, cursor pagination, ETags, throttling) as shared machinery."""

    name = "config.api"
    label = "api"
    verbose_name = "Partner API"

    def ready(self) -> None:
        from config.api import schema  # noqa: F401  (registers the OpenAPI auth extensions)
