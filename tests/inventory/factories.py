"""Factories for inventory tests: products and variants to hold stock of."""

from __future__ import annotations

import factory

from catalog.models import Product, Variant


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    handle = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    options = factory.Sequence(lambda n: {"size": str(n)})
