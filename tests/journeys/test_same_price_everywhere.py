"""One figure on every surface (issue 17): every price a customer sees comes from the one pricing
function, ``orders.pricing``. One shop runs 20 % off its apparel on the webshop, the store till
and a Google feed, has a cart-level coupon, sells a book at the reduced VAT rate next to the tee
at the standard rate, and ships to the Netherlands by one method. The same basket (two tees, a
book, the coupon, shipped to 1011 AB) must cost the same, to the cent and per VAT rate, in
``basket_price`` (the reference), the cart API, the order placed from the cart (API and stored
row), its confirmation e-mail and receipt, and at the till (quote, page, recorded sale); and one
tee must cost the same in the read API, the Google feed, the POS change feed, the store page and
``display_prices``.

Public interfaces where there are some (the partner API with real keys, the store page as an
associate), the services elsewhere. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Category, Product, Variant
from channels.feeds import services as feeds
from channels.models import FeedItem
from core import services as core_services
from core.models import Channel
from inventory import services as inventory_services
from orders import services
from orders.models import Order, Promotion
from orders.pricing import BasketItem, Pricing, basket_price, display_prices
from orders.services import promotions as promo_services
from orders.services.notifications import receipt_text
from orders.services.promotion_prices import promotion_announce
from tests.channels.feed_world import (
    _feed_channel,
    _render_at_once,  # noqa: F401  (autouse: feeds render at once)
    _with_apparel_attributes,
)
from tests.channels.pos_world import POS_SCOPES, latest_position
from tests.factories import UserFactory
from tests.orders.pricing_world import BOOK, TEE_S, _book
from tests.orders.shipping_factories import method_make
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D("0.00")
COUPON = "SAME5"
SHIPPING = D("6.95")  # the ``postnl`` method's one rate to the Netherlands
ADDRESS = {"country": "NL", "postal_code": "1011 AB", "city": "Amsterdam", "line1": "Damrak 1"}
EMAIL = "ann@example.com"
TILL = "/store/till/"
BASKET = [(TEE_S, 2), (BOOK, 1)]

TaxRows = dict[tuple[str, Decimal], tuple[Decimal, Decimal, Decimal]]


@dataclass
class World:
    shop: Shop
    pos: Channel
    google: Channel
    book: Variant
    sale: Promotion


@pytest.fixture
def world(shop: Shop) -> World:
    """The webshop (NL), the store till ``pos`` (Amsterdam and Utrecht) and a Google feed
    (NL), each selling the tee at 19.99 and the first two the book at 12.50 (reduced VAT, not
    apparel); 20 % off apparel runs on all three; ``SAME5`` takes 5.00 off a basket of at least
    20.00 on the webshop and the till; ``postnl`` ships to NL for 6.95."""
    channel = shop.channel
    core_services.channel_countries_set(channel=channel, countries=["NL"])
    book_product = _book(shop)
    books = Category.objects.add_root(
        {"name": "Books", "full_name": "Media > Books", "google_id": 784}
    )
    Product.objects.filter(pk=book_product.pk).update(category=books)
    book = book_product.variants.get()

    pos = pos_channel_add(shop)
    catalog_services.price_set(variant_id=book.pk, channel_code=pos.code, amount=D("12.50"))
    catalog_services.completeness_refresh(product_ids=[book_product.pk])
    catalog_services.product_publish(product_ids=[book_product.pk], channel_code=pos.code)

    tee = shop.s.product
    _with_apparel_attributes(tee)
    google = _feed_channel("google", Channel.Kind.GOOGLE_FEED, shop)
    core_services.channel_countries_set(channel=google, countries=["NL"])
    for variant in tee.variants.all():
        catalog_services.price_set(variant_id=variant.pk, channel_code="google", amount=D("19.99"))
    catalog_services.completeness_refresh(product_ids=[tee.pk])
    catalog_services.product_publish(product_ids=[tee.pk], channel_code="google")

    sale = Promotion.objects.create(
        name="Apparel sale",
        kind=Promotion.Kind.PERCENT_OFF,
        value=D("20"),
        target=Promotion.Target.CATEGORIES,
    )
    sale.categories.set([Category.objects.get(full_name="Apparel & Accessories")])
    sale.channels.set([channel, pos, google])
    with_code = Promotion.objects.create(
        name="Five off twenty",
        kind=Promotion.Kind.SPEND_THRESHOLD,
        value=D("5.00"),
        threshold=D("20.00"),
        requires_coupon=True,
    )
    with_code.channels.set([channel, pos])
    promo_services.coupon_create(promotion_id=with_code.pk, code=COUPON)
    method_make("postnl", rates=((None, None, str(SHIPPING)),), transit_days=1)

    for location in (shop.warehouse, shop.amsterdam):
        shop.receive(location, shop.s, 10)
        shop.receive(location, book, 10)
    return World(shop=shop, pos=pos, google=google, book=book, sale=sale)


def _items(world: World, lines: Iterable[tuple[str, int]]) -> list[BasketItem]:
    ids = {TEE_S: world.shop.s.pk, BOOK: world.book.pk}
    return [BasketItem(variant_id=ids[sku], quantity=qty, key=sku) for sku, qty in lines]


def _per_rate(pricing: Pricing) -> TaxRows:
    """The reference tax per (goods|shipping, rate): ``basket_price``'s line and shipping parts
    summed (net, tax, gross)."""
    rows: TaxRows = {}
    parts = [("goods", part) for part in pricing.tax.lines]
    parts += [("shipping", part) for part in pricing.tax.shipping]
    for kind, part in parts:
        if part.gross == 0 and part.tax == 0:
            continue
        net, tax, gross = rows.get((kind, part.rate), (ZERO, ZERO, ZERO))
        rows[(kind, part.rate)] = (net + part.net, tax + part.tax, gross + part.gross)
    return rows


def _rates_summed(rows: TaxRows) -> dict[Decimal, Decimal]:
    summed: dict[Decimal, Decimal] = {}
    for (_, rate), (_, tax, _) in rows.items():
        summed[rate] = summed.get(rate, ZERO) + tax
    return summed


def _stored_rows(order: Order) -> TaxRows:
    return {(t.kind, t.rate): (t.net, t.tax, t.gross) for t in order.tax_lines.all()}


def _api_rows(rows: list[dict[str, Any]]) -> TaxRows:
    return {
        (row["kind"], D(row["rate"])): (D(row["net"]), D(row["tax"]), D(row["gross"]))
        for row in rows
    }


def _figures(source: Any, *, names: dict[str, str] | None = None) -> dict[str, Decimal]:
    """subtotal, discount_total, shipping_total, tax_total and total of a dict (an API body)
    or an object, ``names`` mapping a figure to the source's own name for it."""
    names = names or {}
    got: dict[str, Decimal] = {}
    for figure in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"):
        name = names.get(figure, figure)
        value = source[name] if isinstance(source, dict) else getattr(source, name)
        got[figure] = D(str(value))
    return got


def _assert_text_has(text: str, order: Order) -> None:
    """The total and every stored tax line's amounts are in ``text``."""
    assert f"Total: {order.total} {order.currency}" in text, text
    for row in order.tax_lines.all():
        where = " on shipping" if row.kind == "shipping" else ""
        assert f"VAT {row.rate.normalize():f}%{where}" in text, (row.kind, row.rate, text)
        assert f": {row.tax} (net {row.net})" in text, (row.kind, row.rate, text)


def _associate(world: World) -> Client:
    user: User = UserFactory(username="sam", is_staff=False)  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name="Store associate"))
    inventory_services.staff_member_assign(user_id=user.pk, location=world.shop.amsterdam)
    client = Client()
    client.force_login(user)
    return client


def _shown(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</(?:td|span)>', page, re.S)
    assert found is not None, testid
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_same_basket_costs_the_same_on_every_surface(
    world: World, api_client_for: Callable[..., APIClient]
) -> None:
    shop = world.shop
    reference = basket_price(
        channel=shop.channel,
        items=_items(world, BASKET),
        country="NL",
        shipping=SHIPPING,
        coupon_codes=[COUPON],
        customer_email=EMAIL,
    )
    expected = _figures(reference)
    expected_rows = _per_rate(reference)
    # the world did what it says: both promotions, two VAT rates on the goods, taxed shipping
    assert {p.name for p in reference.applied} == {"Apparel sale", "Five off twenty"}
    assert {rate for kind, rate in expected_rows if kind == "goods"} == {D("21.00"), D("9.00")}
    assert expected["shipping_total"] == SHIPPING and reference.country == "NL"
    assert sum((tax for _, tax, _ in expected_rows.values()), ZERO) == expected["tax_total"]
    assert {rate: total.tax for rate, total in reference.tax.by_rate.items()} == _rates_summed(
        expected_rows
    )

    # 2. the cart API
    client = api_client_for(channels=[shop.channel])
    created = client.post(
        "/api/v1/carts/",
        {
            "channel": shop.channel.code,
            "customer_email": EMAIL,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in BASKET],
            "coupons": [COUPON.lower()],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    token = created.json()["token"]
    cart = client.get(
        f"/api/v1/carts/{token}/",
        {"country": "NL", "postal_code": ADDRESS["postal_code"], "shipping_method": "postnl"},
    )
    assert cart.status_code == 200, cart.json()
    body = cart.json()
    assert _figures(body, names={"shipping_total": "shipping"}) == expected
    assert (body["tax_country"], body["coupons"], body["coupons_refused"]) == ("NL", [COUPON], [])
    cart_goods: dict[Decimal, Decimal] = {}
    for line in body["lines"]:
        rate = D(line["tax_rate"])
        cart_goods[rate] = cart_goods.get(rate, ZERO) + D(line["tax"])
    assert cart_goods == {
        rate: tax for (kind, rate), (_, tax, _) in expected_rows.items() if kind == "goods"
    }

    # 3. the order placed from that cart: the API's figures and tax lines, the stored row
    placed = client.post(
        f"/api/v1/carts/{token}/checkout/",
        {"fulfillment": {"method": "ship", "address": ADDRESS}, "shipping_method": "postnl"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same-checkout-1",
    )
    assert placed.status_code == 201, placed.json()
    number = placed.json()["number"]
    shown = client.get(f"/api/v1/orders/{number}/")
    assert shown.status_code == 200, shown.json()
    order_body = shown.json()
    assert _figures(order_body) == expected
    assert _api_rows(order_body["tax_lines"]) == expected_rows
    assert (order_body["tax_country"], order_body["coupons"]) == ("NL", [COUPON])
    order = Order.objects.get(number=number)
    assert _figures(order) == expected
    assert _stored_rows(order) == expected_rows

    # 4. its confirmation e-mail and its receipt text
    services.notifications_send_pending()
    (confirmation,) = [m for m in mail.outbox if m.subject == f"Your order {number} is confirmed"]
    _assert_text_has(str(confirmation.body), order)
    _assert_text_has(receipt_text(order), order)


def test_the_till_quotes_shows_and_records_the_same_basket(world: World) -> None:
    shop = world.shop
    lines = [services.LineInput(sku, qty) for sku, qty in BASKET]
    reference = basket_price(
        channel=world.pos,
        items=_items(world, BASKET),
        country=shop.amsterdam.country,
        coupon_codes=[COUPON],
    )
    expected = _figures(reference)
    expected_rows = _per_rate(reference)
    assert {p.name for p in reference.applied} == {"Apparel sale", "Five off twenty"}
    assert {rate for _, rate in expected_rows} == {D("21.00"), D("9.00")}

    # the quote the till page is built from
    quote = services.sale_quote(
        channel_code=world.pos.code,
        location_code=shop.amsterdam.code,
        lines=lines,
        coupons=[COUPON],
    )
    assert (quote.subtotal, quote.discount, quote.tax_total, quote.total) == (
        expected["subtotal"],
        expected["discount_total"],
        expected["tax_total"],
        expected["total"],
    )
    assert {(t.kind, t.rate): (t.net, t.tax, t.gross) for t in quote.tax_lines} == expected_rows

    # the store page's till, as an associate of Amsterdam
    till = _associate(world)
    for sku, qty in BASKET:
        till.post(TILL, {"action": "add", "code": sku, "quantity": qty})
    till.post(TILL, {"action": "coupon", "code": COUPON})
    response = till.get(TILL)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-testid="coupon-{COUPON}"' in page
    assert _shown(page, "total") == f"{expected['total']} EUR"
    for (_, rate), (_, tax, _) in expected_rows.items():
        assert str(tax) in _shown(page, f"tax-{rate.normalize():f}")

    # the recorded sale and its receipt
    sold = services.sale_record(
        channel_code=world.pos.code,
        location_code=shop.amsterdam.code,
        lines=lines,
        payments=[services.PaymentInput("card", quote.total, "T-SAME")],
        sale_key="same-1",
        coupons=[COUPON],
    )
    order = Order.objects.get(pk=sold.order.pk)
    assert _figures(order) == {**expected, "shipping_total": ZERO}
    assert _stored_rows(order) == expected_rows
    _assert_text_has(receipt_text(order), order)


def test_one_tee_costs_the_same_on_every_surface(
    world: World, api_client_for: Callable[..., APIClient]
) -> None:
    shop = world.shop
    tee = shop.s

    def one_tee(channel: Channel) -> Decimal:
        pricing = basket_price(channel=channel, items=_items(world, [(TEE_S, 1)]), country="NL")
        (line,) = pricing.lines
        return line.total

    reference = one_tee(shop.channel)
    # the same price and the same promotion on the three channels: one figure
    assert one_tee(world.pos) == one_tee(world.google) == reference < D("19.99")
    for channel in (shop.channel, world.pos, world.google):
        shown = display_prices(channel=channel, variant_ids=[tee.pk], country="NL")[tee.pk]
        assert shown.sale_price == reference, channel.code

    # the partner read API
    reader = api_client_for(scopes=["catalog:read"], channels=[shop.channel])
    products = reader.get("/api/v1/products/")
    assert products.status_code == 200, products.json()
    prices = {v["sku"]: v["price"] for p in products.json()["results"] for v in p["variants"]}
    assert D(prices[TEE_S]["sale_amount"]) == reference

    # the Google feed
    feeds.feed_rebuild(world.google)
    item = FeedItem.objects.get(channel=world.google, variant_id=tee.pk)
    assert item.fields["sale_price"] == f"{reference} EUR"

    # the POS change feed, once the promotion is announced
    start = latest_position()
    assert promotion_announce(promotion_id=world.sale.pk) >= 1
    latest_position()
    till_key = api_client_for(scopes=POS_SCOPES, channels=[world.pos])
    changes = till_key.get(
        f"/api/v1/pos/{world.pos.code}/changes/",
        {"location": shop.amsterdam.code, "after": str(start)},
    )
    assert changes.status_code == 200, changes.json()
    announced = [
        c["data"]["prices"][TEE_S]
        for c in changes.json()["changes"]
        if c["type"] == "price.changed" and TEE_S in c["data"].get("prices", {})
    ]
    assert announced, changes.json()
    assert D(announced[-1]["sale_amount"]) == reference

    # the store page's product card (the till's channel)
    associate = _associate(world)
    html = associate.get(reverse("store:product", args=[tee.product_id])).content.decode()
    start_at = html.index(f'data-testid="price-{TEE_S}"')
    card = html[html.index(">", start_at) + 1 : html.index("</p>", start_at)]
    sale = re.search(r"<strong>([0-9.]+) EUR</strong>", card)
    assert sale is not None, card
    assert D(sale.group(1)) == reference
