from django.apps import AppConfig


class StoreConfig(AppConfig):
    """The store associates' page: find stock, holds, counts, receiving, click & collect, returns,
    endless aisle and the till."""

    name = "store"
    verbose_name = "Store page"
