"""The number of queries `POST /api/v1/orders/` sends, pinned so that it cannot creep back (issue
15, "The order path takes far fewer queries"; docs/benchmarks.md, "Orders").

Measured through the API with a real key, once the key's principal and the channel's
configuration are in the shared cache (the steady state of a running server), for a new customer
email each time. The count does not grow with the lines: the offers are one query, the stock of
every candidate location is locked in one statement and committed in one, and every table with
several rows is written with one insert. A change that adds a query must change the pin here and
say why in docs/benchmarks.md.

What one ship order sends (PostgreSQL and SQLite alike; the savepoints are the test's
transaction standing in for BEGIN/COMMIT):

- Idempotency-Key claimed (savepoint, insert, release) and completed (update): 4;
- the offers, prices and channel content rule of every SKU: 1;
- the order's transaction (savepoint, release): 2;
- a new customer resolved (``customers.services.customer_resolve``, with its savepoint): 9
  (a customer just inserted is not saved a second time);
- the stock: the candidate levels locked (1), the live holds summed (1), ``committed`` updated (1),
  ``stock.changed`` (sequence lock, figures, sequence, event: 4): 7;
- the price (``orders.pricing.basket_price``, under the locks): the channel's prices (1), the
  running promotions (1 when none runs; customer facts, products and categories only when one
  does), the tax classes and the country's rates (2): 4;
- the order, its lines, tax lines, fulfilments, fulfilment lines, payment, timeline: 7;
- ``order.created`` (sequence, event): 2;
- the confirmation email, queued as a pending notification in the same transaction (the
  outbox the worker sends from): 1.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import StockLevel
from orders.models import FulfillmentLine, Order, TimelineEvent
from tests.shop import Shop

pytestmark = pytest.mark.django_db

# +4 since the order is priced by ``orders.pricing.basket_price`` under the locks (issue 17):
# the prices, the tax classes, the country's rates, the order's tax lines (one insert); the
# channel's promotion rules come from the cache (``orders.promotions.channel_rules``)
ORDER_QUERIES = {"sqlite": 36, "postgresql": 36}
# a known customer: the identifier lookup and the channel link only, no new customer rows
ORDER_QUERIES_KNOWN_CUSTOMER = {"sqlite": 32, "postgresql": 32}


@pytest.fixture
def client(api_client_for: Any, shop: Shop) -> Any:
    client = api_client_for(channels=[shop.channel])
    assert client.get("/api/v1/me/").status_code == 200  # the principal is cached
    return client


def _order(client: Any, n: int, lines: list[tuple[str, int]], email: str = "") -> Any:
    return client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "customer": {"email": email or f"shopper-{n}@example.com"},
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
            "fulfillment": {"method": "ship", "address": {"country": "NL"}},
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"order-{n}",
    )


def _pinned(counts: dict[str, int]) -> int:
    return counts[connection.vendor]


def test_a_one_line_ship_order_has_a_fixed_number_of_queries(client: Any, shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.m, 10)
    assert _order(client, 0, [(shop.m.sku, 1)]).status_code == 201  # the channel is cached

    for n in (1, 2):  # the same for every new customer
        with CaptureQueriesContext(connection) as queries:
            response = _order(client, n, [(shop.m.sku, 1)])
        assert response.status_code == 201, response.json()
        assert len(queries) == _pinned(ORDER_QUERIES), [q["sql"][:90] for q in queries]
    # nothing read back: no SELECT of the order, its lines or fulfilments after they were written
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert 'FROM "orders_order"' not in sql and 'FROM "orders_fulfillment"' not in sql
    assert shop.level(shop.warehouse, shop.m) == (10, 3)


def test_a_known_customer_costs_fewer_queries(client: Any, shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.m, 10)
    assert _order(client, 0, [(shop.m.sku, 1)], email="ann@example.com").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = _order(client, 1, [(shop.m.sku, 1)], email="ann@example.com")
    assert response.status_code == 201, response.json()
    assert len(queries) == _pinned(ORDER_QUERIES_KNOWN_CUSTOMER), [q["sql"][:90] for q in queries]


def test_three_lines_from_two_locations_cost_what_one_line_costs(client: Any, shop: Shop) -> None:
    # S and M in the warehouse, L only in the Amsterdam store: two parcels, three lines
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.warehouse, shop.m, 5)
    shop.receive(shop.amsterdam, shop.l, 5)
    assert _order(client, 0, [(shop.m.sku, 1)]).status_code == 201

    lines = [(shop.s.sku, 2), (shop.m.sku, 1), (shop.l.sku, 3)]
    with CaptureQueriesContext(connection) as queries:
        response = _order(client, 1, lines)
    assert response.status_code == 201, response.json()
    assert len(queries) == _pinned(ORDER_QUERIES), [q["sql"][:90] for q in queries]

    body = response.json()
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == lines
    parcels = {
        f["location"]: sorted((x["sku"], x["quantity"]) for x in f["lines"])
        for f in body["fulfillments"]
    }
    assert parcels == {
        shop.warehouse.code: [(shop.m.sku, 1), (shop.s.sku, 2)],
        shop.amsterdam.code: [(shop.l.sku, 3)],
    }
    order = Order.objects.get(number=body["number"])
    assert FulfillmentLine.objects.filter(fulfillment__order=order).count() == 3
    assert list(order.timeline.values_list("kind", flat=True)) == [
        TimelineEvent.Kind.PLACED,
        TimelineEvent.Kind.PAYMENT_RECORDED,
    ]
    levels = {
        (lv.location_id, lv.variant_id): lv.committed
        for lv in StockLevel.objects.filter(committed__gt=0)
    }
    assert levels == {
        (shop.warehouse.pk, shop.s.pk): 2,
        (shop.warehouse.pk, shop.m.pk): 2,
        (shop.amsterdam.pk, shop.l.pk): 3,
    }


def test_the_answer_without_read_back_is_the_order_as_stored(client: Any, shop: Shop) -> None:
    """The 201 body is built from the rows just written; it is what a later GET returns."""
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.amsterdam, shop.l, 5)
    created = _order(client, 1, [(shop.s.sku, 1), (shop.l.sku, 2)])
    assert created.status_code == 201, created.json()
    fetched = client.get(f"/api/v1/orders/{created.json()['number']}/")
    assert fetched.status_code == 200
    assert created.json() == fetched.json()
    assert len(created.json()["fulfillments"]) == 2 and len(created.json()["payments"]) == 1
