"""Store page: receive an RMA authorised on any channel, and exchange a size at the counter.

The search (``store:returns``, in ``store.views``) lists RMAs found by RMA number, order number,
e-mail or phone next to the orders. :func:`rma_receive` receives such an RMA here, line by line
(restock on this store's shelf, or damaged), and refunds it to the original payment in one
service call (``return_receive_refund``); it never creates a second RMA. :func:`exchange` swaps
units of any channel's order for another variant of the same product, taken from this store's
shelf or shipped (``exchange_create``), the returned units received here at once.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from catalog import selectors as catalog_selectors
from catalog.models import Variant
from core.actors import Actor
from core.errors import DomainError
from inventory import selectors as stock
from inventory.models import Location
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import FulfillmentMethod, OrderLine, Return, ReturnLine
from store import permissions as perm
from store.access import store_view

DISPOSITIONS = [
    (ReturnLine.Disposition.RESTOCK, "Back on sale here"),
    (ReturnLine.Disposition.DAMAGED, "Damaged"),
]
EXCHANGE_TOKEN_SECONDS = 24 * 3600


@store_view(perm.RETURN_REFUND)
def rma_receive(request: HttpRequest, rma: str) -> HttpResponse:
    """One RMA of any channel: its lines with a condition each; receiving puts restocked units
    on this store's shelf and refunds the RMA to the original payment (an exchange's RMA
    refunds nothing: its value went to the new order). The form's token is the refund's
    idempotency key, so a second press refunds nothing more."""
    store: Location = request.store  # type: ignore[attr-defined]
    found = order_selectors.return_get(rma=rma)
    if found is None:
        raise Http404("No such return.")
    lines = list(found.lines.all())
    if request.method == "POST":
        dispositions = {line.pk: request.POST.get(f"disposition-{line.pk}", "") for line in lines}
        try:
            received, refund, fresh = order_services.return_receive_refund(
                return_id=found.pk,
                dispositions=dispositions,
                refund_key=f"store:{request.POST.get('token', '')}",
                location_code=store.code,
                actor=Actor.for_user(request.user, via="store"),
            )
        except DomainError as refused:
            messages.error(request, f"{rma}: {refused.message}")
            return redirect("store:rma-receive", rma=rma)
        if not fresh:
            messages.info(request, f"{rma} was already received.")
        elif refund is None:
            messages.success(
                request,
                f"Return {rma} received at {store.code}; nothing to refund (an exchange).",
            )
        else:
            tender = refund.payment.get_tender_display().lower() if refund.payment else "payment"
            messages.success(
                request,
                f"Return {rma} received at {store.code}; refund of {refund.amount} "
                f"{received.order.currency} to the original {tender}.",
            )
        return redirect("store:rma-receive", rma=rma)
    return render(
        request,
        "store/rma_receive.html",
        {
            "rma": found,
            "lines": lines,
            "open": found.status == Return.Status.AUTHORIZED,
            "exchange": order_services.return_is_exchange(return_request=found),
            "dispositions": DISPOSITIONS,
            "token": uuid.uuid4().hex,
        },
    )


@store_view(perm.RETURN_REFUND, perm.SELL)
def exchange(request: HttpRequest, number: str) -> HttpResponse:
    """Swap a size at the counter: the customer hands in units of any channel's order (received
    here at once with their condition) and takes another variant of the same product from this
    store's shelf, or has it shipped to the order's address. A form token makes a second press
    do nothing."""
    store: Location = request.store  # type: ignore[attr-defined]
    order = order_selectors.order_get(number=number)
    if order is None:
        raise Http404("No such order.")
    lines = list(order.lines.all())
    if request.method == "POST":
        post = request.POST
        token = post.get("token", "")
        raw = post.get("quantity", "").strip() or "1"
        if not raw.isdigit() or int(raw) < 1:
            messages.error(request, "Enter how many units are swapped (a whole number).")
            return redirect("store:exchange", number=number)
        if not token or not cache.add(f"store-exchange:{token}", 1, EXCHANGE_TOKEN_SECONDS):
            messages.info(request, "This exchange was already made.")
            return redirect("store:returns")
        try:
            return_request, new_order = order_services.exchange_create(
                order_id=order.pk,
                return_sku=post.get("return_sku", ""),
                new_sku=post.get("new_sku", ""),
                quantity=int(raw),
                location_code=store.code,
                method=post.get("method", ""),
                pickup_location_code=store.code,
                reason=post.get("reason", "").strip() or "exchange",
                disposition=post.get("disposition", ""),
                actor=Actor.for_user(request.user, via="store"),
            )
        except DomainError as refused:
            cache.delete(f"store-exchange:{token}")  # nothing was made: the form may be retried
            messages.error(request, refused.message)
            return redirect("store:exchange", number=number)
        how = (
            "taken from the shelf here"
            if new_order.fulfillment_method == FulfillmentMethod.CARRY_OUT
            else "to be shipped"
        )
        to_pay = (
            f"{new_order.total} {new_order.currency} left to pay"
            if new_order.total > 0
            else "nothing to pay"
        )
        messages.success(
            request,
            f"Exchange made: return {return_request.rma} received, new order "
            f"{new_order.number} {how}; {to_pay}.",
        )
        return redirect("store:returns")
    options = _exchange_options(lines=lines, store=store)
    return render(
        request,
        "store/exchange.html",
        {
            "order": order,
            "lines": lines,
            "options": options,
            "dispositions": DISPOSITIONS,
            "can_ship": bool((order.shipping_address or {}).get("country")),
            "token": uuid.uuid4().hex,
        },
    )


def _exchange_options(*, lines: list[OrderLine], store: Location) -> list[dict[str, object]]:
    """The other variants of the products on the order, with what this store has free."""
    product_ids = sorted({line.variant.product_id for line in lines})
    variants: list[Variant] = []
    for product_id in product_ids:
        product = catalog_selectors.product_with_variants(product_id=product_id)
        if product is not None:
            variants.extend(product.variants.all())
    here = stock.availability_for_variants(
        variant_ids=[v.pk for v in variants], location_ids=[store.pk]
    )
    return [
        {
            "sku": v.sku,
            "label": " / ".join(str(value) for value in v.options.values()) or v.sku,
            "here": here[v.pk].by_location.get(store.pk, 0),
        }
        for v in variants
    ]
