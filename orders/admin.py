"""The orders back office: a filtered, searchable list and an order page with lines,
fulfilments, timeline, returns and refunds, and buttons for the actions its state allows.

Every button posts to :meth:`OrderAdmin.action_view`, which calls one service; querysets come
from ``orders.selectors`` with their joins applied, so the pages take a fixed number of queries.
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from core.actors import Actor
from core.errors import DomainError
from inventory import selectors as inventory_selectors
from orders import selectors, services
from orders.exceptions import ExchangeInvalid, InvalidTransition, RefundInvalid
from orders.models import Fulfillment, Order, Payment, Return

FS = Fulfillment.Status

# button -> (permission, label), by fulfilment status
FULFILLMENT_ACTIONS: dict[str, tuple[str, str]] = {
    "pick": ("orders.change_fulfillment", "Start picking"),
    "pack": ("orders.change_fulfillment", "Packed"),
    "ready": ("orders.change_fulfillment", "Ready for pickup"),
    "hand_over": ("orders.change_fulfillment", "Hand over (pickup code)"),
    "ship": ("orders.change_fulfillment", "Ship"),
    "deliver": ("orders.change_fulfillment", "Mark delivered"),
    "cancel": ("orders.change_order", "Cancel this fulfilment"),
}


def fulfillment_actions(fulfillment: Fulfillment) -> list[str]:
    """The buttons a fulfilment's state allows (from the service's state machine)."""
    allowed = services.FULFILLMENT_TRANSITIONS[fulfillment.status]
    names = []
    if FS.PICKING in allowed:
        names.append("pick")
    if FS.PACKED in allowed and fulfillment.method == "ship":
        names.append("pack")
    if FS.READY_FOR_PICKUP in allowed and fulfillment.method == "pickup":
        names.append("ready")
    if FS.PICKED_UP in allowed:
        names.append("hand_over")
    if FS.SHIPPED in allowed and fulfillment.method == "ship":
        names.append("ship")
    if FS.DELIVERED in allowed:
        names.append("deliver")
    if FS.CANCELLED in allowed:
        names.append("cancel")
    return names


class LocationFilter(admin.SimpleListFilter):
    title = "fulfilment location"
    parameter_name = "location"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (str(pk), f"{code}")
            for pk, code in inventory_selectors.location_list(active_only=False)
            .order_by("code")
            .values_list("pk", "code")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(fulfillments__location_id=self.value()).distinct()
        return queryset


class PaymentInline(admin.TabularInline):
    """The payments behind an order's money (a till's tenders, a provider's payment) with what
    each authorised, captured and refunded, read-only: they are recorded by the services that
    take the money (``services.sale_record``, capture when goods leave, refunds, provider
    callbacks), never typed in."""

    model = Payment
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "tender",
        "provider",
        "provider_reference",
        "status",
        "amount_authorised",
        "amount_captured",
        "amount_refunded",
        "location",
        "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("location")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("orders.view_order")  # whoever sees the order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    inlines = [PaymentInline]
    list_display = [
        "number",
        "channel",
        "status",
        "fulfillment_method",
        "customer_email",
        "total",
        "currency",
        "payment_status",
        "placed_at",
    ]
    list_filter = ["channel", "status", "fulfillment_method", LocationFilter, "placed_at"]
    search_fields = ["=number", "customer_email", "=external_id"]
    date_hierarchy = "placed_at"
    show_full_result_count = False
    list_select_related = ["channel"]
    change_form_template = "admin/orders/order/change_form.html"
    readonly_fields = [
        "number",
        "channel",
        "external_id",
        "status",
        "fulfillment_method",
        "customer_email",
        "customer_phone",
        "customer_name",
        "loyalty_card",
        "shipping_address",
        "currency",
        "subtotal",
        "discount_total",
        "shipping_total",
        "total",
        "payment_status",
        "amount_captured",
        "amount_refunded",
        "placed_at",
    ]
    fields = list(readonly_fields)  # type: ignore[assignment]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        if request.resolver_match and request.resolver_match.url_name == "orders_order_changelist":
            return Order.objects.select_related("channel")
        return selectors.order_list()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through order_place (API, store page, channels)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        order = get_object_or_404(selectors.order_list(), pk=object_id)
        returns = list(selectors.return_list().filter(order=order).order_by("created_at", "id"))
        fulfillments = [
            {
                "obj": f,
                "actions": [
                    (name, FULFILLMENT_ACTIONS[name][1])
                    for name in fulfillment_actions(f)
                    if request.user.has_perm(FULFILLMENT_ACTIONS[name][0])
                ],
            }
            for f in order.fulfillments.all()
        ]
        extra = {
            **(extra_context or {}),
            "order": order,
            "order_fulfillments": fulfillments,
            "order_returns": returns,
            "order_refunds": list(order.refunds.all()),
            "can_refund": request.user.has_perm("orders.add_refund"),
            "can_receive": request.user.has_perm("orders.change_return"),
            "can_exchange": request.user.has_perm("orders.add_return"),
            "refund_key": secrets.token_hex(8),
            "action_url": reverse("admin:orders_order_action", args=[order.pk]),
        }
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:order_id>/action/",
                self.admin_site.admin_view(self.action_view),
                name="orders_order_action",
            ),
            *super().get_urls(),
        ]

    def action_view(self, request: HttpRequest, order_id: int) -> Any:
        """Run one button's service; a refusal comes back as a message, nothing changed."""
        if request.method != "POST":
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        action = request.POST.get("action", "")
        actor = Actor.for_user(request.user)
        back = HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        try:
            message = self._run(request, order, action, actor)
        except DomainError as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return back
        self.message_user(request, message, messages.SUCCESS)
        return back

    def _run(self, request: HttpRequest, order: Order, action: str, actor: Actor) -> str:
        post = request.POST
        if action in FULFILLMENT_ACTIONS:
            if not request.user.has_perm(FULFILLMENT_ACTIONS[action][0]):
                raise PermissionDenied
            fulfillment = get_object_or_404(
                Fulfillment, pk=post.get("fulfillment") or 0, order=order
            )
            fid = fulfillment.pk
            if action == "pick":
                services.fulfillment_pick(fulfillment_id=fid, actor=actor)
            elif action == "pack":
                services.fulfillment_pack(fulfillment_id=fid, actor=actor)
            elif action == "ready":
                _f, code = services.fulfillment_ready_for_pickup(fulfillment_id=fid, actor=actor)
                return f"Ready for pickup. Pickup code (also emailed): {code}"
            elif action == "hand_over":
                services.fulfillment_hand_over(
                    fulfillment_id=fid, code=post.get("code", ""), actor=actor
                )
            elif action == "ship":
                services.fulfillment_ship(
                    fulfillment_id=fid,
                    carrier=post.get("carrier", ""),
                    tracking_number=post.get("tracking_number", ""),
                    actor=actor,
                )
            elif action == "deliver":
                services.fulfillment_deliver(fulfillment_id=fid, actor=actor)
            else:
                services.fulfillment_cancel(
                    fulfillment_id=fid, reason=post.get("reason", ""), actor=actor
                )
            return f"{FULFILLMENT_ACTIONS[action][1]}: done."
        if action == "cancel_order":
            if not request.user.has_perm("orders.change_order"):
                raise PermissionDenied
            services.order_cancel(order_id=order.pk, reason=post.get("reason", ""), actor=actor)
            return "Order cancelled; its units are released."
        if action == "refund":
            if not request.user.has_perm("orders.add_refund"):
                raise PermissionDenied
            lines = []
            for line in order.lines.all():
                raw = post.get(f"qty_{line.pk}", "").strip() or "0"
                if not raw.isdigit():
                    raise RefundInvalid(f"Quantity for {line.sku} must be a number.")
                if int(raw):
                    lines.append(services.RefundLineInput(line.sku, int(raw)))
            try:
                shipping = Decimal(post.get("shipping_amount", "").strip() or "0")
            except InvalidOperation as exc:
                raise RefundInvalid("The shipping amount must be a number.") from exc
            refund, created = services.refund_create(
                order_id=order.pk,
                key=f"admin:{post.get('key', '')}",
                lines=lines,
                shipping_amount=shipping,
                reason=post.get("reason", ""),
                actor=actor,
            )
            return (
                f"Refunded {refund.amount} {order.currency}."
                if created
                else "This refund was already made."
            )
        if action == "receive_return":
            if not request.user.has_perm("orders.change_return"):
                raise PermissionDenied
            return_request = get_object_or_404(Return, pk=post.get("return") or 0, order=order)
            disposition = post.get("disposition", "")
            services.return_receive(
                return_id=return_request.pk,
                dispositions={line.pk: disposition for line in return_request.lines.all()},
                actor=actor,
            )
            return f"Return {return_request.rma} received."
        if action == "exchange":
            return self._exchange(request, order, actor)
        raise InvalidTransition(f"Unknown action {action!r}.")

    def _exchange(self, request: HttpRequest, order: Order, actor: Actor) -> str:
        """Swap units of the order for another SKU (``services.exchange_create``): the new item
        taken from a store's shelf, collected there later, or shipped to the order's address."""
        if not request.user.has_perm("orders.add_return"):
            raise PermissionDenied
        post = request.POST
        raw = post.get("quantity", "").strip() or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise ExchangeInvalid(
                "The quantity to exchange must be a whole number of at least 1.",
                errors=[{"field": "quantity", "code": "min_value", "message": raw}],
            )
        return_request, new_order = services.exchange_create(
            order_id=order.pk,
            return_sku=post.get("return_sku", "").strip(),
            new_sku=post.get("new_sku", "").strip(),
            quantity=int(raw),
            location_code=post.get("location", "").strip(),
            method=post.get("method", "").strip(),
            pickup_location_code=post.get("store", "").strip(),
            reason=post.get("reason", "").strip() or "exchange",
            disposition=post.get("disposition", "").strip(),
            actor=actor,
        )
        return (
            f"Exchange made: return {return_request.rma} ({return_request.get_status_display()}), "
            f"new order {new_order.number} ({new_order.total} {new_order.currency} to pay)."
        )


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ["rma", "order", "status", "location", "created_at", "received_at"]
    list_filter = ["status", "location"]
    search_fields = ["=rma", "=order__number", "order__customer_email"]
    list_select_related = ["order", "location"]
    show_full_result_count = False
    readonly_fields = ["rma", "order", "status", "reason", "location", "received_at"]
    fields = list(readonly_fields)  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The commerce pages register themselves on import (their modules import this one's helpers).
from orders import admin_giftcards, admin_promotions, admin_shipping  # noqa: E402, F401
