"""The promotions back office with the Django test client: the preview ("this cart would get
..."), generating a batch of codes, the coupon list with its use counts, and the promotion form's
refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from orders.models import Coupon, CouponBatch, Promotion
from orders.services import promotions as promo_services
from tests.factories import UserFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db
PREVIEW = "/admin/orders/promotion/preview/"


def _promotion(shop: Shop, **kwargs: Any) -> Promotion:
    kwargs.setdefault("name", "Summer sale")
    kwargs.setdefault("kind", "percent_off")
    kwargs.setdefault("value", Decimal("10"))
    made = Promotion.objects.create(**kwargs)
    made.channels.set([shop.channel])
    return made


def _preview(client: Client, **params: str) -> Any:
    query = {"channel": "webshop", "lines": "ORGANIC-TEE-S 2\nORGANIC-TEE-M 1", "shipping": "4.95"}
    return client.get(PREVIEW, query | params)


def test_preview_shows_what_the_cart_would_get(shop: Shop, admin_client: Client) -> None:
    _promotion(shop, priority=1)
    _promotion(shop, name="Free shipping", kind="free_shipping", value=Decimal("0"), priority=2)
    response = _preview(admin_client)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This cart would get 6.00 off and 4.95 off shipping" in html
    assert '<td id="preview-total">53.97</td>' in html  # 59.97 - 6.00 + 4.95 - 4.95
    assert "Summer sale (percent_off): 6.00" in html
    assert "Free shipping (free_shipping): 0, shipping 4.95" in html


def test_preview_with_a_coupon_and_its_refusals(shop: Shop, admin_client: Client) -> None:
    promo = _promotion(shop, requires_coupon=True, name="Coupon deal", max_uses=1)
    promo_services.coupon_create(promotion_id=promo.pk, code="DEAL")
    assert "with DEAL: 6.00" in _preview(admin_client, coupons="deal").content.decode()
    html = _preview(admin_client, coupons="NOPE").content.decode()
    assert "(<code>coupon_unknown</code>)" in html
    promo_services.coupon_redeem(
        codes=["DEAL"], order_id=None, customer_id=None, channel_code="webshop"
    )
    assert (
        "(<code>coupon_exhausted</code>)" in _preview(admin_client, coupons="DEAL").content.decode()
    )


def test_preview_refuses_bad_lines(shop: Shop, admin_client: Client) -> None:
    assert "Unknown SKU: NOPE." in _preview(admin_client, lines="NOPE 1").content.decode()
    assert (
        "the quantity is 1 to 999"
        in _preview(admin_client, lines="ORGANIC-TEE-S 0").content.decode()
    )
    assert (
        "write &#x27;SKU quantity&#x27;" in _preview(admin_client, lines="A B C").content.decode()
    )


def test_preview_needs_the_view_permission(shop: Shop, client: Client) -> None:
    user: Any = UserFactory(username="nobody", is_staff=True)
    client.force_login(user)
    assert _preview(client).status_code == 403


def test_generate_codes_form_makes_a_batch(shop: Shop, admin_client: Client) -> None:
    promo = _promotion(shop, requires_coupon=True)
    url = f"/admin/orders/promotion/{promo.pk}/generate-codes/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "code_prefix": "vip",
            "quantity": "25",
            "length": "8",
            "max_uses_per_code": "1",
            "max_uses_per_customer": "1",
            "name": "VIP mailing",
        },
    )
    assert response.status_code == 302
    batch = CouponBatch.objects.get()
    assert (batch.prefix, batch.quantity, batch.coupons.count()) == ("VIP", 25, 25)
    # the promotion page lists the batch; the coupon list shows the codes with their uses
    assert b"VIP mailing" in admin_client.get(f"/admin/orders/promotion/{promo.pk}/change/").content
    listing = admin_client.get(response["Location"])
    assert listing.status_code == 200
    assert listing.content.count(b"VIP-") >= 25


def test_generate_codes_refuses_bad_input_and_writes_nothing(
    shop: Shop, admin_client: Client
) -> None:
    promo = _promotion(shop)
    response = admin_client.post(
        f"/admin/orders/promotion/{promo.pk}/generate-codes/",
        {"code_prefix": "no spaces", "quantity": "0", "length": "8"},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"code_prefix", "quantity"}
    assert Coupon.objects.count() == 0


def test_coupon_list_shows_use_counts(shop: Shop, admin_client: Client) -> None:
    promo = _promotion(shop, requires_coupon=True)
    coupon = promo_services.coupon_create(promotion_id=promo.pk, code="COUNTME", max_uses=3)
    promo_services.coupon_redeem(
        codes=["COUNTME"], order_id=None, customer_id=None, channel_code="webshop"
    )
    response = admin_client.get("/admin/orders/coupon/")
    assert response.status_code == 200
    assert response.context["cl"].result_list[0].uses == 1
    assert admin_client.get(f"/admin/orders/coupon/{coupon.pk}/change/").status_code == 200


def test_coupon_added_in_the_admin_is_upper_case_and_unique(
    shop: Shop, admin_client: Client
) -> None:
    promo = _promotion(shop)
    data = {
        "code": "spring",
        "promotion": promo.pk,
        "is_active": "on",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
    }
    assert admin_client.post("/admin/orders/coupon/add/", data).status_code == 302
    assert Coupon.objects.get().code == "SPRING"
    response = admin_client.post("/admin/orders/coupon/add/", data | {"code": "Spring"})
    assert response.status_code == 200
    assert Coupon.objects.count() == 1


def test_promotion_form_refuses_inconsistent_rules(shop: Shop, admin_client: Client) -> None:
    data = {
        "name": "Bad",
        "kind": "buy_x_get_y",
        "value": "150",
        "target": "products",
        "buy_quantity": "0",
        "get_quantity": "0",
        "threshold": "0",
        "channels": [shop.channel.pk],
        "customer_scope": "consent",
        "min_lifetime_points": "0",
        "consent_purpose": "",
        "priority": "1",
        "is_active": "on",
        "batches-TOTAL_FORMS": "0",
        "batches-INITIAL_FORMS": "0",
    }
    response = admin_client.post("/admin/orders/promotion/add/", data)
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {
        "value",
        "buy_quantity",
        "get_quantity",
        "products",
        "consent_purpose",
    }
    assert Promotion.objects.count() == 0
    good = data | {
        "kind": "percent_off",
        "value": "20",
        "target": "all",
        "customer_scope": "anyone",
    }
    assert admin_client.post("/admin/orders/promotion/add/", good).status_code == 302
    assert Promotion.objects.get().channels.get() == shop.channel
