"""The products API keeps each product's channel content in the shared cache
(``storefront.api.channel_views``): it must never serve a stale price, title, image, listing or
stock, and what it renders must be exactly what ``ChannelProductSerializer`` renders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import RequestFactory
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog import services as catalog
from catalog.models import ChannelContentRule, Price, Product, ProductMedia
from config import roles
from core.models import Channel
from inventory import selectors as inventory_selectors
from inventory.models import StockHold, StockLevel
from inventory.services import MovementInput, stock_movements_apply
from storefront.api import channel_views
from storefront.api.serializers import ChannelProductSerializer
from tests.catalog.factories import complete_product, image_upload
from tests.factories import ChannelFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _user(role: str) -> User:
    user: Any = UserFactory(username=role.lower().replace(" ", "-"))
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff() -> dict[str, User]:
    return {"merch": _user(roles.MERCHANDISER), "approver": _user(roles.CATALOG_APPROVER)}


@pytest.fixture
def webshop() -> Any:
    channel: Any = ChannelFactory(code="webshop")
    channel.locations.add(LocationFactory(code="st-1"), LocationFactory(code="st-2"))
    return channel


@pytest.fixture
def client(api_client_for: Any, webshop: Channel) -> Any:
    return api_client_for(scopes=["catalog:read"], channels=[webshop])


def live(channel: Channel, staff: dict[str, User], name: str, **kwargs: Any) -> Product:
    product = complete_product(channel, name=name, **kwargs)
    catalog.product_submit(product_ids=[product.id], user=staff["merch"])
    catalog.product_approve(product_ids=[product.id], user=staff["approver"])
    catalog.product_publish(
        product_ids=[product.id], channel_code=channel.code, user=staff["merch"]
    )
    return product


def reapprove(product: Product, staff: dict[str, User]) -> None:
    product.refresh_from_db()
    if product.status == Product.Status.APPROVED:  # an edit that did not reopen the review
        Product.objects.filter(pk=product.pk).update(status=Product.Status.IN_REVIEW)
    elif product.status != Product.Status.IN_REVIEW:
        catalog.product_submit(product_ids=[product.id], user=staff["merch"])
    catalog.product_approve(product_ids=[product.id], user=staff["approver"])


def receive(channel: Channel, sku: str, quantity: int, location_index: int = 0) -> None:
    from catalog.models import Variant

    location = channel.locations.order_by("code")[location_index]
    stock_movements_apply(
        movements=[
            MovementInput(
                variant_id=Variant.objects.get(sku=sku).id,
                location_id=location.id,
                kind="receipt",
                quantity=quantity,
            )
        ]
    )


def variants(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["sku"]: v for product in body["results"] for v in product["variants"]}


def listed(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/products/", {"limit": 50})
    assert response.status_code == 200, response.json()
    return dict(response.json())


def test_the_dicts_are_what_the_serializer_renders(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    """Old path (product_views + the serializer + channel_availability) against the new one,
    with a promotion, a compare-at price, a variant without price, a buffer, holds and stock on
    two locations."""
    ChannelContentRule.objects.create(
        channel=webshop, title_template="{brand} {name} {size}", title_max_length=20
    )
    webshop.stock_buffer_kind = Channel.BufferKind.PERCENT
    webshop.stock_buffer_value = Decimal("10")
    webshop.save()
    tee = live(webshop, staff, "Organic Tee", sizes=("s", "m", "l"))
    live(webshop, staff, "Linen Shirt")
    small, medium, large = (tee.variants.get(sku=f"ORGANIC-TEE-{s}") for s in "SML")
    now = timezone.now()
    catalog.price_set(
        variant_id=small.id,
        channel_code="webshop",
        amount="14.50",
        compare_at_amount="19.99",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    Price.objects.filter(variant=large).delete()
    receive(webshop, small.sku, 7)
    receive(webshop, small.sku, 5, location_index=1)
    receive(webshop, medium.sku, 3)
    level = StockLevel.objects.get(variant=small, location__code="st-1")
    StockHold.objects.create(
        stock=level, quantity=2, reference="cart-1", expires_at=now + timedelta(minutes=5)
    )
    StockHold.objects.create(
        stock=level, quantity=4, reference="cart-0", expires_at=now - timedelta(minutes=5)
    )

    for _round in range(2):  # cold, then from the cache
        body = listed(client)
        request = RequestFactory().get("/api/v1/products/")
        channel = inventory_selectors.channel_get(code="webshop", visible_codes=None)
        assert channel is not None
        views = catalog_selectors.product_views(
            channel_code="webshop", product_ids=[p["id"] for p in body["results"]]
        )
        skus = [v.sku for view in views for v in view.variants]
        results, _ = inventory_selectors.channel_availability(channel=channel, skus=skus)
        context = {"request": request, "available": {r.sku: r.available for r in results}}
        expected = ChannelProductSerializer(views, many=True, context=context).data
        assert body["results"] == [dict(p) for p in expected]
        assert [list(p) for p in body["results"]] == [list(p) for p in expected]  # key order
        detail = client.get(f"/api/v1/products/{tee.id}/").json()
        assert detail == next(p for p in body["results"] if p["id"] == tee.id)
    shown = variants(body)
    assert shown[small.sku]["price"] == {
        "amount": "14.50",
        "compare_at_amount": "19.99",
        "currency": webshop.currency,
        "sale_amount": None,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "includes_tax": True,
    }
    assert shown[small.sku]["available"] == 9  # 7 - 2 held + 5 = 10, minus a 10 % buffer
    assert shown[large.sku]["price"] is None
    assert shown[small.sku]["title"] == "Acme Organic Tee s"  # raw option codes, as ever


def test_a_price_change_shows_at_once(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    tee = live(webshop, staff, "Organic Tee")
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"]["amount"] == "19.99"
    variant = tee.variants.get(sku="ORGANIC-TEE-S")
    catalog.price_set(variant_id=variant.id, channel_code="webshop", amount="17.00")
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"]["amount"] == "17.00"
    # even a change that bypasses the services (no publication timestamp moves)
    Price.objects.filter(variant=variant).update(amount=Decimal("16.00"))
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"]["amount"] == "16.00"
    assert client.get(f"/api/v1/products/{tee.id}/").json()["variants"][0]["price"] == {
        "amount": "16.00",
        "compare_at_amount": None,
        "currency": webshop.currency,
        "sale_amount": None,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "includes_tax": True,
    }


def test_a_scheduled_promotion_starts_and_ends_without_a_write(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    tee = live(webshop, staff, "Organic Tee")
    variant = tee.variants.get(sku="ORGANIC-TEE-S")
    now = timezone.now()
    catalog.price_set(
        variant_id=variant.id,
        channel_code="webshop",
        amount="9.99",
        compare_at_amount="19.99",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
    )
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"]["amount"] == "19.99"
    promotion = Price.objects.filter(variant=variant, starts_at__isnull=False)
    # time passes: the promotion is running now (moved with update(), so nothing is signalled)
    promotion.update(starts_at=now - timedelta(minutes=1))
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"] == {
        "amount": "9.99",
        "compare_at_amount": "19.99",
        "currency": webshop.currency,
        "sale_amount": None,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "includes_tax": True,
    }
    promotion.update(ends_at=now - timedelta(seconds=1))  # and over
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"]["amount"] == "19.99"


def test_a_new_approval_changes_title_content_and_images(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    tee = live(webshop, staff, "Organic Tee")
    before = listed(client)["results"][0]
    assert before["title"] == "Organic Tee" and len(before["images"]) == 1

    catalog.product_update(product=tee, name="Renamed Tee", user=staff["merch"])
    assert listed(client)["results"][0]["title"] == "Organic Tee"  # in review: not yet
    reapprove(tee, staff)
    after = listed(client)["results"][0]
    assert after["title"] == "Renamed Tee"
    assert after["version"] != before["version"]

    catalog.channel_content_set(
        product_id=tee.id, channel_code="webshop", title="Webshop Tee", user=staff["merch"]
    )
    reapprove(tee, staff)
    assert listed(client)["results"][0]["title"] == "Webshop Tee"

    ProductMedia.objects.create(
        product=tee, image=image_upload(), alt_text="back", status=ProductMedia.Status.READY
    )
    reapprove(tee, staff)
    images = listed(client)["results"][0]["images"]
    assert [i["alt_text"] for i in images] == ["Organic Tee front", "back"]
    assert client.get(f"/api/v1/products/{tee.id}/").json()["images"] == images


def test_a_title_rule_change_shows_at_once(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    live(webshop, staff, "Organic Tee")
    assert listed(client)["results"][0]["title"] == "Organic Tee"
    rule = ChannelContentRule.objects.create(channel=webshop, title_template="{brand} {name}")
    assert listed(client)["results"][0]["title"] == "Acme Organic Tee"
    ChannelContentRule.objects.filter(pk=rule.pk).update(title_max_length=8)  # no signal
    body = listed(client)
    assert body["results"][0]["title"] == "Acme Org"
    assert {v["title"] for v in body["results"][0]["variants"]} == {"Acme Org"}
    rule.delete()
    assert listed(client)["results"][0]["title"] == "Organic Tee"


def test_stock_and_holds_are_never_cached(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    live(webshop, staff, "Organic Tee")
    assert variants(listed(client))["ORGANIC-TEE-M"]["available"] == 0
    receive(webshop, "ORGANIC-TEE-M", 6)
    assert variants(listed(client))["ORGANIC-TEE-M"]["available"] == 6
    level = StockLevel.objects.get(variant__sku="ORGANIC-TEE-M", location__code="st-1")
    StockHold.objects.create(
        stock=level, quantity=4, reference="cart", expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert variants(listed(client))["ORGANIC-TEE-M"]["available"] == 2
    StockLevel.objects.filter(pk=level.pk).update(safety_stock=5)
    assert variants(listed(client))["ORGANIC-TEE-M"]["available"] == 0


def test_unpublished_and_archived_products_leave_at_once(client, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    tee = live(webshop, staff, "Organic Tee")
    shirt = live(webshop, staff, "Linen Shirt")
    assert len(listed(client)["results"]) == 2
    catalog.product_unpublish(product_ids=[tee.id], channel_code="webshop", user=staff["merch"])
    assert [p["id"] for p in listed(client)["results"]] == [shirt.id]
    assert client.get(f"/api/v1/products/{tee.id}/").status_code == 404
    Product.objects.filter(pk=shirt.pk).update(status=Product.Status.ARCHIVED)
    assert listed(client)["results"] == []


def test_the_content_is_served_from_the_cache(  # type: ignore[no-untyped-def]
    client, webshop, staff, django_assert_num_queries
) -> None:
    for n in range(3):
        live(webshop, staff, f"Tee {n}")
    client.get("/api/v1/products/", {"limit": 1})  # the principal, the channel and Tee 0 cached
    # listings, the two missing snapshots, price and stock (the promotion rules: cached)
    with django_assert_num_queries(3):
        cold = listed(client)
    with django_assert_num_queries(2):  # listings, price and stock
        warm = listed(client)
    assert warm == cold and len(warm["results"]) == 3


def test_an_unreachable_cache_serves_from_the_database(  # type: ignore[no-untyped-def]
    client, webshop, staff, monkeypatch
) -> None:
    live(webshop, staff, "Organic Tee")
    expected = listed(client)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(channel_views.cache, "get_many", down)
    monkeypatch.setattr(channel_views.cache, "set_many", down)
    assert listed(client) == expected
    catalog.price_set(
        variant_id=Product.objects.get().variants.get(sku="ORGANIC-TEE-S").id,
        channel_code="webshop",
        amount="12.00",
    )
    assert variants(listed(client))["ORGANIC-TEE-S"]["price"]["amount"] == "12.00"


def test_availability_dicts_are_what_the_serializer_renders(  # type: ignore[no-untyped-def]
    api_client_for, webshop, staff
) -> None:
    from storefront.api.serializers import AvailabilityResponseSerializer

    live(webshop, staff, "Organic Tee")
    first, _second = webshop.locations.order_by("code")
    first.latitude, first.longitude, first.offers_pickup = 52.37, 4.89, True
    first.save()
    receive(webshop, "ORGANIC-TEE-S", 3)
    receive(webshop, "ORGANIC-TEE-S", 2, location_index=1)
    client = api_client_for(scopes=["stock:read"], channels=[webshop])
    skus = ["ORGANIC-TEE-S", "ORGANIC-TEE-M", "NOPE", "ORGANIC-TEE-S"]
    for near in (None, "52.0,4.0"):
        params = {"sku": ",".join(skus), **({"near": near} if near else {})}
        body = client.get("/api/v1/availability/", params).json()
        channel = inventory_selectors.channel_get(code="webshop", visible_codes=None)
        assert channel is not None
        point = tuple(float(x) for x in near.split(",")) if near else None
        results, unknown = inventory_selectors.channel_availability(
            channel=channel,
            skus=skus,
            near=point,  # type: ignore[arg-type]
        )
        expected = AvailabilityResponseSerializer(
            {"channel": "webshop", "results": results, "unknown_skus": unknown}
        ).data
        assert body == expected
        assert [r["available"] for r in body["results"]] == [5, 0]
        assert body["unknown_skus"] == ["NOPE"]
