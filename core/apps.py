from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: channels, partners and their API keys, the API platform, the outbox and
    the domain error base. Every domain app builds on it; it imports none of them."""

    name = "core"
    verbose_name = "Channels and partners"

    def ready(self) -> None:
        from core.api import schema  # noqa: F401  (registers the OpenAPI auth extensions)
