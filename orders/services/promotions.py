"""Writes of the promotions: coupons (single and generated batches), redeeming them inside the
order's transaction, and giving the uses back when an order is cancelled.

Counting is race-free: :func:`coupon_redeem` locks the coupon rows and then their promotions'
rows (``SELECT ... FOR UPDATE``, each in primary-key order), checks the limits on the locked
rows and increments the counters with ``F()``; the check constraints ``uses <= max_uses`` are the
backstop. A coupon limited to N uses is used exactly N times however many checkouts race.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

from orders.exceptions import CouponUnknown, PromotionInvalid
from orders.models import Order
from orders.models.promotions import Coupon, CouponBatch, CouponRedemption, Promotion
from orders.promotions import coupon_check_one, coupon_code_normalise

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")
PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{1,20}$")
BATCH_MAX = 10_000
CODE_LENGTH_RANGE = (6, 20)


def _code_valid(code: str) -> str:
    normalised = coupon_code_normalise(code)
    if not CODE_PATTERN.match(normalised):
        raise PromotionInvalid(
            "A coupon code is 3 to 64 letters, digits, '-' or '_'.",
            errors=[{"field": "code", "code": "invalid", "detail": code[:64]}],
        )
    return normalised


def _promotion_get(promotion_id: int) -> Promotion:
    promotion = Promotion.objects.filter(pk=promotion_id).first()
    if promotion is None:
        raise PromotionInvalid(
            f"There is no promotion {promotion_id}.",
            errors=[{"field": "promotion_id", "code": "unknown"}],
        )
    return promotion


def coupon_create(
    *,
    promotion_id: int,
    code: str,
    max_uses: int | None = None,
    max_uses_per_customer: int | None = None,
) -> Coupon:
    """One code for a promotion; the code is stored upper-case and must be new whatever its
    case (``promotion_invalid`` otherwise)."""
    normalised = _code_valid(code)
    promotion = _promotion_get(promotion_id)
    try:
        with transaction.atomic():
            return Coupon.objects.create(
                code=normalised,
                promotion=promotion,
                max_uses=max_uses,
                max_uses_per_customer=max_uses_per_customer,
            )
    except IntegrityError as exc:
        raise PromotionInvalid(
            f"Coupon {normalised} already exists.",
            errors=[{"field": "code", "code": "taken"}],
        ) from exc


def coupon_batch_generate(
    *,
    promotion_id: int,
    prefix: str,
    quantity: int,
    length: int = 8,
    max_uses_per_code: int | None = 1,
    max_uses_per_customer: int | None = 1,
    name: str = "",
) -> CouponBatch:
    """Generate ``quantity`` new random codes ``PREFIX-XXXXXXXX`` (``length`` characters from
    an alphabet without look-alikes), unique among all coupons, in one batch."""
    prefix = coupon_code_normalise(prefix)
    errors = []
    if not PREFIX_PATTERN.match(prefix):
        errors.append({"field": "prefix", "code": "invalid", "detail": "1-20 letters or digits"})
    if not 1 <= quantity <= BATCH_MAX:
        errors.append({"field": "quantity", "code": "out_of_range", "detail": f"1-{BATCH_MAX}"})
    low, high = CODE_LENGTH_RANGE
    if not low <= length <= high:
        errors.append({"field": "length", "code": "out_of_range", "detail": f"{low}-{high}"})
    for field_name, limit in (
        ("max_uses_per_code", max_uses_per_code),
        ("max_uses_per_customer", max_uses_per_customer),
    ):
        if limit is not None and limit < 1:
            errors.append({"field": field_name, "code": "out_of_range", "detail": "at least 1"})
    if errors:
        raise PromotionInvalid("The batch cannot be generated.", errors=errors)
    promotion = _promotion_get(promotion_id)
    with transaction.atomic():
        batch = CouponBatch.objects.create(
            promotion=promotion,
            name=name,
            prefix=prefix,
            quantity=quantity,
            max_uses_per_code=max_uses_per_code,
            max_uses_per_customer=max_uses_per_customer,
        )
        codes: set[str] = set()
        while len(codes) < quantity:
            wanted = quantity - len(codes)
            fresh = {
                f"{prefix}-{''.join(secrets.choice(CODE_ALPHABET) for _ in range(length))}"
                for _ in range(wanted)
            }
            fresh -= codes
            taken = set(
                Coupon.objects.annotate(normalised=Upper("code"))
                .filter(normalised__in=fresh)
                .values_list("normalised", flat=True)
            )
            codes |= fresh - taken
        Coupon.objects.bulk_create(
            [
                Coupon(
                    code=code,
                    promotion=promotion,
                    batch=batch,
                    max_uses=max_uses_per_code,
                    max_uses_per_customer=max_uses_per_customer,
                )
                for code in sorted(codes)
            ],
            batch_size=1000,
        )
    return batch


@dataclass(frozen=True)
class Redeemed:
    coupon_id: int
    code: str
    promotion_id: int
    redemption_id: int


def coupon_redeem(
    *,
    codes: Iterable[str],
    order_id: int | None,
    customer_id: int | None,
    customer_email: str = "",
    channel_code: str | None = None,
    at: datetime | None = None,
) -> list[Redeemed]:
    """Use each code once for an order; call it inside the placement transaction (it joins
    it). Locks the coupon rows, then their promotions' rows, in primary-key order, and checks
    every limit again on the locked rows: ``coupon_exhausted`` when the code or the promotion
    is used up, ``coupon_customer_limit``, and the other refusals of ``coupons_check``. On a
    refusal nothing of this call is written (and the caller's transaction should roll back).
    ``channel_code`` defaults to the order's channel."""
    at = at or timezone.now()
    if channel_code is None:
        channel_code = (
            Order.objects.filter(pk=order_id).values_list("channel__code", flat=True).first()
            if order_id is not None
            else None
        )
        if channel_code is None:
            raise PromotionInvalid(
                "Redeeming a coupon needs the order or the channel.",
                errors=[{"field": "channel_code", "code": "required"}],
            )
    wanted = sorted({coupon_code_normalise(code) for code in codes if code.strip()})
    if not wanted:
        return []
    email = customer_email.strip().lower()
    with transaction.atomic():
        coupons = list(
            Coupon.objects.select_for_update()
            .annotate(normalised=Upper("code"))
            .filter(normalised__in=wanted)
            .order_by("pk")
        )
        missing = set(wanted) - {coupon.code.upper() for coupon in coupons}
        if missing:
            code = sorted(missing)[0]
            raise CouponUnknown(f"There is no coupon {code}.", extra={"coupon": code})
        promotions = {
            promotion.pk: promotion
            for promotion in Promotion.objects.select_for_update()
            .filter(pk__in={coupon.promotion_id for coupon in coupons})
            .order_by("pk")
        }
        channels: dict[int, set[str]] = {}
        for promotion_id, code in Promotion.objects.filter(
            pk__in=list(promotions), channels__isnull=False
        ).values_list("pk", "channels__code"):
            channels.setdefault(promotion_id, set()).add(code)
        redeemed = []
        for coupon in coupons:
            coupon.promotion = promotions[coupon.promotion_id]
            coupon_check_one(
                coupon=coupon,
                channel_code=channel_code,
                customer_id=customer_id,
                customer_email=email,
                at=at,
                channel_codes=channels.get(coupon.promotion_id, set()),
            )
            Coupon.objects.filter(pk=coupon.pk).update(uses=F("uses") + 1)
            Promotion.objects.filter(pk=coupon.promotion_id).update(uses=F("uses") + 1)
            coupon.uses += 1
            coupon.promotion.uses += 1
            redemption = CouponRedemption.objects.create(
                coupon=coupon,
                promotion_id=coupon.promotion_id,
                order_id=order_id,
                customer_id=customer_id,
                customer_email=email,
            )
            redeemed.append(
                Redeemed(
                    coupon_id=coupon.pk,
                    code=coupon.code,
                    promotion_id=coupon.promotion_id,
                    redemption_id=redemption.pk,
                )
            )
    return redeemed


def coupon_redemption_release(*, order_id: int) -> int:
    """Give back the coupon uses of a cancelled order: its live redemptions are marked released
    and the coupon's and promotion's counters go down by one each, so the code can be used
    again (while it still runs). A refund or a return gives nothing back. Idempotent; locks the
    redemptions, then the coupons, then the promotions, in primary-key order. Returns the
    number released."""
    with transaction.atomic():
        redemptions = list(
            CouponRedemption.objects.select_for_update()
            .filter(order_id=order_id, released_at__isnull=True)
            .order_by("pk")
        )
        if not redemptions:
            return 0
        coupon_ids = sorted({r.coupon_id for r in redemptions})
        promotion_ids = sorted({r.promotion_id for r in redemptions})
        list(Coupon.objects.select_for_update().filter(pk__in=coupon_ids).order_by("pk"))
        list(Promotion.objects.select_for_update().filter(pk__in=promotion_ids).order_by("pk"))
        now = timezone.now()
        for redemption in redemptions:
            CouponRedemption.objects.filter(pk=redemption.pk).update(released_at=now)
            Coupon.objects.filter(pk=redemption.coupon_id, uses__gt=0).update(uses=F("uses") - 1)
            Promotion.objects.filter(pk=redemption.promotion_id, uses__gt=0).update(
                uses=F("uses") - 1
            )
    return len(redemptions)
