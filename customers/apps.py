from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        from customers.erasure import shared_copies_erase
        from customers.services import customer_erase_hook_register

        # idempotency bodies, outbox payloads and the admin's log are core's and Django's tables:
        # customers is the lowest app that may import them and itself (see customers.erasure)
        customer_erase_hook_register(shared_copies_erase)
