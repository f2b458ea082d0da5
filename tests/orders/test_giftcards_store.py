"""Gift cards on the store page and in the admin: check a balance, issue a card (needs the redeem
permission too), pay at the till partly by gift card; the admin issues a card and shows its
ledger."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from inventory import services as inventory_services
from orders import services
from orders.models import GiftCard, GiftCardEntry, Order
from store import permissions as perm
from tests.factories import UserFactory
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

PAGE = "/store/gift-cards/"
TILL = "/store/till/"


def _associate(shop: Shop, *, group: str = "Store associate", username: str = "sam") -> Client:
    user: User = UserFactory(username=username, is_staff=False)  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name=group))
    inventory_services.staff_member_assign(user_id=user.pk, location=shop.amsterdam)
    client = Client()
    client.force_login(user)
    return client


def test_an_associate_checks_a_balance_and_issues_a_card(shop: Shop) -> None:
    pos_channel_add(shop)
    client = _associate(shop)
    issued = services.giftcard_issue(amount=Decimal("30.00"), currency="EUR")
    page = client.get(PAGE, {"code": issued.code.lower()}).content.decode()
    assert 'data-testid="gift-balance"' in page and "30.00 EUR" in page
    assert issued.card.last4 in page
    missing = client.get(PAGE, {"code": "AAAA-BBBB-CCCC-DDDD"}).content.decode()
    assert 'data-testid="gift-error"' in missing
    response = client.post(PAGE + "issue/", {"amount": "15.00", "note": "goodwill"})
    assert response.status_code == 200
    code = re.search(r'data-testid="gift-code">([A-Z0-9-]+)<', response.content.decode())
    assert code is not None
    card = GiftCard.objects.exclude(pk=issued.card.pk).get()
    assert (card.balance, card.currency, card.actor_name) == (Decimal("15.00"), "EUR", "store:sam")
    assert services.giftcard_balance(code=code.group(1)).balance == Decimal("15.00")


def test_issuing_needs_the_redeem_permission(shop: Shop) -> None:
    pos_channel_add(shop)
    sellers = Group.objects.create(name="Sellers only")
    app, codename = perm.SELL.split(".")
    sellers.permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client = _associate(shop, group="Sellers only", username="ann")
    assert client.get(PAGE).status_code == 200
    assert 'data-testid="gift-issue"' not in client.get(PAGE).content.decode()
    assert client.post(PAGE + "issue/", {"amount": "15.00"}).status_code == 403
    assert GiftCard.objects.count() == 0


def test_the_till_takes_a_gift_card_then_the_rest_by_card(shop: Shop) -> None:
    pos_channel_add(shop)
    shop.receive(shop.amsterdam, shop.m, 2)
    client = _associate(shop)
    issued = services.giftcard_issue(amount=Decimal("25.00"), currency="EUR")
    client.post(TILL, {"action": "add", "code": "ORGANIC-TEE-M", "quantity": 2})
    client.post(TILL, {"action": "gift_card", "code": issued.code})
    page = client.get(TILL).content.decode()
    assert f'data-testid="gift-card-{issued.card.last4}"' in page
    assert 'data-testid="due">14.98 EUR<' in page  # 39.98 - 25.00
    response = client.post(
        TILL, {"action": "pay", "tender": "card", "amount": "14.98", "reference": "T-1"}
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert sorted((p.tender, p.amount) for p in order.payments.all()) == [
        ("card", Decimal("14.98")),
        ("gift_card", Decimal("25.00")),
    ]
    assert GiftCard.objects.get(pk=issued.card.pk).balance == 0


def test_the_admin_issues_a_card_and_shows_its_ledger(shop: Shop, admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/orders/giftcard/issue/", {"amount": "20.00", "currency": "EUR"}
    )
    assert response.status_code == 200
    match = re.search(r'class="gift-card-code">([A-Z0-9-]+)<', response.content.decode())
    assert match is not None
    card = GiftCard.objects.get()
    assert card.balance == Decimal("20.00")
    assert services.giftcard_balance(code=match.group(1)).balance == Decimal("20.00")
    listing = admin_client.get("/admin/orders/giftcard/").content.decode()
    assert card.last4 in listing and "Issue a gift card" in listing
    detail = admin_client.get(f"/admin/orders/giftcard/{card.pk}/change/")
    assert detail.status_code == 200 and "Issued" in detail.content.decode()
    admin_client.post(
        "/admin/orders/giftcard/",
        {"action": "disable_cards", "_selected_action": [card.pk]},
    )
    card.refresh_from_db()
    assert card.status == "disabled"
    assert GiftCardEntry.objects.filter(card=card).count() == 1
