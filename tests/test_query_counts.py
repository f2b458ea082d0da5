"""The number of queries each hot API request sends, pinned so that it cannot creep back.

Issue 15 (speed): availability, holds and the products list are called on every page view or
cart change. Their query counts are pinned here exactly, once the caller's principal and the
channel's configuration are in the shared cache (the steady state of a running server), and the
cold first request is pinned too, so that a change to the cache shows. A change that adds a query
must change the pin here and say why in docs/benchmarks.md. The order path's pin comes with its
own rework (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from catalog.models import Product
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

# principal: the key with its partner (1), the key's channels (1), the partner's channels (1)
COLD_PRINCIPAL = 3
# channel configuration: the channel (1) and the locations it sells from (1)
COLD_CHANNEL = 2


@pytest.fixture
def client(api_client_for: Any, shop: Any) -> Any:
    return api_client_for(channels=[shop.channel])


def _warm(client: Any) -> None:
    assert client.get("/api/v1/me/").status_code == 200


def test_availability_of_one_sku_is_one_query(client, shop, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    shop.receive(shop.warehouse, shop.m, 5)
    # cold: the principal and the channel are read from the database and cached
    with django_assert_num_queries(COLD_PRINCIPAL + COLD_CHANNEL + 1):
        response = client.get("/api/v1/availability/", {"sku": shop.m.sku})
    assert response.status_code == 200, response.json()
    # warm: the SKUs with their available stock per location of the channel (1)
    with django_assert_num_queries(1):
        response = client.get("/api/v1/availability/", {"sku": shop.m.sku})
    assert response.json()["results"][0]["available"] == 5


def test_availability_of_ten_skus_is_the_same_one_query(  # type: ignore[no-untyped-def]
    client, shop, django_assert_num_queries
) -> None:
    skus = [shop.s.sku, shop.m.sku, shop.l.sku] + [VariantFactory().sku for _ in range(7)]
    shop.receive(shop.warehouse, shop.s, 2)
    _warm(client)
    client.get("/api/v1/availability/", {"sku": shop.s.sku})  # the channel is cached
    with django_assert_num_queries(1):
        response = client.get("/api/v1/availability/", {"sku": ",".join(skus)})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 10 and body["unknown_skus"] == []
    assert body["results"][0] == {**body["results"][0], "sku": shop.s.sku, "available": 2}


def test_a_hold_has_a_fixed_number_of_queries(client, shop, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    shop.receive(shop.warehouse, shop.m, 5)
    _warm(client)

    def hold(n: int) -> Any:
        return client.post(
            "/api/v1/stock/holds/",
            {
                "reference": f"cart-{n}",
                "lines": [{"location": shop.warehouse.code, "sku": shop.m.sku, "quantity": 1}],
            },
            format="json",
        )

    # SKU and location lookups, then the service: lock the level, sum its live holds, insert the
    # hold, read the variant's availability, the outbox sequence and event; savepoints included.
    with django_assert_num_queries(HOLD_QUERIES):
        assert hold(1).status_code == 201
    with django_assert_num_queries(HOLD_QUERIES):  # the same for the next one
        assert hold(2).status_code == 201


HOLD_QUERIES = 11  # the same on SQLite and PostgreSQL


def test_products_list_does_not_grow_with_the_page(  # type: ignore[no-untyped-def]
    client, shop, django_assert_num_queries
) -> None:
    from catalog import services as catalog_services
    from tests.catalog.factories import complete_product

    _warm(client)
    client.get("/api/v1/products/", {"limit": 1})  # the channel is cached
    with django_assert_num_queries(PRODUCTS_QUERIES):
        one = client.get("/api/v1/products/", {"limit": 50})
    assert one.status_code == 200 and len(one.json()["results"]) == 1
    for n in range(4):
        product = complete_product(shop.channel, name=f"Pinned Tee {n}", sizes=("s", "m"))
        catalog_services.product_submit(product_ids=[product.pk])
        catalog_services.product_approve(product_ids=[product.pk])
        catalog_services.product_publish(product_ids=[product.pk], channel_code=shop.channel.code)
    assert Product.objects.count() == 5
    # the four new products' content is not cached yet: one more query for their snapshots
    with django_assert_num_queries(PRODUCTS_QUERIES + 1):
        five = client.get("/api/v1/products/", {"limit": 50})
    assert len(five.json()["results"]) == 5
    with django_assert_num_queries(PRODUCTS_QUERIES):
        assert client.get("/api/v1/products/", {"limit": 50}).json() == five.json()


# the page of publications (1), then price and availability of its variants (1); the channel's
# promotion rules come from the cache (orders.promotions.channel_rules; 2 more when a sale runs,
# tests/channels/test_read_api_money_show.py) and each product's channel content from the
# shared cache (storefront.api.channel_views)
PRODUCTS_QUERIES = 2


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_name_search_is_served_by_the_trigram_index(shop) -> None:  # type: ignore[no-untyped-def]
    """A plain ``name__icontains`` filter (admin filters and lookups outside the ranked search of
    ``catalog.search``) is served on PostgreSQL by a trigram index. The translations rewrite a
    filter on ``name`` to the English column, ``name_en``, served by ``catalog.0014``."""
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is scanned otherwise
            # nor walked in name order through the (name, id) index, filtering every row
            cursor.execute("SET LOCAL enable_indexscan = off")
        plan = Product.objects.filter(name__icontains="tee").explain()
    assert "catalog_product_name_en_upper_trgm" in plan, plan
