"""Gift cards: issued by staff or sold as a product, spent partly on any channel and at the
till, refunded back, expired; every refusal (unknown, expired, disabled, other currency, too
little balance) leaves the card, the ledger, the stock and the orders untouched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Product, ProductType
from core.models import Channel
from orders import services
from orders.exceptions import (
    GiftCardCurrency,
    GiftCardDisabled,
    GiftCardExpired,
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardUnknown,
    OrderInvalid,
)
from orders.models import GiftCard, GiftCardEntry, Order, Payment, TimelineEvent
from orders.services.giftcards import code_normalise, giftcard_find
from tests.catalog.factories import complete_product
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

TEE = "ORGANIC-TEE-S"
GIFT_SKU = "GIFT-CARD-L"


def _issue(amount: str = "50.00", **kwargs: Any) -> services.IssuedGiftCard:
    return services.giftcard_issue(amount=Decimal(amount), currency="EUR", **kwargs)


def _ledger_sum(card: GiftCard) -> Decimal:
    return sum((e.amount for e in GiftCardEntry.objects.filter(card=card)), Decimal("0"))


def _place(shop: Shop, *, cards: list[tuple[str, str]], quantity: int = 1, **kw: Any) -> Any:
    return services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(TEE, quantity)],
        method="ship",
        address={"country": "NL"},
        gift_cards=[services.GiftCardInput(code, Decimal(amount)) for code, amount in cards],
        **kw,
    )


def _gift_product(shop: Shop, channel: Channel) -> Product:
    """A published 25.00 gift card product whose product type is ``is_gift_card``."""
    product = complete_product(channel, name="Gift Card", sizes=("l",), price="25.00")
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code=channel.code)
    gift_type = ProductType.objects.create(code="gift-card", name="Gift card", is_gift_card=True)
    Product.objects.filter(pk=product.pk).update(product_type=gift_type)
    return product


def test_issuing_stores_only_a_hash_and_the_last_four_and_opens_the_ledger(shop: Shop) -> None:
    issued = _issue("50.00")
    card = issued.card
    normalised = code_normalise(issued.code)
    assert len(normalised) == 16 and issued.code.count("-") == 3
    assert card.last4 == normalised[-4:]
    assert normalised not in card.code_hash and issued.code not in str(card.__dict__)
    assert (card.balance, card.initial_amount, card.currency) == (
        Decimal("50.00"),
        Decimal("50.00"),
        "EUR",
    )
    entry = GiftCardEntry.objects.get(card=card)
    assert (entry.kind, entry.amount, entry.balance_after) == ("issue", Decimal("50.00"), 50)
    # the default validity applies (GIFT_CARD_VALIDITY_DAYS)
    assert card.expires_at is not None and card.expires_at > timezone.now() + timedelta(days=300)
    # lookups ignore case, spaces and dashes
    assert giftcard_find(code=issued.code.lower().replace("-", " ")) == card
    assert _issue().code != issued.code


@override_settings(GIFT_CARD_VALIDITY_DAYS=30)
def test_the_validity_setting_sets_the_expiry_and_bad_issues_are_refused(shop: Shop) -> None:
    card = _issue().card
    assert card.expires_at is not None
    assert abs(card.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert _issue(expires_at=None).card.expires_at is None
    before = GiftCard.objects.count()
    with pytest.raises(GiftCardInvalid):
        _issue("0")
    with pytest.raises(GiftCardInvalid):
        _issue(expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(GiftCardInvalid):
        services.giftcard_issue(amount=Decimal("5"), currency="euro")
    assert GiftCard.objects.count() == before


def test_partial_spends_online_and_at_the_till_keep_the_ledger_equal_to_the_balance(
    shop: Shop,
) -> None:
    pos_channel_add(shop)
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.amsterdam, shop.s, 5)
    issued = _issue("50.00")
    online = _place(shop, cards=[(issued.code, "19.99")]).order
    card = GiftCard.objects.get(pk=issued.card.pk)
    assert card.balance == Decimal("30.01")
    # the gift card paid it all: captured, one gift_card payment, no card payment
    assert (online.payment_status, online.amount_captured) == ("captured", Decimal("19.99"))
    assert [(p.tender, p.amount) for p in online.payments.all()] == [
        ("gift_card", Decimal("19.99"))
    ]
    sold = services.sale_record(
        channel_code="pos",
        location_code="ams-central",
        lines=[services.LineInput(TEE, 1)],
        payments=[services.PaymentInput("cash", Decimal("20.00"))],
        gift_cards=[services.GiftCardInput(issued.code, Decimal("10.00"))],
        sale_key="till-gift-1",
    ).order
    assert sorted((p.tender, p.amount) for p in sold.payments.all()) == [
        ("cash", Decimal("9.99")),
        ("gift_card", Decimal("10.00")),
    ]
    card.refresh_from_db()
    assert card.balance == Decimal("20.01") == _ledger_sum(card)
    spends = GiftCardEntry.objects.filter(card=card, kind="spend").order_by("id")
    assert [(e.order_id, e.amount) for e in spends] == [
        (online.pk, Decimal("-19.99")),
        (sold.pk, Decimal("-10.00")),
    ]
    assert all(e.payment is not None and e.payment.tender == "gift_card" for e in spends)
    assert services.giftcard_balance(code=issued.code).balance == Decimal("20.01")


def test_a_gift_card_paying_part_of_an_authorised_order_is_captured_at_once(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    issued = _issue("10.00")
    order = _place(shop, cards=[(issued.code, "10.00")], quantity=2).order
    assert (order.payment_status, order.amount_captured, order.total) == (
        "authorized",
        Decimal("10.00"),
        Decimal("39.98"),
    )
    assert [p.tender for p in Payment.objects.filter(order=order)] == ["gift_card"]
    assert GiftCard.objects.get(pk=issued.card.pk).balance == 0


def _untouched(shop: Shop) -> tuple[int, int, int, int, int]:
    return (
        Order.objects.count(),
        Payment.objects.count(),
        GiftCardEntry.objects.count(),
        shop.level(shop.warehouse, shop.s)[1],
        TimelineEvent.objects.count(),
    )


def test_too_little_balance_places_nothing_and_spends_nothing(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    issued = _issue("5.00")
    other = _issue("50.00")
    before = _untouched(shop)
    with pytest.raises(GiftCardInsufficient) as refused:
        _place(shop, cards=[(other.code, "10.00"), (issued.code, "9.99")])
    assert refused.value.extra["balance"] == "5.00"
    assert _untouched(shop) == before
    assert [c.balance for c in GiftCard.objects.order_by("pk")] == [Decimal("5.00"), 50]


def test_unknown_expired_disabled_and_foreign_cards_are_refused_with_nothing_written(
    shop: Shop,
) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    expired = _issue("50.00")
    GiftCard.objects.filter(pk=expired.card.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    disabled = _issue("50.00")
    services.giftcard_disable(card_id=disabled.card.pk)
    dollars = services.giftcard_issue(amount=Decimal("50"), currency="USD")
    good = _issue("50.00")
    before = _untouched(shop)
    for code, error in (
        ("AAAA-BBBB-CCCC-DDDD", GiftCardUnknown),
        (expired.code, GiftCardExpired),
        (disabled.code, GiftCardDisabled),
        (dollars.code, GiftCardCurrency),
    ):
        with pytest.raises(error):
            _place(shop, cards=[(good.code, "1.00"), (code, "1.00")])
    with pytest.raises(OrderInvalid) as twice:
        _place(shop, cards=[(good.code, "1.00"), (good.code.lower(), "1.00")])
    assert twice.value.errors[0]["code"] == "duplicate"
    with pytest.raises(OrderInvalid) as above:
        _place(shop, cards=[(good.code, "20.00")])  # the tee is 19.99
    assert above.value.errors[0]["code"] == "exceeds_total"
    assert _untouched(shop) == before
    assert GiftCard.objects.get(pk=good.card.pk).balance == 50


def test_a_refund_goes_back_to_the_card_up_to_what_the_order_spent(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    issued = _issue("30.00")
    order = _place(shop, cards=[(issued.code, "19.99")]).order
    services.giftcard_refund(order=order, amount=Decimal("5.00"))
    card = GiftCard.objects.get(pk=issued.card.pk)
    assert card.balance == Decimal("15.01") == _ledger_sum(card)
    with pytest.raises(GiftCardInvalid):  # 14.99 left to give back
        services.giftcard_refund(order=order, amount=Decimal("15.00"))
    services.giftcard_refund(order=order, amount=Decimal("14.99"), code=issued.code)
    card.refresh_from_db()
    assert card.balance == Decimal("30.00") == _ledger_sum(card)
    assert list(
        GiftCardEntry.objects.filter(card=card, kind="refund").values_list("amount", flat=True)
    ) == [Decimal("5.00"), Decimal("14.99")]
    assert order.timeline.filter(kind="refunded", message__contains=card.last4).count() == 2


def test_spend_directly_in_the_callers_transaction_refuses_overdraft(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    order = _place(shop, cards=[]).order
    issued = _issue("10.00")
    entry = services.giftcard_spend(code=issued.code, amount=Decimal("4.00"), order=order)
    assert (entry.amount, entry.balance_after) == (Decimal("-4.00"), Decimal("6.00"))
    with pytest.raises(GiftCardInsufficient):
        services.giftcard_spend(code=issued.code, amount=Decimal("6.01"), order=order)
    assert GiftCard.objects.get(pk=issued.card.pk).balance == Decimal("6.00")


def test_expiring_closes_the_balance_with_a_ledger_entry(shop: Shop) -> None:
    issued = _issue("12.00")
    live = _issue("12.00")
    GiftCard.objects.filter(pk=issued.card.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.giftcard_balance(code=issued.code).status == "expired"
    assert services.giftcards_expire() == 1
    card = GiftCard.objects.get(pk=issued.card.pk)
    assert card.balance == 0 == _ledger_sum(card)
    assert GiftCard.objects.get(pk=live.card.pk).balance == 12
    assert services.giftcards_expire() == 0


def test_selling_a_gift_card_issues_one_per_unit_and_takes_no_stock(shop: Shop) -> None:
    _gift_product(shop, shop.channel)
    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(GIFT_SKU, 2), services.LineInput(TEE, 1)],
        method="ship",
        address={"country": "NL"},
    ).order
    cards = list(GiftCard.objects.filter(sold_on__order=order))
    assert [(c.balance, c.currency) for c in cards] == [(Decimal("25.00"), "EUR")] * 2
    # only the tee is sourced; the gift card line is in no fulfilment
    assert shop.level(shop.warehouse, shop.s) == (1, 1)
    assert {line.order_line.sku for f in order.fulfillments.all() for line in f.lines.all()} == {
        TEE
    }
    issued = order.timeline.filter(kind="gift_card_issued")
    assert issued.count() == 2
    code = issued.first().message.split("code ")[1].split(",")[0]  # type: ignore[union-attr]
    assert giftcard_find(code=code) in cards


def test_an_order_of_gift_cards_only_needs_no_stock_at_all(shop: Shop) -> None:
    _gift_product(shop, shop.channel)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(GIFT_SKU, 1)],
        method="ship",
        address={"country": "NL"},
    ).order
    assert order.fulfillments.count() == 0
    assert GiftCard.objects.filter(sold_on__order=order).count() == 1


def test_the_till_sells_a_gift_card_without_stock(shop: Shop) -> None:
    pos = pos_channel_add(shop)
    product = _gift_product(shop, pos)
    catalog_services.price_set(
        variant_id=product.variants.get().pk, channel_code="pos", amount=Decimal("25.00")
    )
    sold = services.sale_record(
        channel_code="pos",
        location_code="ams-central",
        lines=[services.LineInput(GIFT_SKU, 1)],
        payments=[services.PaymentInput("card", Decimal("25.00"))],
        sale_key="till-sell-gift",
    ).order
    assert sold.status == "completed"
    card = GiftCard.objects.get(sold_on__order=sold)
    assert card.balance == Decimal("25.00")


def test_a_till_refuses_a_gift_card_tender_without_its_code(shop: Shop) -> None:
    pos_channel_add(shop)
    shop.receive(shop.amsterdam, shop.s, 1)
    with pytest.raises(OrderInvalid):
        services.sale_record(
            channel_code="pos",
            location_code="ams-central",
            lines=[services.LineInput(TEE, 1)],
            payments=[services.PaymentInput("gift_card", Decimal("19.99"))],
            sale_key="till-no-code",
        )
    assert Order.objects.count() == 0


# --- the API -------------------------------------------------------------------------------------


def _order_body(cards: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "channel": "webshop",
        "lines": [{"sku": TEE, "quantity": 1}],
        "fulfillment": {"method": "ship", "address": {"country": "NL"}},
        "gift_cards": cards,
    }


def test_api_places_an_order_paid_by_gift_card_and_refuses_too_little_balance(
    shop: Shop, api_client: APIClient
) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    issued = _issue("25.00")
    small = _issue("1.00")
    before = _untouched(shop)
    refused = api_client.post(
        "/api/v1/orders/", _order_body([{"code": small.code, "amount": "5.00"}]), format="json"
    )
    assert refused.status_code == 409
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "gift_card_insufficient"
    assert _untouched(shop) == before
    unknown = api_client.post(
        "/api/v1/orders/",
        _order_body([{"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "amount": "5.00"}]),
        format="json",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "gift_card_unknown")
    placed = api_client.post(
        "/api/v1/orders/", _order_body([{"code": issued.code, "amount": "19.99"}]), format="json"
    )
    assert placed.status_code == 201, placed.json()
    assert [p["tender"] for p in placed.json()["payments"]] == ["gift_card"]
    assert GiftCard.objects.get(pk=issued.card.pk).balance == Decimal("5.01")


def test_api_till_sale_takes_a_gift_card(shop: Shop, api_client_for: Callable[..., Any]) -> None:
    pos = pos_channel_add(shop)
    shop.receive(shop.amsterdam, shop.s, 1)
    client = api_client_for(channels=[pos])
    issued = _issue("15.00")
    response = client.post(
        "/api/v1/orders/",
        {
            "channel": "pos",
            "external_id": "TILL-9",
            "lines": [{"sku": TEE, "quantity": 1}],
            "fulfillment": {"method": "carry_out", "location": "ams-central"},
            "payments": [{"tender": "card", "amount": "4.99"}],
            "gift_cards": [{"code": issued.code, "amount": "15.00"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert sorted(p["tender"] for p in response.json()["payments"]) == ["card", "gift_card"]
    assert GiftCard.objects.get(pk=issued.card.pk).balance == 0


def test_api_balance_lookup(shop: Shop, api_client_for: Callable[..., Any]) -> None:
    issued = _issue("40.00")
    client = api_client_for(scopes=["orders:read"])
    response = client.get(f"/api/v1/gift-cards/{issued.code.lower()}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["currency"], body["status"], body["last4"]) == (
        "40.00",
        "EUR",
        "active",
        issued.card.last4,
    )
    assert body["expires_at"]
    missing = client.get("/api/v1/gift-cards/AAAA-AAAA-AAAA-AAAA/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/problem+json")
    assert missing.json()["code"] == "gift_card_unknown"
    no_scope = api_client_for(scopes=["catalog:read"]).get(f"/api/v1/gift-cards/{issued.code}/")
    assert no_scope.status_code == 403


@override_settings(GIFT_CARD_MISS_RATE="3/hour")
def test_repeated_misses_are_throttled_but_hits_do_not_count(
    shop: Shop, api_client_for: Callable[..., Any]
) -> None:
    issued = _issue("40.00")
    client = api_client_for(scopes=["orders:read"])
    for _ in range(5):  # found cards never count
        assert client.get(f"/api/v1/gift-cards/{issued.code}/").status_code == 200
    statuses = [client.get(f"/api/v1/gift-cards/AAAA-AAAA-AAAA-AAA{i}/").status_code for i in "123"]
    assert statuses == [404, 404, 404]
    blocked = client.get(f"/api/v1/gift-cards/{issued.code}/")
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert blocked.has_header("Retry-After")
    # another key is not blocked
    other = api_client_for(scopes=["orders:read"])
    assert other.get(f"/api/v1/gift-cards/{issued.code}/").status_code == 200
