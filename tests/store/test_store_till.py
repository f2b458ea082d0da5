"""The customer at the till: find by phone, e-mail or card, redeem points earned on the web."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from customers import selectors as customer_selectors
from customers import services as customers

pytestmark = pytest.mark.django_db


def test_points_earned_online_are_redeemed_in_store_once(shop: dict[str, Any]) -> None:
    customer = customers.customer_resolve(
        email="eva@example.com", phone="+31 6 12345678", name="Eva de Vries", channel_code="webshop"
    ).customer
    customers.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("250.00"),
        currency="EUR",
        channel_code="webshop",
        reference="order-1",
    )
    client = Client()
    client.force_login(shop["associate"])
    page = client.get(reverse("store:till"), {"q": "0612345678"}).content.decode()
    assert "Eva de Vries" in page and 'data-testid="balance">250<' in page
    form = {"customer": customer.pk, "points": 100, "reference": "form-1", "q": "0612345678"}
    redeemed = client.post(reverse("store:till"), form, follow=True).content.decode()
    assert "100 points redeemed: give a discount of 1.00." in redeemed
    client.post(reverse("store:till"), form)  # pressed twice: the same redemption
    assert customer_selectors.loyalty_balance(customer_id=customer.pk) == 150
    too_many = client.post(
        reverse("store:till"), {**form, "points": 500, "reference": "form-2"}, follow=True
    )
    assert "error" in too_many.content.decode()
    assert customer_selectors.loyalty_balance(customer_id=customer.pk) == 150
