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

        from django.db import transaction
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from orders.models import Promotion
        from orders.promotions import promotion_rules_invalidate

        def rules_changed(**kwargs: object) -> None:
            promotion_rules_invalidate()
            transaction.on_commit(promotion_rules_invalidate)

        # weak=False: the receiver is local to this method and would be collected otherwise
        post_save.connect(
            rules_changed, sender=Promotion, weak=False, dispatch_uid="promotion-rules-save"
        )
        post_delete.connect(
            rules_changed, sender=Promotion, weak=False, dispatch_uid="promotion-rules-delete"
        )
        for name in ("products", "categories", "variants", "channels"):
            m2m_changed.connect(
                rules_changed,
                sender=getattr(Promotion, name).through,
                weak=False,
                dispatch_uid=f"promotion-rules-{name}",
            )
