"""The till: sell to a walk-in customer at the associate's store, then show the receipt.

The basket (lines, the customer, points to redeem, a sale token) lives in the session, one per
store, until it is paid. Paying calls ``orders.services.sale_record`` once with the basket's
token as the sale key, so pressing *Take payment* twice records one sale. Prices shown come from
``orders.services.sale_quote`` (the one pricing function: promotions, coupons, points, tax per
rate of the store's country); the sale itself is priced again by the service, the same way.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from catalog import selectors as catalog_selectors
from core.actors import Actor
from core.errors import DomainError
from customers import selectors as customer_selectors
from inventory.models import Location
from orders import selectors as order_selectors
from orders import services as order_services
from orders.exceptions import CouponError
from orders.models import FulfillmentMethod, Notification, Order, TimelineEvent
from store import forms
from store import permissions as perm
from store.access import forbidden, store_view
from store.views import _store_channel


def _basket_key(store: Location) -> str:
    return f"till-basket:{store.code}"


def _basket_new() -> dict[str, Any]:
    return {"token": uuid.uuid4().hex, "lines": [], "customer": None, "points": 0, "coupons": []}


def _basket(request: HttpRequest, store: Location) -> dict[str, Any]:
    basket = request.session.get(_basket_key(store))
    if not isinstance(basket, dict) or "token" not in basket:
        basket = _basket_new()
    basket.setdefault("gift_cards", [])  # [[code, amount], ...] tendered before paying the rest
    basket.setdefault("coupons", [])  # codes as entered, checked when added and at every quote
    return basket


COUPON_MAX = 64


def _quote(
    store: Location, basket: dict[str, Any], *, coupons: list[str] | None = None
) -> order_services.SaleQuote:
    """The basket priced as the sale will be (raises a coupon's error)."""
    return order_services.sale_quote(
        channel_code=_store_channel(),
        location_code=store.code,
        lines=_line_inputs(basket),
        loyalty_points=int(basket["points"] or 0),
        gift_cards=_gift_inputs(basket),
        coupons=basket["coupons"] if coupons is None else coupons,
        customer_id=basket["customer"],
    )


def _quote_shown(
    request: HttpRequest, store: Location, basket: dict[str, Any]
) -> order_services.SaleQuote:
    """The quote for the page. A coupon that stopped applying (the basket or the customer
    changed, or its last use went elsewhere) is taken out, with its reason shown."""
    while True:
        try:
            return _quote(store, basket)
        except CouponError as refused:
            code = str(refused.extra.get("coupon", "")).upper()
            kept = [c for c in basket["coupons"] if c.upper() != code]
            if len(kept) == len(basket["coupons"]):
                kept = []  # the engine named no code of ours: take them all out
            messages.error(
                request,
                f"Coupon {code or ', '.join(basket['coupons'])} removed: {refused.message}",
            )
            basket["coupons"] = kept
            _basket_save(request, store, basket)


def _post_coupon(request: HttpRequest, store: Location, basket: dict[str, Any]) -> None:
    """Add a coupon when the basket, priced with it, takes it; else say why (nothing kept)."""
    code = request.POST.get("code", "").strip().upper()
    if not code or len(code) > COUPON_MAX:
        messages.error(request, f"Type a coupon code (1 to {COUPON_MAX} characters).")
        return
    if code in basket["coupons"]:
        return
    try:
        quote = _quote(store, basket, coupons=[*basket["coupons"], code])
    except DomainError as refused:
        messages.error(request, f"Coupon {code}: {refused.message}")
        return
    basket["coupons"] = [*basket["coupons"], code]
    messages.success(request, f"Coupon {code} applied: total {quote.total} {quote.currency}.")


def _gift_inputs(basket: dict[str, Any]) -> list[order_services.GiftCardInput]:
    return [
        order_services.GiftCardInput(code, Decimal(amount))
        for code, amount in basket.get("gift_cards", [])
    ]


def _post_gift_card(request: HttpRequest, store: Location, basket: dict[str, Any]) -> None:
    """Tender a gift card: the amount asked (default: what is still due), at most its balance."""
    code = request.POST.get("code", "").strip()
    try:
        found = order_services.giftcard_balance(code=code)
    except DomainError as refused:
        messages.error(request, refused.message)
        return
    if found.status != "active" or found.balance <= 0:
        messages.error(request, f"Gift card …{found.last4} cannot be used ({found.status}).")
        return
    try:
        quote = _quote(store, basket)
    except DomainError as refused:
        messages.error(request, refused.message)
        return
    try:
        asked = Decimal(request.POST.get("amount", "") or quote.due)
    except ArithmeticError:
        asked = Decimal("0")
    amount = min(asked, found.balance, quote.due).quantize(Decimal("0.01"))
    if amount <= 0:
        messages.error(request, "Nothing left to pay with a gift card.")
        return
    basket["gift_cards"] = [
        [c, a] for c, a in basket["gift_cards"] if c.replace("-", "") != code.replace("-", "")
    ] + [[code, str(amount)]]


def _basket_save(request: HttpRequest, store: Location, basket: dict[str, Any]) -> None:
    request.session[_basket_key(store)] = basket


def _line_inputs(basket: dict[str, Any]) -> list[order_services.LineInput]:
    return [order_services.LineInput(sku, int(qty)) for sku, qty in basket["lines"]]


def _post_add(request: HttpRequest, basket: dict[str, Any]) -> None:
    form = forms.TillAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Scan or type a SKU, and a quantity from 1 to 99.")
        return
    code, quantity = form.cleaned_data["code"].strip(), form.cleaned_data["quantity"]
    variant = catalog_selectors.variant_exact(code)
    if variant is None:
        messages.error(request, f"No product has the SKU or barcode “{code}”.")
        return
    quote = order_services.sale_quote(
        channel_code=_store_channel(), lines=[order_services.LineInput(variant.sku, 1)]
    )
    if not quote.sellable:
        messages.error(request, f"{variant.sku} is not sold at the till ({quote.lines[0].reason}).")
        return
    lines = dict(basket["lines"])
    lines[variant.sku] = min(int(lines.get(variant.sku, 0)) + quantity, 99)
    basket["lines"] = [[sku, qty] for sku, qty in lines.items()]


def _post_pay(request: HttpRequest, store: Location, basket: dict[str, Any]) -> HttpResponse:
    form = forms.TillPayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the tender and enter the amount taken.")
        return redirect("store:till-sale")
    data = form.cleaned_data
    amount: Decimal = data["amount"]
    payments = (
        [order_services.PaymentInput(data["tender"], amount, data["reference"].strip())]
        if amount > 0
        else []
    )
    try:
        sold = order_services.sale_record(
            channel_code=_store_channel(),
            location_code=store.code,
            lines=_line_inputs(basket),
            payments=payments,
            sale_key=f"till:{store.code}:{basket['token']}",
            customer_id=basket["customer"],
            loyalty_points=int(basket["points"] or 0),
            gift_cards=_gift_inputs(basket),
            coupons=basket["coupons"],
            actor=Actor.for_user(request.user, via="store"),
        )
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect("store:till-sale")
    request.session.pop(_basket_key(store), None)
    messages.success(request, f"Sale {sold.order.number} recorded.")
    return redirect("store:receipt", number=sold.order.number)


@store_view(perm.SELL)
def till_sale(request: HttpRequest) -> HttpResponse:
    """Sell at this store: scan lines, optionally find the customer and redeem points, take the
    payment by tender; then the receipt. Each button posts an ``action``."""
    store: Location = request.store  # type: ignore[attr-defined]
    basket = _basket(request, store)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "pay":
            return _post_pay(request, store, basket)
        if action == "add":
            _post_add(request, basket)
        elif action == "remove":
            sku = request.POST.get("sku", "")
            basket["lines"] = [[s, q] for s, q in basket["lines"] if s != sku]
        elif action == "customer":
            customer_id = _int(request.POST.get("customer"))
            found = customer_selectors.customer_get(customer_id=customer_id, channel_codes=None)
            if found is None:
                messages.error(request, "No such customer.")
            else:
                basket["customer"], basket["points"] = found.pk, 0
        elif action == "gift_card":
            _post_gift_card(request, store, basket)
        elif action == "coupon":
            _post_coupon(request, store, basket)
        elif action == "coupon_remove":
            code = request.POST.get("code", "")
            basket["coupons"] = [c for c in basket["coupons"] if c != code]
        elif action == "gift_card_remove":
            index = _int(request.POST.get("index"))
            basket["gift_cards"] = [g for i, g in enumerate(basket["gift_cards"]) if i != index]
        elif action == "forget":
            basket["customer"], basket["points"] = None, 0
        elif action == "points":
            if not request.user.has_perm(perm.REDEEM):  # points off a sale are a redemption
                return forbidden(request, [perm.REDEEM])
            points_form = forms.TillPointsForm(request.POST)
            if not points_form.is_valid() or basket["customer"] is None:
                messages.error(request, "Find the customer first, then enter whole points.")
            else:
                points = points_form.cleaned_data["points"]
                balance = customer_selectors.loyalty_balance(customer_id=basket["customer"])
                if points > balance:
                    messages.error(request, f"The balance is {balance} points.")
                else:
                    basket["points"] = points
        elif action == "clear":
            basket = _basket_new()
        else:
            messages.error(request, "Unknown action.")
        _basket_save(request, store, basket)
        return redirect("store:till-sale")
    quote = _quote_shown(request, store, basket)
    customer, balance = None, 0
    if basket["customer"] is not None:
        customer = customer_selectors.customer_get(
            customer_id=basket["customer"], channel_codes=None
        )
        balance = customer_selectors.loyalty_balance(customer_id=basket["customer"])
    term = request.GET.get("q", "").strip()
    matches = list(customer_selectors.customer_search(term=term)[:10]) if term else []
    return render(
        request,
        "store/till_sale.html",
        {
            "quote": quote,
            "basket": basket,
            "gift_cards": [
                {"index": i, "last4": code.replace("-", "")[-4:].upper(), "amount": amount}
                for i, (code, amount) in enumerate(basket["gift_cards"])
            ],
            "customer": customer,
            "balance": balance,
            "term": term,
            "found": matches,
            "add_form": forms.TillAddForm(),
            "pay_form": forms.TillPayForm(initial={"amount": quote.due, "tender": "card"}),
        },
    )


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


@store_view(perm.SELL)
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    """The printable receipt of a sale made at this store's till (others are 404)."""
    store: Location = request.store  # type: ignore[attr-defined]
    order: Order | None = order_selectors.order_get(number=number)
    if order is None or not any(
        f.method == FulfillmentMethod.CARRY_OUT and f.location_id == store.pk
        for f in order.fulfillments.all()
    ):
        raise Http404("No sale with this number at this store.")
    change = sum(
        (
            Decimal(str(event.data.get("change", "0")))
            for event in order.timeline.all()
            if event.kind == TimelineEvent.Kind.PAYMENT_RECORDED
        ),
        Decimal("0"),
    )
    emailed = order.notifications.filter(kind=Notification.Kind.RECEIPT).first()
    return render(
        request,
        "store/receipt.html",
        {
            "order": order,
            "change": change,
            "emailed": emailed,
            "till_url": reverse("store:till-sale"),
        },
    )
