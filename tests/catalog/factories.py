"""Catalog test data: a product type with typed attributes, products ready for a channel, images."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import (
    Attribute,
    AttributeOption,
    Category,
    Product,
    ProductMedia,
    ProductType,
    ProductTypeAttribute,
)
from core.models import Channel


def png_bytes(size: tuple[int, int] = (64, 48), color: str = "navy", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def image_upload(name: str = "shirt.png", **kwargs: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    handle = factory.Sequence(lambda n: f"style-{n}")
    name = factory.Sequence(lambda n: f"Style {n}")


def apparel_type(*, required_for: list[Channel] = ()) -> ProductType:  # type: ignore[assignment]
    """T-shirts: size and colour are variant axes; material is required on ``required_for``."""
    product_type, _ = ProductType.objects.get_or_create(
        code="t-shirt", defaults={"name": "T-shirt"}
    )
    size, _ = Attribute.objects.get_or_create(
        code="size", defaults={"name": "Size", "kind": "select"}
    )
    color, _ = Attribute.objects.get_or_create(
        code="color", defaults={"name": "Colour", "kind": "select"}
    )
    material, _ = Attribute.objects.get_or_create(
        code="material", defaults={"name": "Material", "kind": "text"}
    )
    Attribute.objects.get_or_create(
        code="sleeve_length", defaults={"name": "Sleeve length", "kind": "number", "unit": "cm"}
    )
    for position, (code, label) in enumerate([("s", "S"), ("m", "M"), ("l", "L")]):
        AttributeOption.objects.get_or_create(
            attribute=size, code=code, defaults={"label": label, "position": position}
        )
    for code, label in [("navy", "Navy"), ("white", "White")]:
        AttributeOption.objects.get_or_create(attribute=color, code=code, defaults={"label": label})
    ProductTypeAttribute.objects.get_or_create(
        product_type=product_type,
        attribute=size,
        defaults={"level": "variant", "is_variant_axis": True},
    )
    ProductTypeAttribute.objects.get_or_create(
        product_type=product_type,
        attribute=color,
        defaults={"level": "variant", "is_variant_axis": True},
    )
    type_material, _ = ProductTypeAttribute.objects.get_or_create(
        product_type=product_type, attribute=material, defaults={"level": "product"}
    )
    ProductTypeAttribute.objects.get_or_create(
        product_type=product_type,
        attribute=Attribute.objects.get(code="sleeve_length"),
        defaults={"level": "product"},
    )
    type_material.required_for.add(*required_for)
    return product_type


def category() -> Category:
    existing = Category.objects.filter(full_name="Apparel & Accessories").first()
    return existing or Category.objects.add_root(
        {"name": "Apparel & Accessories", "full_name": "Apparel & Accessories", "google_id": 166}
    )


def complete_product(
    channel: Channel,
    *,
    name: str = "Organic Tee",
    sizes: tuple[str, ...] = ("s", "m"),
    price: str = "19.99",
) -> Product:
    """A t-shirt with everything ``channel`` needs: description, category, material, an image,
    and a price for every variant. Still a draft."""
    product_type = apparel_type(required_for=[channel])
    product = services.product_create(
        handle=name.lower().replace(" ", "-"),
        name=name,
        brand="Acme",
        description="Soft organic cotton.",
        category=category(),
        product_type=product_type,
        attributes={"material": "Cotton"},
    )
    for index, size in enumerate(sizes):
        variant = services.variant_save(
            product=product,
            sku=f"{product.handle.upper()}-{size.upper()}",
            options={"size": size, "color": "navy"},
            position=index,
        )
        services.price_set(variant_id=variant.id, channel_code=channel.code, amount=Decimal(price))
    ProductMedia.objects.create(
        product=product,
        image=image_upload(),
        alt_text=f"{name} front",
        status=ProductMedia.Status.READY,
    )
    services.completeness_refresh(product_ids=[product.id])
    product.refresh_from_db()
    return product
