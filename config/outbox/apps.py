from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """The transactional outbox: change events written by catalog, inventory, orders and customers
    in the same transaction as the change, and relayed to the channels after commit.

    It lives beside the API platform (not in ``channels``) because every domain app writes to it
    while only ``channels`` reads it, and the layer contract lets nothing import ``channels``.
    """

    name = "config.outbox"
    label = "outbox"
    verbose_name = "Change events (outbox)"
