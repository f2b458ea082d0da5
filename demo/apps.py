from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data and the ``seed_demo`` command."""

    name = "demo"
    verbose_name = "Demo data"
