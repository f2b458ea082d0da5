"""The request examples in the OpenAPI schema work against the demo data (``./run``).

A partner's first call is usually a copied example: every SKU, location and channel an example
names exists in the demo, and the order examples place real orders with the demo key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import Variant
from core.models import Channel
from demo import seed as demo
from inventory.models import Location

pytestmark = pytest.mark.django_db

_SKU_KEYS = {"sku", "return_sku", "new_sku"}
# Operations whose body names what it creates: that name is new, so not in the demo.
_CREATES = {("/api/v1/catalog/products/{handle}/variants/", "post"): "sku"}
VARIANTS = "/api/v1/catalog/products/{handle}/variants/"


def _examples(schema: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            for media in content.values():
                for name, example in (media.get("examples") or {}).items():
                    yield path, method, name, example["value"]


def _named(value: Any, keys: set[str]) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                yield item
            yield from _named(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _named(item, keys)


@pytest.fixture
def demo_schema(client: Any) -> dict[str, Any]:
    call_command("seed_demo", verbosity=0)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_every_example_names_demo_skus_locations_and_channels(demo_schema) -> None:
    examples = list(_examples(demo_schema))
    assert examples, "the schema has request examples"
    skus = set(Variant.objects.values_list("sku", flat=True))
    locations = set(Location.objects.values_list("code", flat=True))
    channels = set(Channel.objects.values_list("code", flat=True))
    missing = []
    for path, method, name, value in examples:
        if (path, method) in _CREATES:
            value = {k: v for k, v in value.items() if k != _CREATES[path, method]}
        missing += [(path, name, s) for s in _named(value, _SKU_KEYS) if s not in skus]
        missing += [(path, name, c) for c in _named(value, {"location"}) if c not in locations]
        missing += [(path, name, c) for c in _named(value, {"channel"}) if c not in channels]
    assert missing == []


def test_the_order_examples_place_orders_with_the_demo_key(demo_schema, client) -> None:
    placed = []
    for path, method, name, value in _examples(demo_schema):
        if path != "/api/v1/orders/" or method != "post":
            continue
        response = client.post(
            path,
            value,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {demo.DEMO_KEYS['demo-webshop']}",
        )
        assert response.status_code == 201, (name, response.json())
        placed.append(response.json()["number"])
    assert len(placed) >= 2


def test_the_catalog_write_examples_create_a_product_and_its_variant(demo_schema, client) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {demo.DEMO_KEYS['demo-webshop']}"}
    examples = {(path, method): value for path, method, _, value in _examples(demo_schema)}
    product = examples["/api/v1/catalog/products/", "post"]
    created = client.post(
        "/api/v1/catalog/products/", product, content_type="application/json", **auth
    )
    assert created.status_code == 201, created.json()
    variant = examples[VARIANTS, "post"]
    assert not Variant.objects.filter(sku=variant["sku"]).exists()
    added = client.post(
        VARIANTS.format(handle=product["handle"]),
        variant,
        content_type="application/json",
        **auth,
    )
    assert added.status_code == 201, added.json()
