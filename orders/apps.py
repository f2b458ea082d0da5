from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from orders import tasks
        from orders.services.notifications import notification_sender_register

        def notification_enqueue(
            order_id: int, kind: str, subject_key: str, pickup_code: str
        ) -> None:
            tasks.order_notification_send.delay(order_id, kind, subject_key, pickup_code)

        # the services queue customer emails without importing the tasks that send them
        notification_sender_register(notification_enqueue)
