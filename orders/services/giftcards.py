"""Gift cards: issue, spend, refund back, expire (see docs/orders.md, "Gift cards").

A card's ``balance`` and its ledger (``GiftCardEntry``) change together, under the card's row
lock (``select_for_update``), so concurrent spends queue behind each other and never overdraw:
the ledger's sum always equals the balance. Spending runs in the caller's transaction (order
placement, a till sale), so an order that is refused spends nothing.

Codes are 16 characters of Crockford's base32 (80 random bits), shown as ``XXXX-XXXX-XXXX-XXXX``;
only their SHA-256 and last four characters are stored (``GiftCard.code_hash``, ``last4``).
Lookups normalise the code first: case, spaces and dashes do not matter.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import SYSTEM, Actor
from orders.exceptions import (
    GiftCardCurrency,
    GiftCardDisabled,
    GiftCardExpired,
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardUnknown,
    OrderInvalid,
)
from orders.models import GiftCard, GiftCardEntry, Order, OrderLine, Payment, TimelineEvent
from orders.services.records import CENT, NUMBER_ALPHABET, timeline_add

CODE_LENGTH = 16
CODE_PATTERN = r"^[A-Za-z0-9]{4}(-?[A-Za-z0-9]{4}){3}$"  # what the API accepts in the path
MONEY_MAX = Decimal("9999999999.99")
_NOT_CODE = re.compile(r"[^A-Za-z0-9]")
UNSET: Any = object()  # ``expires_at`` not given: the default validity applies

Kind = GiftCardEntry.Kind


def giftcard_validity_days() -> int:
    """How long a new card is valid (``GIFT_CARD_VALIDITY_DAYS``, 0 for no expiry)."""
    return int(getattr(settings, "GIFT_CARD_VALIDITY_DAYS", 365 * 3))


def code_normalise(code: str) -> str:
    """The code as stored (hashed): letters and digits only, upper case."""
    return _NOT_CODE.sub("", code or "").upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(code_normalise(code).encode()).hexdigest()


def _code_new() -> str:
    raw = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def _code_chosen(code: str) -> str:
    """A chosen code as shown (``XXXX-XXXX-XXXX-XXXX``, upper case), or :class:`GiftCardInvalid`
    when it is not 16 letters or digits in groups of four."""
    if not re.fullmatch(CODE_PATTERN, (code or "").strip()):
        raise GiftCardInvalid(
            "A gift card code is 16 letters or digits, in groups of four.",
            errors=[{"field": "code", "code": "invalid", "message": (code or "")[:24]}],
        )
    raw = code_normalise(code)
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def _amount(value: Any, *, field: str) -> Decimal:
    try:
        amount = Decimal(value).quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        amount = Decimal("0")
    if not Decimal("0.01") <= amount <= MONEY_MAX:
        raise GiftCardInvalid(
            f"The amount must be between 0.01 and {MONEY_MAX}.",
            errors=[{"field": field, "code": "min_value", "message": "0.01 or more"}],
        )
    return amount


@dataclass(frozen=True)
class IssuedGiftCard:
    """A new card and its code: the only time the code is known in clear."""

    card: GiftCard
    code: str


@dataclass(frozen=True)
class GiftCardBalance:
    last4: str
    balance: Decimal
    currency: str
    expires_at: datetime | None
    status: str
    expired: bool


@dataclass(frozen=True)
class GiftCardInput:
    """A gift card tendered for an order or a till sale: its code and the amount taken off."""

    code: str
    amount: Decimal


def giftcard_issue(
    *,
    amount: Decimal,
    currency: str,
    expires_at: datetime | None = UNSET,
    actor: Actor = SYSTEM,
    sold_on: OrderLine | None = None,
    note: str = "",
    code: str | None = None,
) -> IssuedGiftCard:
    """Issue a card holding ``amount`` in ``currency``, valid until ``expires_at`` (default: now
    plus ``GIFT_CARD_VALIDITY_DAYS``; ``None`` never expires). Writes the card and its ``issue``
    entry (in the caller's transaction when there is one). ``code`` chooses the code instead of
    a random one (the demo's known cards only: ``XXXX-XXXX-XXXX-XXXX``, letters and digits, not
    in use). Raises :class:`GiftCardInvalid`."""
    value = _amount(amount, field="amount")
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise GiftCardInvalid(
            "The currency must be a three-letter ISO code.",
            errors=[{"field": "currency", "code": "invalid", "message": currency}],
        )
    now = timezone.now()
    if expires_at is UNSET:
        days = giftcard_validity_days()
        expires_at = now + timedelta(days=days) if days > 0 else None
    if expires_at is not None and expires_at <= now:
        raise GiftCardInvalid(
            "The expiry must be in the future.",
            errors=[{"field": "expires_at", "code": "min_value", "message": "in the past"}],
        )
    chosen = _code_chosen(code) if code is not None else ""
    with transaction.atomic():
        if chosen and GiftCard.objects.filter(code_hash=code_hash(chosen)).exists():
            raise GiftCardInvalid(
                "A gift card with this code exists already.",
                errors=[{"field": "code", "code": "taken", "message": chosen[-4:]}],
            )
        code = chosen
        while not code:  # 80 random bits: a collision is practically impossible, but never reused
            fresh = _code_new()
            if not GiftCard.objects.filter(code_hash=code_hash(fresh)).exists():
                code = fresh
        card = GiftCard.objects.create(
            code_hash=code_hash(code),
            last4=code_normalise(code)[-4:],
            currency=currency,
            initial_amount=value,
            balance=value,
            expires_at=expires_at,
            sold_on=sold_on,
            note=note[:200],
            **actor.fields(),
        )
        GiftCardEntry.objects.create(
            card=card,
            kind=Kind.ISSUE,
            amount=value,
            balance_after=value,
            order_id=sold_on.order_id if sold_on is not None else None,
            **actor.fields(),
        )
    return IssuedGiftCard(card=card, code=code)


def giftcard_find(*, code: str) -> GiftCard | None:
    """The card with this code, or ``None`` (reads only)."""
    normalised = code_normalise(code)
    if len(normalised) != CODE_LENGTH:
        return None
    return GiftCard.objects.filter(code_hash=code_hash(normalised)).first()


def _is_expired(card: GiftCard, now: datetime) -> bool:
    return card.expires_at is not None and card.expires_at <= now


def giftcard_balance(*, code: str) -> GiftCardBalance:
    """What a card holds: balance, currency, expiry and status. Raises
    :class:`GiftCardUnknown` (404)."""
    card = giftcard_find(code=code)
    if card is None:
        raise GiftCardUnknown("No gift card has this code.")
    expired = _is_expired(card, timezone.now())
    return GiftCardBalance(
        last4=card.last4,
        balance=Decimal("0.00") if expired else card.balance,
        currency=card.currency,
        expires_at=card.expires_at,
        status="expired" if expired and card.status == GiftCard.Status.ACTIVE else card.status,
        expired=expired,
    )


def _usable(card: GiftCard, *, currency: str, now: datetime, field: str) -> None:
    if card.status != GiftCard.Status.ACTIVE:
        raise GiftCardDisabled(
            f"Gift card …{card.last4} is disabled.",
            errors=[{"field": field, "code": "disabled", "message": card.last4}],
        )
    if _is_expired(card, now):
        raise GiftCardExpired(
            f"Gift card …{card.last4} expired on {card.expires_at:%Y-%m-%d}.",
            errors=[{"field": field, "code": "expired", "message": card.last4}],
        )
    if card.currency != currency:
        raise GiftCardCurrency(
            f"Gift card …{card.last4} is in {card.currency}, not {currency}.",
            errors=[{"field": field, "code": "currency", "message": card.currency}],
        )


def giftcards_check(
    *, gift_cards: Sequence[GiftCardInput], currency: str, field: str = "gift_cards"
) -> list[tuple[GiftCard, Decimal]]:
    """Validate tendered cards before any write (reads only): each code known, used once, active,
    unexpired, in ``currency``, with a positive amount no larger than its balance right now (the
    spend re-checks under the lock). Returns each card with its amount."""
    checked: list[tuple[GiftCard, Decimal]] = []
    seen: set[int] = set()
    now = timezone.now()
    for index, row in enumerate(gift_cards):
        where = f"{field}.{index}"
        amount = _amount(row.amount, field=f"{where}.amount")
        card = giftcard_find(code=row.code)
        if card is None:
            raise GiftCardUnknown(
                "No gift card has this code.",
                errors=[{"field": f"{where}.code", "code": "does_not_exist", "message": ""}],
            )
        if card.pk in seen:
            raise OrderInvalid(
                "The same gift card is given twice.",
                errors=[{"field": f"{where}.code", "code": "duplicate", "message": card.last4}],
            )
        seen.add(card.pk)
        _usable(card, currency=currency, now=now, field=f"{where}.code")
        if card.balance < amount:
            raise _insufficient(card, amount, field=f"{where}.amount")
        checked.append((card, amount))
    return checked


def _insufficient(card: GiftCard, amount: Decimal, *, field: str) -> GiftCardInsufficient:
    return GiftCardInsufficient(
        f"Gift card …{card.last4} holds {card.balance} {card.currency}, less than {amount}.",
        errors=[{"field": field, "code": "insufficient", "message": str(card.balance)}],
        extra={"balance": str(card.balance), "requested": str(amount), "last4": card.last4},
    )


def _lock(card_ids: Sequence[int]) -> dict[int, GiftCard]:
    """Lock the cards' rows in primary-key order (so two orders using the same two cards cannot
    deadlock) and return them as they are now."""
    return {
        card.pk: card
        for card in GiftCard.objects.select_for_update().filter(pk__in=card_ids).order_by("pk")
    }


def _entry(
    card: GiftCard,
    *,
    kind: str,
    amount: Decimal,
    actor: Actor,
    order: Order | None = None,
    payment: Payment | None = None,
) -> GiftCardEntry:
    """Apply ``amount`` (signed) to a locked card and record it in the ledger."""
    card.balance = (card.balance + amount).quantize(CENT)
    card.save(update_fields=["balance", "updated_at"])
    return GiftCardEntry.objects.create(
        card=card,
        kind=kind,
        amount=amount,
        balance_after=card.balance,
        order=order,
        payment=payment,
        **actor.fields(),
    )


def giftcard_spend(
    *,
    code: str,
    amount: Decimal,
    order: Order,
    actor: Actor = SYSTEM,
    payment: Payment | None = None,
) -> GiftCardEntry:
    """Take ``amount`` off the card for ``order``, in the caller's transaction (the card row is
    locked until it commits). Raises :class:`GiftCardUnknown` (404), :class:`GiftCardDisabled`,
    :class:`GiftCardExpired`, :class:`GiftCardCurrency`, :class:`GiftCardInsufficient` (409) or
    :class:`GiftCardInvalid` (400, a non-positive amount); nothing is written then."""
    value = _amount(amount, field="amount")
    found = giftcard_find(code=code)
    if found is None:
        raise GiftCardUnknown("No gift card has this code.")
    with transaction.atomic():
        card = _lock([found.pk])[found.pk]
        _usable(card, currency=order.currency, now=timezone.now(), field="code")
        if card.balance < value:
            raise _insufficient(card, value, field="amount")
        return _entry(
            card, kind=Kind.SPEND, amount=-value, actor=actor, order=order, payment=payment
        )


def giftcards_redeem(
    *,
    order: Order,
    tendered: Sequence[tuple[GiftCard, Decimal]],
    actor: Actor = SYSTEM,
    location_id: int | None = None,
) -> list[Payment]:
    """Spend checked cards (:func:`giftcards_check`) for a new order in the caller's
    transaction: every card locked at once (pk order), its balance checked again under the lock
    (:class:`GiftCardInsufficient` when a concurrent spend got there first: the caller's
    transaction rolls back), one ``gift_card`` :class:`Payment` and one ``spend`` entry per
    card, and a timeline line each."""
    locked = _lock([card.pk for card, _ in tendered])
    now = timezone.now()
    payments: list[Payment] = []
    for index, (checked, amount) in enumerate(tendered):
        card = locked[checked.pk]
        _usable(card, currency=order.currency, now=now, field=f"gift_cards.{index}.code")
        if card.balance < amount:
            raise _insufficient(card, amount, field=f"gift_cards.{index}.amount")
        payment = Payment.objects.create(
            order=order,
            tender=Payment.Tender.GIFT_CARD,
            status=Payment.Status.CAPTURED,
            amount_authorised=amount,
            amount_captured=amount,
            provider_reference=f"gift card …{card.last4}",
            location_id=location_id,
        )
        _entry(card, kind=Kind.SPEND, amount=-amount, actor=actor, order=order, payment=payment)
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PAYMENT_RECORDED,
            message=f"Payment recorded: {amount} {order.currency} by gift card …{card.last4} "
            f"({card.balance} left).",
            data={
                "payment_id": payment.pk,
                "tender": payment.tender,
                "amount": str(amount),
                "gift_card": card.last4,
            },
            actor=actor,
        )
        payments.append(payment)
    return payments


def giftcard_refundable(*, order: Order) -> dict[int, Decimal]:
    """Per card: what ``order`` spent from it and has not yet been refunded to it."""
    left: dict[int, Decimal] = {}
    for card_id, amount in GiftCardEntry.objects.filter(
        order=order, kind__in=[Kind.SPEND, Kind.REFUND]
    ).values_list("card_id", "amount"):
        left[card_id] = left.get(card_id, Decimal("0")) - amount
    return {card_id: value for card_id, value in left.items() if value > 0}


def giftcard_refund(
    *,
    order: Order,
    amount: Decimal,
    actor: Actor = SYSTEM,
    code: str = "",
    payment: Payment | None = None,
) -> list[GiftCardEntry]:
    """Credit ``amount`` of a refund of ``order`` back to the gift card(s) it was paid with (the
    card named by ``code``, else the cards in the order they were spent), at most what the order
    spent from them; a disabled or expired card still receives it (its balance is shown as it
    is). ``payment`` (a ``gift_card`` payment of the order) credits the card it was spent from
    and records the entry against it. In the caller's transaction when there is one; the
    refund's money bookkeeping (``Refund``, ``amount_refunded``) is ``refunds.refund_create``'s.
    Raises :class:`GiftCardInvalid` (more than was spent from the card(s)) or
    :class:`GiftCardUnknown`."""
    value = _amount(amount, field="amount")
    with transaction.atomic():
        refundable = giftcard_refundable(order=order)
        if code:
            card = giftcard_find(code=code)
            if card is None:
                raise GiftCardUnknown("No gift card has this code.")
            refundable = {card.pk: refundable.get(card.pk, Decimal("0"))}
        if payment is not None:
            spent = GiftCardEntry.objects.filter(payment=payment, kind=Kind.SPEND).first()
            refundable = (
                {spent.card_id: refundable.get(spent.card_id, Decimal("0"))} if spent else {}
            )
        if value > sum(refundable.values(), Decimal("0")):
            raise GiftCardInvalid(
                f"{value} is more than the order spent from its gift card(s) and has not had "
                f"back ({sum(refundable.values(), Decimal('0'))}).",
                errors=[{"field": "amount", "code": "max_value", "message": "above spent"}],
            )
        locked = _lock(sorted(refundable))
        entries, left = [], value
        for card_id in sorted(refundable):
            if left <= 0:
                break
            back = min(left, refundable[card_id])
            card = locked[card_id]
            entries.append(
                _entry(
                    card, kind=Kind.REFUND, amount=back, actor=actor, order=order, payment=payment
                )
            )
            timeline_add(
                order=order,
                kind=TimelineEvent.Kind.REFUNDED,
                message=f"{back} {order.currency} refunded to gift card …{card.last4} "
                f"({card.balance} on it now).",
                data={"gift_card": card.last4, "amount": str(back)},
                actor=actor,
            )
            left -= back
    return entries


def giftcard_disable(*, card_id: int, actor: Actor = SYSTEM) -> GiftCard:
    """Stop a card being spent (a lost or fraudulent card); its balance and ledger stay."""
    with transaction.atomic():
        card = _lock([card_id])[card_id]
        card.status = GiftCard.Status.DISABLED
        card.save(update_fields=["status", "updated_at"])
    return card


def giftcards_expire(*, now: datetime | None = None, actor: Actor = SYSTEM) -> int:
    """Close the balance of every card past its expiry with an ``expire`` entry (the ledger
    keeps summing to the balance). Returns how many cards were expired."""
    now = now or timezone.now()
    due = list(
        GiftCard.objects.filter(expires_at__lte=now, balance__gt=0).values_list("pk", flat=True)
    )
    count = 0
    for card_id in due:
        with transaction.atomic():
            card = _lock([card_id])[card_id]
            if card.balance > 0 and _is_expired(card, now):
                _entry(card, kind=Kind.EXPIRE, amount=-card.balance, actor=actor)
                count += 1
    return count


def giftcards_issue_for_lines(
    *, order: Order, lines: Sequence[OrderLine], actor: Actor = SYSTEM
) -> list[IssuedGiftCard]:
    """Issue one card per unit of each gift-card line of a new order, for the line's unit price
    in the order's currency, and tell the buyer its code on the order timeline (the one place
    the code of a sold card is kept in clear: the buyer's channel shows it from there)."""
    issued: list[IssuedGiftCard] = []
    for line in lines:
        for _ in range(line.quantity):
            new = giftcard_issue(
                amount=line.unit_price,
                currency=order.currency,
                actor=actor,
                sold_on=line,
                note=f"sold on {order.number}",
            )
            until = f"{new.card.expires_at:%Y-%m-%d}" if new.card.expires_at else "no expiry"
            timeline_add(
                order=order,
                kind=TimelineEvent.Kind.GIFT_CARD_ISSUED,
                message=f"Gift card issued for {line.sku}: {line.unit_price} {order.currency}, "
                f"code {new.code}, valid until {until}.",
                data={"gift_card": new.card.last4, "sku": line.sku},
                actor=actor,
            )
            issued.append(new)
    return issued
