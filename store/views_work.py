"""Store work on the store page: every hold at this store (channels' and walk-in) with a release
button, the ship-from-store queue (pick, pack, ship with carrier and tracking) and transfers in
and out, with a form to ask a warehouse or another store for stock.

As in ``store.views``: resolve the user's chosen store, call one service or selector, render.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog import selectors as catalog_selectors
from core.actors import Actor
from core.errors import DomainError
from inventory import selectors as stock
from inventory import services as stock_services
from inventory.models import Location, Transfer
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Fulfillment
from store import permissions as perm
from store import views as store_views
from store.access import store_view

FS = Fulfillment.Status

# --- holds -------------------------------------------------------------------------------------


@store_view(perm.HOLD)
def holds(request: HttpRequest) -> HttpResponse:
    """Every active hold at this store: partners' (the stock holds API), online carts' and the
    store's own walk-in holds, with who made them and when they lapse."""
    store: Location = request.store  # type: ignore[attr-defined]
    rows = stock.store_hold_list(location_id=store.pk)
    carts = order_selectors.cart_channels_by_token(
        tokens=[row.label for row in rows if row.origin == "cart"]
    )
    return render(
        request,
        "store/holds.html",
        {
            "rows": [
                {
                    "row": row,
                    "hold": row.hold,
                    # a cart token lets its holder change the cart: show only its start
                    "label": f"{row.label[:8]}…" if row.origin == "cart" else row.label,
                    "made_by": (
                        f"{carts[row.label]} cart"
                        if row.origin == "cart" and row.label in carts
                        else row.made_by
                    ),
                }
                for row in rows
            ]
        },
    )


@require_POST
@store_view(perm.HOLD)
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    """Give one hold's units at this store back to sale, whoever made the hold."""
    store: Location = request.store  # type: ignore[attr-defined]
    hold = stock.store_hold_get(hold_id=pk, location_id=store.pk)
    if hold is None:
        raise Http404("No such hold at this store.")
    try:
        stock_services.stock_hold_release_one(
            hold_id=hold.pk, location_id=store.pk, actor=Actor.for_user(request.user, via="store")
        )
    except DomainError as refused:
        messages.error(request, f"{hold.stock.variant.sku}: {refused.message}")
    else:
        messages.success(
            request, f"{hold.quantity} x {hold.stock.variant.sku} released: back on sale."
        )
    return redirect("store:holds")


# --- ship from store ---------------------------------------------------------------------------


@store_view(perm.SHIP)
def shipments(request: HttpRequest) -> HttpResponse:
    """Online orders this store ships: to pick, being picked (pack them), packed (hand them to
    the carrier with the tracking number)."""
    store: Location = request.store  # type: ignore[attr-defined]
    queue = list(order_selectors.ship_from_store_list(location_id=store.pk))
    return render(
        request,
        "store/shipments.html",
        {
            "to_pick": [f for f in queue if f.status == FS.ALLOCATED],
            "picking": [f for f in queue if f.status == FS.PICKING],
            "packed": [f for f in queue if f.status == FS.PACKED],
        },
    )


@require_POST
@store_view(perm.SHIP)
def shipment_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick, pack, ship (carrier and tracking number) or report an item missing, through the
    orders services; only this store's parcels (others are not found). A refusal (a second press,
    no tracking number) is a message and changes nothing."""
    store: Location = request.store  # type: ignore[attr-defined]
    fulfillment = get_object_or_404(
        order_selectors.ship_from_store_list(location_id=store.pk, statuses=None), pk=pk
    )
    action = request.POST.get("action", "")
    actor = Actor.for_user(request.user, via="store")
    number = fulfillment.order.number
    try:
        if action == "pick":
            order_services.fulfillment_pick(fulfillment_id=fulfillment.pk, actor=actor)
            messages.success(request, f"{number}: picking.")
        elif action == "pack":
            order_services.fulfillment_pack(fulfillment_id=fulfillment.pk, actor=actor)
            messages.success(request, f"{number}: packed, waiting for the carrier.")
        elif action == "ship":
            order_services.fulfillment_ship(
                fulfillment_id=fulfillment.pk,
                carrier=request.POST.get("carrier", ""),
                tracking_number=request.POST.get("tracking_number", ""),
                actor=actor,
            )
            messages.success(request, f"{number}: shipped; the customer has been told.")
        elif action == "missing":
            outcome = order_services.fulfillment_report_missing(
                fulfillment_id=fulfillment.pk,
                line_id=store_views._int(request.POST.get("line")),
                quantity=store_views._int(request.POST.get("quantity")),
                actor=actor,
            )
            messages.success(request, f"{number}: {store_views._missing_summary(outcome)}")
        else:
            messages.error(request, "Unknown action.")
    except DomainError as refused:
        messages.error(request, f"{number}: {refused.message}")
    return redirect("store:shipments")


# --- transfers in and out ----------------------------------------------------------------------

# "CODE", "CODE 3", "CODE x 3", "CODE x3", "CODE, 3": a quantity needs a separator before it, so
# a SKU ending in digits ("TEE-12", "TEEX12") stays whole
LINE = re.compile(
    r"^(?P<code>.+?)(?:(?:\s*[\u00d7*,;]\s*|\s+x\s*|\s+)(?P<quantity>-?\d+))?$", re.IGNORECASE
)


class TransferRequestForm(forms.Form):
    """Where from, and one SKU or barcode per line with an optional quantity (``SKU 3``,
    ``SKU x 3``); a scanner typing one code per line asks for one unit each, repeats add up."""

    source = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        label="From",
        empty_label="Choose a warehouse or store",
        error_messages={"invalid_choice": "Choose an active location."},
    )
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off", "spellcheck": "false"}),
        label="SKUs and quantities, one per line",
        help_text="e.g. HARBOUR-M-WHITE 3",
    )
    note = forms.CharField(max_length=120, required=False, label="Note for the inventory team")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # every active location validates, this store included: asking yourself is refused by
        # the service with its own message rather than as an unknown choice
        self.fields["source"].queryset = stock.location_list()  # type: ignore[attr-defined]

    def clean_lines(self) -> list[tuple[str, int]]:
        wanted: dict[str, int] = {}
        bad: list[str] = []
        for raw in str(self.cleaned_data["lines"]).splitlines():
            text = raw.strip()
            if not text:
                continue
            match = LINE.match(text)
            assert match is not None  # the pattern matches any non-empty text
            quantity = int(match["quantity"]) if match["quantity"] is not None else 1
            if quantity < 1:
                bad.append(text)
                continue
            code = match["code"].strip()
            wanted[code] = wanted.get(code, 0) + quantity
        if bad:
            raise forms.ValidationError(f"Quantities must be 1 or more: {'; '.join(bad)}.")
        if not wanted:
            raise forms.ValidationError("Enter at least one SKU or barcode.")
        return list(wanted.items())


def _transfer_request(request: HttpRequest, store: Location, form: TransferRequestForm) -> bool:
    """Resolve the codes and ask the inventory services for the draft; errors go on the form."""
    if not form.is_valid():
        return False
    data = form.cleaned_data
    lines: dict[int, int] = {}
    unknown = []
    for code, quantity in data["lines"]:
        variant = catalog_selectors.variant_exact(code)
        if variant is None:
            unknown.append(code)
        else:
            lines[variant.pk] = lines.get(variant.pk, 0) + quantity
    if unknown:
        form.add_error("lines", f"No product has this SKU or barcode: {', '.join(unknown)}.")
        return False
    try:
        transfer = stock_services.transfer_request(
            source_id=data["source"].pk,
            store_id=store.pk,
            lines=lines,
            note=data["note"],
            actor=Actor.for_user(request.user, via="store"),
        )
    except DomainError as refused:
        form.add_error(
            "source" if refused.code == "transfer_same_location" else None, refused.message
        )
        return False
    messages.success(
        request,
        f"Transfer #{transfer.pk} requested from {data['source'].name}: "
        f"{sum(lines.values())} unit(s). The inventory team ships it.",
    )
    return True


@store_view(perm.RECEIVE_TRANSFERS)
def transfers(request: HttpRequest) -> HttpResponse:
    """Transfers coming in (requested, on their way: received in full with one button) and going
    out, and the form to ask a warehouse or another store for stock. Receiving stays the store
    page's existing receive view."""
    store: Location = request.store  # type: ignore[attr-defined]
    form = TransferRequestForm()
    if request.method == "POST":
        if request.POST.get("action") != "request":
            return store_views.transfers(request)
        form = TransferRequestForm(request.POST)
        if _transfer_request(request, store, form):
            return redirect("store:transfers")
    incoming = list(
        stock.incoming_transfer_list(
            location_id=store.pk,
            statuses=[
                Transfer.Status.DRAFT,
                Transfer.Status.SHIPPED,
                Transfer.Status.PARTIALLY_RECEIVED,
            ],
        )
    )
    return render(
        request,
        "store/transfers.html",
        {
            "incoming": [t for t in incoming if t.status != Transfer.Status.DRAFT],
            "requested": [t for t in incoming if t.status == Transfer.Status.DRAFT],
            "outgoing": stock.outgoing_transfer_list(location_id=store.pk),
            "form": form,
            "sources": [loc for loc in stock.location_list() if loc.pk != store.pk],
        },
    )
