"""The promotion engine: what a cart gets (see docs/orders.md, "Promotions").

Two halves:

- :func:`promotions_apply` is pure: given the rules, the coupons already checked, the customer's
  facts and the lines, it returns the discount of every line, the shipping discount and the
  promotions applied, in order. Carts, placement, the till and the admin preview all call it (via
  :func:`cart_promotions`), so they cannot disagree.
- The loaders query: :func:`promotion_rules_load` (the running promotions of a channel),
  :func:`coupons_check` (codes to promotions, with every refusal as a domain error),
  :func:`customer_facts` and :func:`cart_lines_build`. :func:`cart_promotions` is load + apply.

:func:`variant_sale_prices` is the product-level part (no coupon, no customer scope) that feeds
and the POS change feed announce, with the sale's start and end.

Money is rounded half-up to cents per line; a line's discount never exceeds what is left of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Upper
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Category, Variant
from customers import selectors as customers_selectors
from customers.models import LoyaltyLot
from orders.exceptions import (
    CouponCustomerLimit,
    CouponExhausted,
    CouponExpired,
    CouponNotApplicable,
    CouponNotStarted,
    CouponUnknown,
    CouponWrongChannel,
)
from orders.models import Order
from orders.models.promotions import Coupon, CouponRedemption, Promotion

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
Kind = Promotion.Kind
Target = Promotion.Target
Scope = Promotion.CustomerScope


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def coupon_code_normalise(code: str) -> str:
    """How codes are stored and compared: trimmed and upper-case."""
    return code.strip().upper()


# --- input and output -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PromoLine:
    """One cart line as the engine sees it; ``category_ids`` holds the product's category and
    every ancestor of it (a promotion on "Apparel" reaches "Apparel > Shirts")."""

    key: str
    variant_id: int
    product_id: int
    category_ids: frozenset[int]
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class CustomerFacts:
    customer_id: int | None = None
    is_first_order: bool = True
    lifetime_points: int = 0
    consents: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PromotionRule:
    """A promotion as plain data (built from rows by :func:`_rules_query`)."""

    id: int
    name: str
    kind: str
    value: Decimal
    target: str = Target.ALL
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    variant_ids: frozenset[int] = frozenset()
    buy_quantity: int = 0
    get_quantity: int = 0
    threshold: Decimal = ZERO
    channel_codes: frozenset[str] = frozenset()
    customer_scope: str = Scope.ANYONE
    min_lifetime_points: int = 0
    consent_purpose: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 100
    stackable: bool = True
    requires_coupon: bool = False
    is_active: bool = True

    def runs_at(self, at: datetime) -> bool:
        return (
            self.is_active
            and (self.starts_at is None or self.starts_at <= at)
            and (self.ends_at is None or at < self.ends_at)
        )

    def targets(self, line: PromoLine) -> bool:
        if self.target == Target.PRODUCTS:
            return line.product_id in self.product_ids
        if self.target == Target.CATEGORIES:
            return bool(line.category_ids & self.category_ids)
        if self.target == Target.VARIANTS:
            return line.variant_id in self.variant_ids
        return True

    def customer_fits(self, customer: CustomerFacts) -> bool:
        if self.customer_scope == Scope.FIRST_ORDER:
            return customer.is_first_order
        if self.customer_scope == Scope.LOYALTY:
            return (
                customer.customer_id is not None
                and customer.lifetime_points >= self.min_lifetime_points
            )
        if self.customer_scope == Scope.CONSENT:
            return customer.customer_id is not None and self.consent_purpose in customer.consents
        return True


@dataclass(frozen=True)
class CheckedCoupon:
    """A code that passed :func:`coupons_check` (exists, runs, channel, limits)."""

    code: str
    coupon_id: int
    promotion_id: int


@dataclass(frozen=True)
class AppliedPromotion:
    promotion_id: int
    name: str
    kind: str
    coupon_code: str
    amount: Decimal  # off the lines
    shipping_amount: Decimal
    lines: dict[str, Decimal]


@dataclass(frozen=True)
class PromotionResult:
    line_discounts: dict[str, Decimal]
    shipping_discount: Decimal
    applied: list[AppliedPromotion] = field(default_factory=list)
    coupons: list[CheckedCoupon] = field(default_factory=list)

    @property
    def lines_discount(self) -> Decimal:
        return sum(self.line_discounts.values(), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return self.lines_discount + self.shipping_discount


# --- the pure engine ------------------------------------------------------------------------------


def allocate(amount: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """Split ``amount`` (cents) over keys in proportion to ``weights``, each share at most its
    weight; the cents left by rounding go to the largest remainders (ties: the key order)."""
    total = sum(weights.values(), ZERO)
    if amount <= 0 or total <= 0:
        return {}
    amount = min(amount, total)
    raw = {key: amount * weight / total for key, weight in weights.items()}
    shares = {key: value.quantize(CENT, rounding="ROUND_DOWN") for key, value in raw.items()}
    left = int((amount - sum(shares.values(), ZERO)) / CENT)
    order = sorted(weights, key=lambda key: (-(raw[key] - shares[key]), list(weights).index(key)))
    for key in order:
        if left <= 0:
            break
        if shares[key] + CENT <= weights[key]:
            shares[key] += CENT
            left -= 1
    return {key: share for key, share in shares.items() if share > 0}


def _rule_discounts(
    rule: PromotionRule,
    lines: Sequence[PromoLine],
    remaining: dict[str, Decimal],
    shipping_left: Decimal,
) -> tuple[dict[str, Decimal], Decimal]:
    """What one rule takes off the lines (what is left of each) and off the shipping."""
    targeted = [line for line in lines if rule.targets(line) and remaining[line.key] > 0]
    eligible = sum((remaining[line.key] for line in targeted), ZERO)
    if not targeted:
        return {}, ZERO
    if rule.kind == Kind.PERCENT_OFF:
        off = {
            line.key: min(remaining[line.key], _cents(remaining[line.key] * rule.value / HUNDRED))
            for line in targeted
        }
        return {key: value for key, value in off.items() if value > 0}, ZERO
    if rule.kind == Kind.AMOUNT_OFF:
        off = {
            line.key: min(remaining[line.key], _cents(rule.value * line.quantity))
            for line in targeted
        }
        return {key: value for key, value in off.items() if value > 0}, ZERO
    if rule.kind == Kind.BUY_X_GET_Y:
        group = rule.buy_quantity + rule.get_quantity
        units = sum(line.quantity for line in targeted)
        free_units = (units // group) * rule.get_quantity if group > 0 else 0
        # the cheapest units (by what is left of them) are the discounted ones
        given: dict[str, Decimal] = {}
        for line in sorted(
            targeted, key=lambda line: (remaining[line.key] / line.quantity, line.key)
        ):
            if free_units <= 0:
                break
            count = min(free_units, line.quantity)
            free_units -= count
            unit_left = remaining[line.key] / line.quantity
            share = _cents(unit_left * count * rule.value / HUNDRED)
            given[line.key] = min(remaining[line.key], share)
        return {key: value for key, value in given.items() if value > 0}, ZERO
    if rule.kind == Kind.SPEND_THRESHOLD:
        if eligible < rule.threshold:
            return {}, ZERO
        return allocate(rule.value, {line.key: remaining[line.key] for line in targeted}), ZERO
    if rule.kind == Kind.FREE_SHIPPING:
        if eligible < rule.threshold:
            return {}, ZERO
        return {}, shipping_left
    return {}, ZERO


def promotions_apply(
    *,
    channel_code: str,
    customer: CustomerFacts,
    lines: Sequence[PromoLine],
    shipping: Decimal,
    rules: Iterable[PromotionRule],
    coupons: Sequence[CheckedCoupon] = (),
    at: datetime,
) -> PromotionResult:
    """Apply the rules to the lines; pure (no query).

    Candidates are the rules that run at ``at`` on ``channel_code`` for this customer, and whose
    coupon (when they require one) is among ``coupons``. They are taken by priority (lower
    first, then id). A rule that takes nothing is skipped. The first rule that takes something
    is applied; if it is exclusive (not stackable), nothing after it applies. After a stackable
    rule, the next stackable rules apply too, each on what earlier rules left of every line (and
    of the shipping); an exclusive rule met then is skipped. A coupon whose promotion is out of
    the customer's scope or takes nothing raises ``coupon_not_applicable``.
    """
    coupon_of = {coupon.promotion_id: coupon for coupon in coupons}
    remaining = {line.key: _cents(line.unit_price * line.quantity) for line in lines}
    shipping_left = _cents(shipping)
    applied: list[AppliedPromotion] = []
    exclusive_won = False
    for rule in sorted(rules, key=lambda rule: (rule.priority, rule.id)):
        coupon = coupon_of.get(rule.id)
        if rule.requires_coupon and coupon is None:
            continue
        if not rule.runs_at(at) or channel_code not in rule.channel_codes:
            continue  # (a promotion without channels runs nowhere)
        if not rule.customer_fits(customer):
            if coupon is not None:
                raise CouponNotApplicable(
                    f"Coupon {coupon.code} is not for this customer.",
                    extra={"coupon": coupon.code},
                )
            continue
        if exclusive_won or (applied and not rule.stackable):
            if coupon is not None:
                raise CouponNotApplicable(
                    f"Coupon {coupon.code} cannot be combined with "
                    f"{', '.join(a.name for a in applied)}.",
                    extra={"coupon": coupon.code},
                )
            continue
        taken, shipping_taken = _rule_discounts(rule, lines, remaining, shipping_left)
        if not taken and shipping_taken <= 0:
            if coupon is not None:
                raise CouponNotApplicable(
                    f"Coupon {coupon.code} gives nothing on this cart.",
                    extra={"coupon": coupon.code},
                )
            continue
        for key, amount in taken.items():
            remaining[key] -= amount
        shipping_left -= shipping_taken
        applied.append(
            AppliedPromotion(
                promotion_id=rule.id,
                name=rule.name,
                kind=rule.kind,
                coupon_code=coupon.code if coupon else "",
                amount=sum(taken.values(), ZERO),
                shipping_amount=shipping_taken,
                lines=taken,
            )
        )
        exclusive_won = not rule.stackable
    unused = [c for c in coupons if c.promotion_id not in {a.promotion_id for a in applied}]
    if unused:  # its promotion is not among the rules (wrong channel, not running)
        raise CouponNotApplicable(
            f"Coupon {unused[0].code} does not apply to this cart.",
            extra={"coupon": unused[0].code},
        )
    line_discounts = {
        line.key: _cents(line.unit_price * line.quantity) - remaining[line.key] for line in lines
    }
    return PromotionResult(
        line_discounts=line_discounts,
        shipping_discount=_cents(shipping) - shipping_left,
        applied=applied,
        coupons=list(coupons),
    )


# --- loaders (queries) ----------------------------------------------------------------------------


RULES_CACHE_SECONDS = 300
"""How long a channel's promotion rules stay cached at most; every change to a promotion starts
a new generation at once (:func:`promotion_rules_invalidate`), so this only bounds what a change
made behind the application's back (raw SQL) can leave stale."""
_GENERATION_KEY = "promotions:rules:generation"


def _generation() -> int | None:
    """The current generation of promotion rules (a new one per change); None when the cache
    is unreachable (then every load reads the database)."""
    try:
        generation = cache.get(_GENERATION_KEY)
        if generation is None:
            cache.add(_GENERATION_KEY, time.time_ns(), None)
            generation = cache.get(_GENERATION_KEY)
    except Exception:
        logger.warning("promotion rules cache unreachable on read", exc_info=True)
        return None
    return int(generation) if generation is not None else None


def promotion_rules_invalidate() -> None:
    """Start a new generation: every process reads the promotions again. Called on every save
    or delete of a promotion and every change of its products, categories, variants or
    channels, both at once and again after the transaction commits (so a reader between the two
    cannot keep the rules of before the change)."""
    try:
        cache.set(_GENERATION_KEY, time.time_ns(), None)
    except Exception:
        logger.warning("promotion rules cache unreachable on write", exc_info=True)


def _rules_query(promotions: QuerySet[Promotion]) -> list[PromotionRule]:
    """Rules from rows, their targets and channels read as plain ids (five light queries)."""
    rows = list(promotions.order_by("priority", "id"))
    if not rows:
        return []
    ids = [row.pk for row in rows]
    related: dict[str, dict[int, set[Any]]] = {}
    for name, column in (
        ("products", "product_id"),
        ("categories", "category_id"),
        ("variants", "variant_id"),
        ("channels", "channel__code"),
    ):
        through = getattr(Promotion, name).through
        found: dict[int, set[Any]] = {}
        for promotion_id, value in through.objects.filter(promotion_id__in=ids).values_list(
            "promotion_id", column
        ):
            found.setdefault(promotion_id, set()).add(value)
        related[name] = found
    empty: frozenset[Any] = frozenset()
    return [
        PromotionRule(
            id=row.pk,
            name=row.name,
            kind=row.kind,
            value=row.value,
            target=row.target,
            product_ids=frozenset(related["products"].get(row.pk, empty)),
            category_ids=frozenset(related["categories"].get(row.pk, empty)),
            variant_ids=frozenset(related["variants"].get(row.pk, empty)),
            buy_quantity=row.buy_quantity,
            get_quantity=row.get_quantity,
            threshold=row.threshold,
            channel_codes=frozenset(related["channels"].get(row.pk, empty)),
            customer_scope=row.customer_scope,
            min_lifetime_points=row.min_lifetime_points,
            consent_purpose=row.consent_purpose,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            priority=row.priority,
            stackable=row.stackable,
            requires_coupon=row.requires_coupon,
            is_active=row.is_active,
        )
        for row in rows
    ]


def channel_rules(*, channel_code: str) -> list[PromotionRule]:
    """Every active promotion of ``channel_code``, whatever its schedule and whether it needs a
    coupon, by priority: cached per channel and generation (no query while nothing changed)."""
    generation = _generation()
    key = f"promotions:rules:{generation}:{channel_code}"
    if generation is not None:
        try:
            cached = cache.get(key)
        except Exception:
            cached = None
        if cached is not None:
            return list(cached)
    rules = _rules_query(
        Promotion.objects.filter(is_active=True, channels__code=channel_code).distinct()
    )
    if generation is not None:
        try:
            cache.set(key, rules, RULES_CACHE_SECONDS)
        except Exception:
            logger.warning("promotion rules cache unreachable on write", exc_info=True)
    return rules


def promotion_rules_load(
    *, channel_code: str, at: datetime, promotion_ids: Iterable[int] = ()
) -> list[PromotionRule]:
    """The promotions running on ``channel_code`` at ``at`` that need no coupon, plus those of
    ``promotion_ids`` (the checked coupons' promotions), by priority. From the channel's cached
    rules; a coupon's promotion that is not among them is read from the database."""
    wanted = set(promotion_ids)
    rules = channel_rules(channel_code=channel_code)
    chosen = [
        rule
        for rule in rules
        if rule.id in wanted or (not rule.requires_coupon and rule.runs_at(at))
    ]
    missing = wanted - {rule.id for rule in rules}
    if missing:
        chosen += _rules_query(Promotion.objects.filter(pk__in=missing))
    return sorted(chosen, key=lambda rule: (rule.priority, rule.id))


def coupons_check(
    *,
    codes: Iterable[str],
    channel_code: str,
    customer_id: int | None,
    customer_email: str = "",
    at: datetime,
) -> list[CheckedCoupon]:
    """Check every code (no lock: :func:`orders.services.promotions.coupon_redeem` checks again
    under lock). Raises, for the first bad code: ``coupon_unknown``, ``coupon_not_started``,
    ``coupon_expired``, ``coupon_wrong_channel``, ``coupon_exhausted``,
    ``coupon_customer_limit``, or ``coupon_not_applicable`` for two codes of one promotion."""
    wanted = list(dict.fromkeys(coupon_code_normalise(code) for code in codes if code.strip()))
    if not wanted:
        return []
    found = {
        coupon.code.upper(): coupon
        for coupon in Coupon.objects.annotate(normalised=Upper("code"))
        .filter(normalised__in=wanted)
        .select_related("promotion")
        .prefetch_related("promotion__channels")
    }
    checked: list[CheckedCoupon] = []
    for code in wanted:
        coupon = found.get(code)
        if coupon is None:
            raise CouponUnknown(f"There is no coupon {code}.", extra={"coupon": code})
        coupon_check_one(
            coupon=coupon,
            channel_code=channel_code,
            customer_id=customer_id,
            customer_email=customer_email,
            at=at,
            channel_codes={channel.code for channel in coupon.promotion.channels.all()},
        )
        if any(c.promotion_id == coupon.promotion_id for c in checked):
            raise CouponNotApplicable(
                f"Coupon {code} is for a promotion another code already gives.",
                extra={"coupon": code},
            )
        checked.append(
            CheckedCoupon(code=code, coupon_id=coupon.pk, promotion_id=coupon.promotion_id)
        )
    return checked


def customer_redemptions(*, coupon_id: int, customer_id: int | None, customer_email: str) -> int:
    """The live (not released) redemptions of a coupon by a customer (by id or email)."""
    who = Q()
    if customer_id is not None:
        who |= Q(customer_id=customer_id)
    if customer_email:
        who |= Q(customer_email=customer_email.strip().lower())
    return CouponRedemption.objects.filter(
        who, coupon_id=coupon_id, released_at__isnull=True
    ).count()


def coupon_check_one(
    *,
    coupon: Coupon,
    channel_code: str,
    customer_id: int | None,
    customer_email: str,
    at: datetime,
    channel_codes: set[str],
) -> None:
    """Every refusal of one coupon row (with its promotion), in the documented order."""
    promotion = coupon.promotion
    code = coupon.code
    extra = {"coupon": code}
    if promotion.starts_at is not None and at < promotion.starts_at:
        raise CouponNotStarted(
            f"Coupon {code} is valid from {promotion.starts_at.isoformat()}.", extra=extra
        )
    if (
        not coupon.is_active
        or not promotion.is_active
        or (promotion.ends_at is not None and at >= promotion.ends_at)
    ):
        raise CouponExpired(f"Coupon {code} has expired.", extra=extra)
    if channel_code not in channel_codes:
        raise CouponWrongChannel(f"Coupon {code} is not valid on {channel_code}.", extra=extra)
    if (coupon.max_uses is not None and coupon.uses >= coupon.max_uses) or (
        promotion.max_uses is not None and promotion.uses >= promotion.max_uses
    ):
        raise CouponExhausted(f"Coupon {code} has been used up.", extra=extra)
    if coupon.max_uses_per_customer is not None:
        if customer_id is None and not customer_email.strip():
            raise CouponCustomerLimit(
                f"Coupon {code} is limited per customer: sign in or give an email.", extra=extra
            )
        used = customer_redemptions(
            coupon_id=coupon.pk, customer_id=customer_id, customer_email=customer_email
        )
        if used >= coupon.max_uses_per_customer:
            raise CouponCustomerLimit(
                f"Coupon {code} was already used {used} time(s) by this customer.", extra=extra
            )


def customer_facts(*, customer_id: int | None, customer_email: str = "") -> CustomerFacts:
    """The customer's facts the scopes need: a first order when no earlier order (not
    cancelled) has this customer or email; lifetime points are every point ever earned minus
    what returns took back (redeemed or expired points still count); the granted consents."""
    email = customer_email.strip().lower()
    earlier = Order.objects.exclude(status=Order.Status.CANCELLED)
    if customer_id is None and not email:
        return CustomerFacts()
    who = Q()
    if customer_id is not None:
        who |= Q(customer_id=customer_id)
    if email:
        who |= Q(customer_email__iexact=email)
    first = not earlier.filter(who).exists()
    if customer_id is None:
        return CustomerFacts(is_first_order=first)
    points = LoyaltyLot.objects.filter(customer_id=customer_id).aggregate(
        total=Sum(F("points") - F("reversed_points"))
    )["total"]
    consents = frozenset(
        purpose
        for purpose, state in customers_selectors.consent_state(customer_id=customer_id).items()
        if state.granted
    )
    return CustomerFacts(
        customer_id=customer_id,
        is_first_order=first,
        lifetime_points=int(points or 0),
        consents=consents,
    )


@dataclass(frozen=True)
class CartItem:
    """A line to price: a variant and a quantity (``key`` defaults to the SKU)."""

    variant_id: int
    quantity: int
    key: str = ""


def variant_line_facts(variant_ids: Iterable[int]) -> dict[int, tuple[str, int, frozenset[int]]]:
    """``{variant_id: (sku, product_id, category ids)}``: what the engine knows of a line besides
    its price, the category ids holding the product's category and every ancestor of it. Two
    queries (one when no variant has a category)."""
    rows = list(
        Variant.objects.filter(pk__in=list(variant_ids)).values_list(
            "pk", "sku", "product_id", "product__category__path"
        )
    )
    paths = {path for *_, path in rows if path}
    ancestors: dict[str, int] = {}
    steplen = Category.steplen
    if paths:
        prefixes = {path[:i] for path in paths for i in range(steplen, len(path) + 1, steplen)}
        ancestors = dict(Category.objects.filter(path__in=prefixes).values_list("path", "pk"))
    facts: dict[int, tuple[str, int, frozenset[int]]] = {}
    for pk, sku, product_id, path in rows:
        category_ids: frozenset[int] = frozenset()
        if path:
            category_ids = frozenset(
                ancestors[path[:i]]
                for i in range(steplen, len(path) + 1, steplen)
                if path[:i] in ancestors
            )
        facts[pk] = (sku, product_id, category_ids)
    return facts


def cart_lines_build(
    *, channel_code: str, items: Sequence[CartItem], at: datetime
) -> list[PromoLine]:
    """Engine lines at the channel's price at ``at`` (the dated price overrides included, see
    ``catalog.selectors.variant_prices``); a variant without a price on the channel is left
    out. Three queries."""
    ids = [item.variant_id for item in items]
    prices = catalog_selectors.variant_prices(channel_code=channel_code, variant_ids=ids, at=at)
    facts = variant_line_facts(ids)
    lines = []
    for item in items:
        fact = facts.get(item.variant_id)
        price = prices.get(item.variant_id)
        if fact is None or price is None:
            continue
        sku, product_id, category_ids = fact
        lines.append(
            PromoLine(
                key=item.key or sku,
                variant_id=item.variant_id,
                product_id=product_id,
                category_ids=category_ids,
                unit_price=price.amount,
                quantity=item.quantity,
            )
        )
    return lines


def cart_promotions(
    *,
    channel_code: str,
    lines: Sequence[PromoLine],
    shipping: Decimal = ZERO,
    coupon_codes: Iterable[str] = (),
    customer_id: int | None = None,
    customer_email: str = "",
    customer: CustomerFacts | None = None,
    at: datetime | None = None,
) -> PromotionResult:
    """Load and apply: what carts, order placement and the till call. Raises the coupon errors
    of :func:`coupons_check` and :func:`promotions_apply`."""
    at = at or timezone.now()
    if customer is None:
        customer = customer_facts(customer_id=customer_id, customer_email=customer_email)
    coupons = coupons_check(
        codes=coupon_codes,
        channel_code=channel_code,
        customer_id=customer_id if customer_id is not None else customer.customer_id,
        customer_email=customer_email,
        at=at,
    )
    rules = promotion_rules_load(
        channel_code=channel_code, at=at, promotion_ids=[c.promotion_id for c in coupons]
    )
    return promotions_apply(
        channel_code=channel_code,
        customer=customer,
        lines=lines,
        shipping=shipping,
        rules=rules,
        coupons=coupons,
        at=at,
    )


# --- sale prices (feeds, the POS change feed) -----------------------------------------------------


@dataclass(frozen=True)
class SalePrice:
    variant_id: int
    price: Decimal  # the base price (dated overrides included)
    sale_price: Decimal
    currency: str
    starts_at: datetime | None  # when the sale began (the latest start of its promotions)
    ends_at: datetime | None  # when it ends (the earliest end); None: open-ended
    promotion_ids: tuple[int, ...]


SALE_KINDS = (Kind.PERCENT_OFF, Kind.AMOUNT_OFF)


def sale_rules_load(*, channel_code: str, at: datetime) -> list[PromotionRule]:
    """The running promotions of ``channel_code`` that make a sale price: percent or amount
    off, no coupon, anyone. One query when none runs, five otherwise."""
    return [
        rule
        for rule in promotion_rules_load(channel_code=channel_code, at=at)
        if rule.kind in SALE_KINDS and rule.customer_scope == Scope.ANYONE
    ]


def sale_prices_from(
    *,
    channel_code: str,
    prices: Mapping[int, catalog_selectors.VariantPrice],
    rules: Sequence[PromotionRule],
    at: datetime,
) -> dict[int, SalePrice]:
    """The sale price of each variant of ``prices`` (the channel's price of one unit, already
    read) under ``rules`` (from :func:`sale_rules_load`): the engine's result for one unit,
    anyone, no coupon. Variants no rule lowers are absent. No query when no rule runs, two
    otherwise (the variants' products and categories)."""
    rules = [r for r in rules if r.kind in SALE_KINDS and r.customer_scope == Scope.ANYONE]
    if not rules or not prices:
        return {}
    facts = variant_line_facts(prices)
    by_id = {rule.id: rule for rule in rules}
    sales: dict[int, SalePrice] = {}
    for variant_id, price in prices.items():
        fact = facts.get(variant_id)
        if fact is None:
            continue
        _sku, product_id, category_ids = fact
        line = PromoLine(
            key=str(variant_id),
            variant_id=variant_id,
            product_id=product_id,
            category_ids=category_ids,
            unit_price=price.amount,
            quantity=1,
        )
        result = promotions_apply(
            channel_code=channel_code,
            customer=CustomerFacts(),
            lines=[line],
            shipping=ZERO,
            rules=rules,
            at=at,
        )
        discount = result.line_discounts.get(line.key, ZERO)
        if discount <= 0:
            continue
        applied = [by_id[a.promotion_id] for a in result.applied]
        starts = [r.starts_at for r in applied if r.starts_at is not None]
        ends = [r.ends_at for r in applied if r.ends_at is not None]
        sales[variant_id] = SalePrice(
            variant_id=variant_id,
            price=line.unit_price,
            sale_price=line.unit_price - discount,
            currency=price.currency,
            starts_at=max(starts) if starts else None,
            ends_at=min(ends) if ends else None,
            promotion_ids=tuple(r.id for r in applied),
        )
    return sales


def variant_sale_prices(
    *, channel_code: str, variant_ids: Iterable[int], at: datetime | None = None
) -> dict[int, SalePrice]:
    """The sale price of each variant that a product-level promotion (percent or amount off,
    no coupon, anyone) lowers on ``channel_code`` at ``at``: the engine's result for one unit,
    so a shop and its feeds agree. Variants without such a promotion are absent."""
    at = at or timezone.now()
    ids = list(variant_ids)
    rules = sale_rules_load(channel_code=channel_code, at=at)
    if not rules or not ids:
        return {}
    prices = catalog_selectors.variant_prices(channel_code=channel_code, variant_ids=ids, at=at)
    return sale_prices_from(channel_code=channel_code, prices=prices, rules=rules, at=at)


def coupon_usage(*, promotion_id: int) -> dict[int, int]:
    """Live redemptions per coupon of a promotion (admin)."""
    return dict(
        CouponRedemption.objects.filter(promotion_id=promotion_id, released_at__isnull=True)
        .values("coupon_id")
        .annotate(n=Count("id"))
        .values_list("coupon_id", "n")
    )


def promotions_running(*, channel_code: str, at: datetime) -> list[PromotionRule]:
    """Every promotion running on ``channel_code`` at ``at``, coupon-only ones included (what a
    front-end may announce), by priority (the channel's cached rules)."""
    return [rule for rule in channel_rules(channel_code=channel_code) if rule.runs_at(at)]
