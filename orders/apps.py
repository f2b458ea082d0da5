from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from core.broker import task_kick
        from orders import tasks
        from orders.services.notifications import notification_sender_register

        def notification_enqueue() -> None:
            task_kick(tasks.notifications_send)

        notification_sender_register(notification_enqueue)

        from customers.services import customer_erase_hook_register
        from orders.services.erasure import customer_order_values, customer_orders_erase

        customer_erase_hook_register(customer_orders_erase, values=customer_order_values)
