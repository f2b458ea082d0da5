"""The till page on the one pricing function: the basket shows each line's discount, the
promotions applied, the tax per rate and the total, all from ``sale_quote`` (which is
``basket_price``); a coupon field applies a code, a bad one is refused with its reason and the
basket is unchanged; the sale records what the page showed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from inventory import services as inventory_services
from orders import services
from orders.models import Coupon, CouponRedemption, Order
from tests.factories import UserFactory
from tests.shop import Shop
from tests.till import pos_channel_add
from tests.till_money import BOOK_SKU, COUPON, TillMoney, till_money_add

pytestmark = pytest.mark.django_db

TILL = "/store/till/"
TEE_M = "ORGANIC-TEE-M"


@pytest.fixture
def money(orders_shop: Shop) -> TillMoney:
    made = till_money_add(orders_shop, pos_channel_add(orders_shop))
    orders_shop.receive(orders_shop.amsterdam, orders_shop.m, 5)
    orders_shop.receive(orders_shop.amsterdam, made.book, 5)
    return made


@pytest.fixture
def till(orders_shop: Shop, money: TillMoney) -> Client:
    user: User = UserFactory(username="sam", is_staff=False)  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name="Store associate"))
    inventory_services.staff_member_assign(user_id=user.pk, location=orders_shop.amsterdam)
    client = Client()
    client.force_login(user)
    client.post(TILL, {"action": "add", "code": TEE_M, "quantity": 2})
    client.post(TILL, {"action": "add", "code": BOOK_SKU, "quantity": 1})
    return client


def _page(client: Client) -> str:
    response = client.get(TILL)
    assert response.status_code == 200
    return response.content.decode()


def _shown(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</(?:td|span)>', page, re.S)
    assert found is not None, testid
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _quote(coupons: list[str]) -> services.SaleQuote:
    return services.sale_quote(
        channel_code="pos",
        location_code="ams-central",
        lines=[services.LineInput(TEE_M, 2), services.LineInput(BOOK_SKU, 1)],
        coupons=coupons,
    )


def test_the_basket_shows_discounts_promotions_tax_per_rate_and_the_total(
    till: Client, money: TillMoney
) -> None:
    quote = _quote([])
    page = _page(till)
    # each line's discount and total after it
    for line in quote.lines:
        assert line.discount > 0
        assert _shown(page, f"line-discount-{line.sku}") == f"-{line.discount}"
        assert _shown(page, f"line-total-{line.sku}") == str(line.total)
    # the running promotion, the tax per rate (21 % and 9 %), the total
    assert "Spring at the till" in _shown(page, f"promotion-{money.running.pk}")
    assert [(t.rate, t.tax) for t in quote.tax_lines] == [
        (Decimal("21.00"), quote.tax_lines[0].tax),
        (Decimal("9.00"), quote.tax_lines[1].tax),
    ]
    for tax in quote.tax_lines:
        shown = _shown(page, f"tax-{tax.rate.normalize():f}")
        assert f"VAT {tax.rate.normalize():f}% included" in shown and str(tax.tax) in shown
    assert _shown(page, "total") == f"{quote.total} EUR"
    assert 'data-testid="till-coupon"' in page


def test_a_coupon_applies_and_the_sale_records_what_the_page_showed(
    till: Client, money: TillMoney
) -> None:
    till.post(TILL, {"action": "coupon", "code": "till5"})
    quote = _quote([COUPON])
    page = _page(till)
    assert f'data-testid="coupon-{COUPON}"' in page
    assert "Five off twenty" in page and _shown(page, "total") == f"{quote.total} EUR"
    response = till.post(
        TILL, {"action": "pay", "tender": "card", "amount": str(quote.total), "reference": ""}
    )
    assert response.status_code == 302, response.content
    order = Order.objects.get()
    assert (order.total, order.discount_total, order.tax_total, order.coupon_codes) == (
        quote.total,
        quote.discount,
        quote.tax_total,
        [COUPON],
    )
    assert CouponRedemption.objects.filter(order=order).count() == 1
    # the receipt shows the stored tax per rate
    receipt = till.get(response["Location"]).content.decode()
    for row in order.tax_lines.all():
        assert str(row.tax) in receipt


@pytest.mark.parametrize(
    ("code", "reason"), [("NOPE-99", "There is no coupon NOPE-99."), (COUPON, "has been used up.")]
)
def test_a_bad_coupon_is_refused_on_the_page_and_changes_nothing(
    till: Client, money: TillMoney, code: str, reason: str
) -> None:
    if code == COUPON:
        Coupon.objects.filter(pk=money.coupon.pk).update(max_uses=1, uses=1)
    before = _page(till)
    response = till.post(TILL, {"action": "coupon", "code": code}, follow=True)
    page = response.content.decode()
    assert f"Coupon {code}" in page
    assert f'data-testid="coupon-{code}"' not in page
    assert _shown(page, "total") == _shown(before, "total")
    assert Order.objects.count() == 0 and CouponRedemption.objects.count() == 0
    assert Coupon.objects.get(pk=money.coupon.pk).uses == (1 if code == COUPON else 0)
    assert reason in page


def test_a_coupon_that_stops_applying_is_taken_out_with_its_reason(
    till: Client, money: TillMoney
) -> None:
    till.post(TILL, {"action": "coupon", "code": COUPON})
    # the book goes, the tee stays: still above 20.00; then the tees go too
    till.post(TILL, {"action": "remove", "sku": TEE_M})
    page = _page(till)  # 12.50 less 10 %: below the threshold
    assert f"Coupon {COUPON} removed" in page
    assert f'data-testid="coupon-{COUPON}"' not in page
    book_only = services.sale_quote(
        channel_code="pos", location_code="ams-central", lines=[services.LineInput(BOOK_SKU, 1)]
    )
    assert _shown(page, "total") == f"{book_only.total} EUR"
    assert Order.objects.count() == 0
