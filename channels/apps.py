from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"

    def ready(self) -> None:
        import channels.admin_pos  # noqa: F401  (registers the store POS acknowledgement admin)
        from channels.tasks import relay_kick
        from core.outbox.services import relay_hook_register

        relay_hook_register(relay_kick)

        from channels.selectors import sync_health
        from core.health import check_register

        check_register("sync", sync_health)

        from channels.erasure import customer_deliveries_erase
        from customers.services import customer_erase_hook_register

        customer_erase_hook_register(customer_deliveries_erase)
