"""Store page views: each declares the permission of its action (``store.access.store_view``),
acts for the user's chosen store (``request.store``), calls one service or selector, renders."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog import selectors as catalog_selectors
from core.actors import Actor
from core.errors import DomainError
from customers import selectors as customer_selectors
from customers import services as customer_services
from inventory import selectors as stock
from inventory import services as stock_services
from inventory.models import Location, Transfer
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Fulfillment
from orders.pricing import DisplayPrice, display_prices
from store import forms
from store import permissions as perm
from store.access import store_view
from store.locale import product_texts, store_languages

NEARBY_STORES = 5


class StoreLogin(auth_views.LoginView):
    template_name = "store/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("store:home")


@store_view(perm.VIEW_STOCK)
def home(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()
    if term:
        exact = catalog_selectors.variant_exact(term)
        if exact is not None:
            return redirect(f"{reverse('store:product', args=[exact.product_id])}#v{exact.pk}")
    products, corrected = catalog_selectors.product_search(term) if term else ([], "")
    store: Location = request.store  # type: ignore[attr-defined]
    if products:
        languages = store_languages(store, channel_code=_store_channel())
        for found in products:  # the name in the store channel's language
            found.local_name = product_texts(found, languages)["name"]  # type: ignore[attr-defined]
    holds = stock.walk_in_hold_list(location=store) if request.user.has_perm(perm.HOLD) else []
    incoming = stock.incoming_transfer_list(location_id=store.pk)[:10]
    return render(
        request,
        "store/home.html",
        {
            "term": term,
            "products": products,
            "corrected": corrected,
            "holds": holds,
            "incoming": incoming,
        },
    )


@store_view(perm.VIEW_STOCK)
def product(request: HttpRequest, pk: int) -> HttpResponse:
    """The variant grid with what is available here, in the nearest stores and the warehouses,
    and what is on its way here. A fixed number of queries whatever the number of variants."""
    item = catalog_selectors.product_with_variants(product_id=pk)
    if item is None:
        raise Http404("No such product.")
    store: Location = request.store  # type: ignore[attr-defined]
    variants = list(item.variants.all())
    languages = store_languages(store, channel_code=_store_channel())
    labels = catalog_selectors.option_labels(product=item, languages=languages)
    axes = list(dict.fromkeys(code for v in variants for code in v.options))
    nearby: list[tuple[Location, float]] = []
    if store.latitude is not None and store.longitude is not None:
        nearby = [
            (location, km)
            for location, km in stock.locations_near(
                latitude=float(store.latitude), longitude=float(store.longitude)
            )
            if location.pk != store.pk and location.kind == Location.Kind.STORE
        ][:NEARBY_STORES]
    warehouses = list(stock.location_list().filter(kind=Location.Kind.WAREHOUSE))
    location_ids = [store.pk, *[loc.pk for loc, _ in nearby], *[w.pk for w in warehouses]]
    availability = stock.availability_for_variants(
        variant_ids=[v.pk for v in variants], location_ids=location_ids
    )
    incoming = stock.incoming_for(variant_ids=[v.pk for v in variants], location_id=store.pk)
    prices = _store_prices(variant_ids=[v.pk for v in variants])

    def label(variant: Any, axis: str) -> str:
        value = variant.options.get(axis, "")
        return labels.get(axis, {}).get(value, value)

    rows = []
    for variant in variants:
        per_location = availability[variant.pk].by_location
        rows.append(
            {
                "variant": variant,
                "label": " / ".join(label(variant, axis) for axis in axes) or variant.sku,
                "here": per_location.get(store.pk, 0),
                "nearby": [(loc, km, per_location.get(loc.pk, 0)) for loc, km in nearby],
                "warehouses": [(w, per_location.get(w.pk, 0)) for w in warehouses],
                "incoming": incoming.get(variant.pk, []),
                "price": prices.get(variant.pk),
            }
        )
    grid = None
    if len(axes) == 2:
        first = list(dict.fromkeys(label(v, axes[0]) for v in variants))
        second = list(dict.fromkeys(label(v, axes[1]) for v in variants))
        cells = {(label(r["variant"], axes[0]), label(r["variant"], axes[1])): r for r in rows}
        grid = {
            "columns": second,
            "rows": [(value, [cells.get((value, column)) for column in second]) for value in first],
        }
    return render(
        request,
        "store/product.html",
        {
            "product": item,
            "texts": product_texts(item, languages),
            "rows": rows,
            "grid": grid,
            "axes": axes,
            "nearby": nearby,
            "warehouses": warehouses,
            "hold_form": forms.HoldForm(),
        },
    )


def _store_prices(*, variant_ids: list[int]) -> dict[int, DisplayPrice]:
    """What each variant costs at the till now (the store channel, ``STORE_CHANNEL_CODE``):
    its price and, when a promotion runs, its sale price and dates (``display_prices``)."""
    channel = stock.channel_get(code=_store_channel(), visible_codes=None)
    if channel is None or not variant_ids:
        return {}
    return display_prices(channel=channel, variant_ids=variant_ids, tax=False)


@require_POST
@store_view(perm.HOLD)
def hold_create(request: HttpRequest) -> HttpResponse:
    """Put units aside at this store for a walk-in customer (a stock hold)."""
    form = forms.HoldForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        messages.error(request, f"Check the hold: {problems}")
        return redirect(request.POST.get("next") or "store:home")
    data = form.cleaned_data
    store: Location = request.store  # type: ignore[attr-defined]
    try:
        stock_services.stock_reserve(
            lines=[stock_services.StockLine(data["variant"], store.pk, data["quantity"])],
            reference=f"walk-in:{store.code}:{data['customer']}",
            ttl=timedelta(hours=data["hours"]),
        )
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, f"{data['quantity']} put aside for {data['customer']} for {data['hours']} h."
        )
    return redirect(request.POST.get("next") or "store:home")


@require_POST
@store_view(perm.HOLD)
def hold_release(request: HttpRequest) -> HttpResponse:
    store: Location = request.store  # type: ignore[attr-defined]
    reference = request.POST.get("reference", "")
    if not reference.startswith(f"walk-in:{store.code}:"):
        messages.error(request, "That hold is not one of this store's.")
        return redirect("store:home")
    released = stock_services.stock_hold_release(reference=reference)
    messages.success(request, f"{released} unit(s) back on sale.")
    return redirect("store:home")


@store_view(perm.COUNT)
def count(request: HttpRequest) -> HttpResponse:
    """Count a shelf: the difference to what the system holds becomes a count movement."""
    store: Location = request.store  # type: ignore[attr-defined]
    form = forms.CountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        variant = catalog_selectors.variant_exact(data["code"])
        if variant is None:
            form.add_error("code", "No product has this SKU or barcode.")
        else:
            try:
                level, movement = stock_services.stock_count(
                    variant_id=variant.pk,
                    location_id=store.pk,
                    on_hand=data["counted"],
                    reason=data["reason"],
                    reference=f"store count {store.code}",
                    actor=Actor.for_user(request.user),
                )
            except DomainError as refused:
                form.add_error("counted", refused.message)
            else:
                change = movement.on_hand_delta if movement else 0
                messages.success(
                    request,
                    f"{variant.sku}: {level.on_hand} on hand here "
                    + (
                        f"({change:+d} recorded)." if change else "(it matched, nothing to record)."
                    ),
                )
                return redirect("store:count")
    return render(request, "store/count.html", {"form": form})


@store_view(perm.RECEIVE_TRANSFERS)
def transfers(request: HttpRequest) -> HttpResponse:
    """Transfers on their way to this store, received in full with one button."""
    store: Location = request.store  # type: ignore[attr-defined]
    if request.method == "POST":
        form = forms.ReceiveForm(request.POST)
        if form.is_valid():
            transfer = stock.incoming_transfer_get(
                transfer_id=form.cleaned_data["transfer"], location_id=store.pk
            )
            if transfer is None:
                raise Http404("No such transfer for this store.")
            outstanding = {
                line.variant_id: line.quantity - line.quantity_received - line.quantity_missing
                for line in transfer.lines.all()
            }
            try:
                stock_services.transfer_receive(
                    transfer_id=transfer.pk,
                    received=outstanding,
                    actor=Actor.for_user(request.user),
                )
            except DomainError as refused:
                messages.error(request, refused.message)
            else:
                messages.success(
                    request,
                    f"Transfer #{transfer.pk} received: {sum(outstanding.values())} unit(s).",
                )
        return redirect("store:transfers")
    incoming = stock.incoming_transfer_list(
        location_id=store.pk,
        statuses=[Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED],
    )
    return render(request, "store/transfers.html", {"incoming": incoming})


TO_PICK = order_selectors.PICKUP_TO_PICK


@store_view(perm.HAND_OVER)
def pickups(request: HttpRequest) -> HttpResponse:
    """This store's click & collect orders by state: to pick, ready, overdue (past the store's
    hold period, about to be cancelled by the pickup expiry task)."""
    store: Location = request.store  # type: ignore[attr-defined]
    now = timezone.now()
    queue = list(
        order_selectors.pickup_list(location_id=store.pk)
        .filter(status__in=[*TO_PICK, Fulfillment.Status.READY_FOR_PICKUP])
        .order_by("created_at")
    )
    ready = [f for f in queue if f.status == Fulfillment.Status.READY_FOR_PICKUP]
    return render(
        request,
        "store/pickups.html",
        {
            "to_pick": [f for f in queue if f.status in TO_PICK],
            "ready": [f for f in ready if f.hold_until is None or f.hold_until >= now],
            "overdue": [f for f in ready if f.hold_until is not None and f.hold_until < now],
        },
    )


@require_POST
@store_view(perm.HAND_OVER)
def pickup_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Start picking, mark ready (the customer gets the pickup code), or hand over after
    checking the code the customer shows. Only for this store's pickups."""
    store: Location = request.store  # type: ignore[attr-defined]
    fulfillment = get_object_or_404(order_selectors.pickup_list(location_id=store.pk), pk=pk)
    action = request.POST.get("action", "")
    actor = Actor.for_user(request.user, via="store")
    number = fulfillment.order.number
    try:
        if action == "pick":
            order_services.fulfillment_pick(fulfillment_id=fulfillment.pk, actor=actor)
            messages.success(request, f"{number}: picking.")
        elif action == "ready":
            order_services.fulfillment_ready_for_pickup(fulfillment_id=fulfillment.pk, actor=actor)
            messages.success(
                request, f"{number}: ready for pickup; the customer has been sent the code."
            )
        elif action == "missing":
            outcome = order_services.fulfillment_report_missing(
                fulfillment_id=fulfillment.pk,
                line_id=_int(request.POST.get("line")),
                quantity=_int(request.POST.get("quantity")),
                actor=actor,
            )
            messages.success(request, f"{number}: {_missing_summary(outcome)}")
        elif action == "hand_over":
            order_services.fulfillment_hand_over(
                fulfillment_id=fulfillment.pk,
                code=request.POST.get("code", "").strip(),
                actor=actor,
            )
            messages.success(request, f"{number}: handed over.")
        else:
            messages.error(request, "Unknown action.")
    except DomainError as refused:
        messages.error(request, f"{number}: {refused.message}")
    return redirect("store:pickups")


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


def _missing_summary(outcome: order_services.MissingOutcome) -> str:
    parts = ["taken off the stock"]
    for new in outcome.fulfillments:
        units = outcome.placed.get(new.pk, 0)
        when = (
            f", expected {timezone.localtime(new.promised_at):%a %d %b %H:%M}"
            if new.promised_at
            else ""
        )
        via = " by transfer" if new.status == Fulfillment.Status.AWAITING_TRANSFER else ""
        parts.append(f"{units} sourced again at {new.location.code}{via}{when}")
    if outcome.cancelled:
        parts.append(f"{outcome.cancelled} cancelled")
    return "; ".join(parts) + ". The customer is told."


def _store_channel() -> str:
    from django.conf import settings

    return str(getattr(settings, "STORE_CHANNEL_CODE", "pos"))


@store_view(perm.REDEEM)
def till(request: HttpRequest) -> HttpResponse:
    """Customer at the till: look up by phone, e-mail or loyalty card; see and redeem points.
    Each redemption form carries its own reference, so pressing twice redeems once."""
    store: Location = request.store  # type: ignore[attr-defined]
    if request.method == "POST":
        try:
            points = int(request.POST.get("points", ""))
            customer_id = int(request.POST.get("customer", ""))
        except ValueError:
            messages.error(request, "Enter the points as a whole number.")
            return redirect(f"{reverse('store:till')}?q={request.POST.get('q', '')}")
        reference = request.POST.get("reference", "")[:80]
        try:
            redemption = customer_services.loyalty_redeem(
                customer_id=customer_id,
                points=points,
                channel_code=_store_channel(),
                reference=f"till:{store.code}:{reference}",
            )
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                f"{redemption.points} points redeemed: give a discount of {redemption.value}.",
            )
        return redirect(f"{reverse('store:till')}?q={request.POST.get('q', '')}")
    term = request.GET.get("q", "").strip()
    found = list(customer_selectors.customer_search(term=term)[:10]) if term else []
    customers = [
        (customer, customer_selectors.loyalty_balance(customer_id=customer.pk))
        for customer in found
    ]
    return render(
        request,
        "store/till.html",
        {"term": term, "customers": customers, "reference": uuid.uuid4().hex},
    )


def _order_matches(term: str) -> QuerySet[Any]:
    """Orders of any channel by number, e-mail or phone (any notation)."""
    from django.db.models import Q

    from customers.identifiers import phone_normalise

    condition = Q(number__iexact=term) | Q(customer_email__iexact=term)
    with contextlib.suppress(DomainError):  # not a phone number
        condition |= Q(customer_phone=phone_normalise(term))
    return order_selectors.order_list().filter(condition).order_by("-created_at")


@store_view(perm.RETURN_REFUND)
def returns(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()
    orders = list(_order_matches(term)[:10]) if term else []
    rmas = order_selectors.return_find(term=term, limit=10)  # RMAs of any channel
    return render(request, "store/returns.html", {"term": term, "orders": orders, "rmas": rmas})


@store_view(perm.RETURN_REFUND)
def return_order(request: HttpRequest, number: str) -> HttpResponse:
    """Receive returned lines of any channel's order at this store, with a disposition per line,
    and refund them: return_create, return_receive and refund_create of the orders services. The
    form's token is the refund's idempotency key, so a second press refunds nothing more."""
    store: Location = request.store  # type: ignore[attr-defined]
    order = order_selectors.order_get(number=number)
    if order is None:
        raise Http404("No such order.")
    lines = list(order.lines.all())
    if request.method == "POST":
        wanted: list[tuple[str, int, str]] = []
        for line in lines:
            try:
                quantity = int(request.POST.get(f"qty-{line.pk}", "0") or 0)
            except ValueError:
                quantity = -1
            if quantity < 0:
                messages.error(request, f"{line.sku}: enter a whole number of units.")
                return redirect("store:return-order", number=number)
            if quantity:
                wanted.append(
                    (line.sku, quantity, request.POST.get(f"disposition-{line.pk}", "restock"))
                )
        if not wanted:
            messages.error(request, "Enter how many units of which line come back.")
            return redirect("store:return-order", number=number)
        actor = Actor.for_user(request.user, via="store")
        try:
            return_request = order_services.return_create(
                order_id=order.pk,
                lines=[
                    order_services.ReturnLineInput(sku, quantity, request.POST.get("reason", ""))
                    for sku, quantity, _ in wanted
                ],
                location_code=store.code,
                reason=request.POST.get("reason", ""),
                actor=actor,
            )
            disposition = {sku: kind for sku, _quantity, kind in wanted}
            order_services.return_receive(
                return_id=return_request.pk,
                dispositions={
                    line.pk: disposition[line.order_line.sku]
                    for line in return_request.lines.select_related("order_line")
                },
                actor=actor,
            )
            refund, _created = order_services.refund_create(
                order_id=order.pk,
                key=f"store:{request.POST.get('token', '')}",
                lines=[
                    order_services.RefundLineInput(sku, quantity) for sku, quantity, _ in wanted
                ],
                return_id=return_request.pk,
                reason="returned in store",
                actor=actor,
            )
        except DomainError as refused:
            messages.error(request, refused.message)
            return redirect("store:return-order", number=number)
        messages.success(
            request,
            f"Return {return_request.rma} received; refund of {refund.amount} {order.currency}.",
        )
        return redirect("store:returns")
    return render(
        request,
        "store/return_order.html",
        {"order": order, "lines": lines, "token": uuid.uuid4().hex},
    )


class EndlessAisleForm(django_forms.Form):
    sku = django_forms.CharField(max_length=64, label="SKU or barcode")
    quantity = django_forms.IntegerField(min_value=1, max_value=20, initial=1)
    name = django_forms.CharField(max_length=200)
    email = django_forms.EmailField()
    phone = django_forms.CharField(max_length=32, required=False)
    line1 = django_forms.CharField(max_length=200, label="Street and number")
    postal_code = django_forms.CharField(max_length=20)
    city = django_forms.CharField(max_length=100)
    country = django_forms.CharField(max_length=2, initial="NL")


def _aisle_channel() -> str:
    from django.conf import settings

    return str(getattr(settings, "STORE_ENDLESS_AISLE_CHANNEL", "webshop"))


@store_view(perm.SELL)
def endless_aisle(request: HttpRequest) -> HttpResponse:
    """Order for home delivery for a shopper in the store (what the shelf lacks), through the
    orders service on the online channel, sourced from its shipping locations."""
    store: Location = request.store  # type: ignore[attr-defined]
    form = EndlessAisleForm(request.POST or None, initial={"sku": request.GET.get("sku", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        variant = catalog_selectors.variant_exact(data["sku"])
        if variant is None:
            form.add_error("sku", "No product has this SKU or barcode.")
        else:
            try:
                placed = order_services.order_place(
                    channel_code=_aisle_channel(),
                    lines=[order_services.LineInput(sku=variant.sku, quantity=data["quantity"])],
                    method="ship",
                    address={
                        "name": data["name"],
                        "line1": data["line1"],
                        "postal_code": data["postal_code"],
                        "city": data["city"],
                        "country": data["country"].upper(),
                    },
                    customer=order_services.CustomerInput(
                        email=data["email"], phone=data["phone"], name=data["name"]
                    ),
                    external_id=f"aisle:{store.code}:{request.POST.get('token', '')}",
                    actor=Actor.for_user(request.user, via="store"),
                )
            except DomainError as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(
                    request,
                    f"Order {placed.order.number} placed for home delivery to {data['name']}.",
                )
                return redirect("store:aisle")
    return render(request, "store/aisle.html", {"form": form, "token": uuid.uuid4().hex})
