"""Gift cards at the store: check a card's balance (anyone who sells at the till) and issue one
(an associate who may also redeem loyalty points: a card handed out without a sale is value given
away, like points). The code of an issued card is shown once, on the page that issued it; the
card keeps only its last four characters. Writes go through ``orders.services``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.actors import Actor
from core.errors import DomainError
from orders import services as order_services
from store import permissions as perm
from store.access import store_view
from store.views import _store_channel


class GiftCardCheckForm(forms.Form):
    code = forms.RegexField(
        r"^[A-Za-z0-9 -]{16,24}$", label="Gift card code", max_length=24, strip=True
    )


class GiftCardIssueForm(forms.Form):
    amount = forms.DecimalField(
        min_value=Decimal("1.00"), max_value=Decimal("1000.00"), decimal_places=2, max_digits=7
    )
    note = forms.CharField(max_length=200, required=False, label="Why (e.g. goodwill, voucher)")


def _page(request: HttpRequest, **context: Any) -> HttpResponse:
    context.setdefault("can_issue", request.user.has_perms([perm.SELL, perm.REDEEM]))
    context.setdefault("issue_form", GiftCardIssueForm())
    return render(request, "store/gift_cards.html", context)


@store_view(perm.SELL)
def gift_cards(request: HttpRequest) -> HttpResponse:
    """Check a balance (``?code=``); the form to issue one when the user may."""
    context: dict[str, Any] = {}
    check = GiftCardCheckForm(request.GET or None)
    context["check_form"] = check
    if request.GET and check.is_valid():
        try:
            context["found"] = order_services.giftcard_balance(code=check.cleaned_data["code"])
        except DomainError as refused:
            context["error"] = refused.message
    return _page(request, **context)


@store_view(perm.SELL, perm.REDEEM)
def gift_card_issue(request: HttpRequest) -> HttpResponse:
    """Issue a card (POST): the sell and the redeem permission, since it is value handed out."""
    if request.method != "POST":
        return redirect("store:gift-cards")
    context: dict[str, Any] = {"check_form": GiftCardCheckForm()}
    issue = GiftCardIssueForm(request.POST)
    if issue.is_valid():
        currency = order_services.sale_quote(channel_code=_store_channel(), lines=[]).currency
        try:
            context["issued"] = order_services.giftcard_issue(
                amount=issue.cleaned_data["amount"],
                currency=currency or "EUR",
                note=f"store {request.store.code}: {issue.cleaned_data['note']}",  # type: ignore[attr-defined]
                actor=Actor.for_user(request.user, via="store"),
            )
        except DomainError as refused:
            context["error"] = refused.message
    else:
        context["issue_form"] = issue
    return _page(request, **context)
