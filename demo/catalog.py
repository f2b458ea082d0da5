"""Deterministic demo products and variants, sized for trying the app (small) or for benchmarks
(large: 20,000 products, 100,000 variants).

Products are written in batches through ``core.bulk`` (``COPY`` on PostgreSQL, ``bulk_create``
elsewhere): the large dataset has to load in minutes, and per-row service calls (with their
history rows and validation queries) would take an hour.
Everything written here is what ``catalog.services`` would write for a new draft product; GTINs
carry valid check digits and option values are unique within each product.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw

from catalog.models import (
    Attribute,
    AttributeOption,
    Category,
    Price,
    Product,
    ProductMedia,
    ProductPublication,
    ProductType,
    ProductTypeAttribute,
    Variant,
)
from core import bulk

SIZES = {
    "small": (60, 5),  # products, variants per product
    "large": (20_000, 5),
}
BATCH = 2_000


@dataclass(frozen=True)
class Family:
    google_id: int
    nouns: tuple[str, ...]
    axis: str
    values: tuple[str, ...]
    grams: int
    price: Decimal = Decimal("49.95")
    material: str = "Cotton"


FAMILIES = [
    Family(
        212,
        ("Oxford Shirt", "Linen Shirt", "Polo", "Crew Tee", "Henley"),
        "size",
        ("XS", "S", "M", "L", "XL"),
        250,
    ),
    Family(
        204,
        ("Chino", "Slim Jeans", "Cargo Pants", "Wide Trousers"),
        "size",
        ("28", "30", "32", "34", "36"),
        600,
    ),
    Family(
        2271,
        ("Wrap Dress", "Shirt Dress", "Maxi Dress"),
        "size",
        ("34", "36", "38", "40", "42"),
        400,
    ),
    Family(
        5598,
        ("Rain Jacket", "Wool Coat", "Puffer Jacket"),
        "size",
        ("S", "M", "L", "XL", "XXL"),
        1200,
    ),
    Family(
        187,
        ("Runner", "Leather Sneaker", "Chelsea Boot", "Trail Shoe"),
        "size",
        ("40", "41", "42", "43", "44"),
        900,
    ),
    Family(
        2169,
        ("Stoneware Mug", "Espresso Cup"),
        "color",
        ("White", "Sand", "Sage", "Navy", "Terracotta"),
        350,
    ),
    Family(
        602,
        ("Glass Vase", "Ceramic Vase"),
        "color",
        ("Clear", "Smoke", "Amber", "Green", "Blue"),
        800,
    ),
    Family(
        1985,
        ("Wool Throw", "Cotton Blanket"),
        "color",
        ("Grey", "Oat", "Rust", "Forest", "Charcoal"),
        1100,
    ),
]
BRANDS = (
    "Noordkust",
    "Vela",
    "Harbor & Pine",
    "Kestrel",
    "Ostara",
    "Lumen Goods",
    "Fjell",
    "Marram",
)
COLOURS = ("Navy", "Black", "Ecru", "Olive", "Stone", "Indigo", "Burgundy", "Sky")


def gtin13(serial: int) -> str:
    """An EAN-13 in the demo's own prefix range, with a correct GS1 check digit."""
    body = f"871{serial:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _products(count: int) -> Iterator[tuple[int, str, str, str, Family]]:
    for index in range(count):
        family = FAMILIES[index % len(FAMILIES)]
        brand = BRANDS[(index // len(FAMILIES)) % len(BRANDS)]
        noun = family.nouns[(index // 3) % len(family.nouns)]
        colour = COLOURS[(index // 7) % len(COLOURS)]
        name = f"{brand} {noun}" if family.axis == "color" else f"{brand} {colour} {noun}"
        yield index, name, brand, colour, family


def seed_products(size: str, *, progress: Callable[[int], None] | None = None) -> int:
    """Create the demo products and variants that are missing; returns how many products were
    created. Keyed on handles (``demo-<n>``), so a second run creates nothing."""
    product_count, _ = SIZES[size]
    categories = {
        c.google_id: c
        for c in Category.objects.filter(google_id__in=[f.google_id for f in FAMILIES])
    }
    existing = set(
        Product.objects.filter(handle__startswith="demo-").values_list("handle", flat=True)
    )
    types = seed_product_types()
    created = 0
    pending: list[tuple[Product, Family, int, str]] = []

    def flush() -> None:
        nonlocal created
        if not pending:
            return
        bulk.create([item[0] for item in pending], Product, history=False)
        variants = []
        for product, family, index, colour in pending:
            for position, value in enumerate(family.values):
                options = {family.axis: slugify(value)}
                if family.axis == "size":
                    options["color"] = slugify(colour)
                variants.append(
                    Variant(
                        product_id=product.pk,
                        sku=f"DEMO-{index:06d}-{position + 1}",
                        gtin=gtin13(index * 10 + position),
                        options=dict(sorted(options.items())),
                        weight_grams=family.grams,
                        position=position,
                    )
                )
        bulk.create(variants, Variant, history=False)
        created += len(pending)
        if progress:
            progress(len(pending))
        pending.clear()

    for index, name, brand, colour, family in _products(product_count):
        handle = f"demo-{index:06d}"
        if handle in existing:
            continue
        product = Product(
            handle=handle,
            name=name,
            brand=brand,
            description=f"{name}: a demo product of the {brand} range.",
            category=categories.get(family.google_id),
            status=Product.Status.DRAFT,
            product_type=types["apparel" if family.axis == "size" else "home"],
            attributes=_attributes(family, name),
        )
        pending.append((product, family, index, colour))
        if len(pending) >= BATCH // 5:
            flush()
    flush()
    return created


def _attributes(family: Family, name: str) -> dict[str, str]:
    if family.axis != "size":
        return {"material": family.material}
    gender = "female" if "Dress" in name else "unisex"
    return {"material": family.material, "gender": gender, "age_group": "adult"}


def seed_product_types() -> dict[str, ProductType]:
    """Apparel (size and colour are variant axes) and home goods (colour), with managed options
    for every value the demo uses, and a product-level material."""
    material, _ = Attribute.objects.get_or_create(
        code="material", defaults={"name": "Material", "kind": Attribute.Kind.TEXT}
    )
    # what Google and Meta require of apparel (the feeds leave out apparel without them)
    audience = [
        Attribute.objects.get_or_create(
            code=code, defaults={"name": name, "kind": Attribute.Kind.TEXT}
        )[0]
        for code, name in (("gender", "Gender"), ("age_group", "Age group"))
    ]
    axes: dict[str, set[str]] = {"size": set(), "color": set(COLOURS)}
    for family in FAMILIES:
        axes[family.axis].update(family.values)
    attributes = {}
    for code, values in axes.items():
        attribute, _ = Attribute.objects.get_or_create(
            code=code,
            defaults={
                "name": "Size" if code == "size" else "Colour",
                "kind": Attribute.Kind.SELECT,
            },
        )
        existing = set(attribute.options.values_list("code", flat=True))
        AttributeOption.objects.bulk_create(
            [
                AttributeOption(attribute=attribute, code=slugify(value), label=value, position=n)
                for n, value in enumerate(sorted(values))
                if slugify(value) not in existing
            ]
        )
        attributes[code] = attribute
    types = {}
    for code, name, axis_codes in [
        ("apparel", "Apparel", ["size", "color"]),
        ("home", "Home goods", ["color"]),
    ]:
        product_type, _ = ProductType.objects.get_or_create(code=code, defaults={"name": name})
        ProductTypeAttribute.objects.get_or_create(
            product_type=product_type, attribute=material, defaults={"level": "product"}
        )
        if code == "apparel":
            for attribute in audience:
                ProductTypeAttribute.objects.get_or_create(
                    product_type=product_type, attribute=attribute, defaults={"level": "product"}
                )
        for position, axis in enumerate(axis_codes):
            ProductTypeAttribute.objects.get_or_create(
                product_type=product_type,
                attribute=attributes[axis],
                defaults={"level": "variant", "is_variant_axis": True, "position": position},
            )
        types[code] = product_type
    return types


def _swatch(label: str, colour: str) -> bytes:
    """A small product picture drawn with Pillow: the colour of the product and its name."""
    palette = {
        "navy": "#1f2a44",
        "black": "#222222",
        "ecru": "#e8e0cc",
        "olive": "#6b7040",
        "stone": "#a8a195",
        "indigo": "#3b3f8f",
        "burgundy": "#6d1f2f",
        "sky": "#8fbfe0",
    }
    image = Image.new("RGB", (600, 600), palette.get(colour, "#9aa5b1"))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 480, 560, 560), fill="#ffffff")
    draw.text((60, 505), label[:60], fill="#222222")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def seed_catalog_live(size: str, *, channel_codes: list[str] | None = None) -> dict[str, int]:
    """Make the demo catalog sellable: a picture per product, a base price per variant on every
    channel, material required on the feeds, four products in five approved (with their approved
    snapshot) and published where they are complete. Idempotent; bulk writes throughout."""
    from catalog.services import completeness_refresh
    from catalog.snapshots import product_snapshots_build
    from core.models import Channel

    channels = list(Channel.objects.filter(is_active=True).order_by("code"))
    if channel_codes is not None:
        channels = [c for c in channels if c.code in channel_codes]
    feeds = [c for c in channels if c.kind in ("google_feed", "meta_feed")]
    material = ProductTypeAttribute.objects.filter(attribute__code="material")
    for type_attribute in material:
        type_attribute.required_for.add(*feeds)

    products = list(
        Product.objects.filter(handle__startswith="demo-")
        .order_by("id")
        .values("id", "handle", "name")
    )
    counts = {"images": 0, "prices": 0, "approved": 0, "published": 0}

    # pictures: one file per product (small) or per family and colour (large, shared files)
    with_media = set(ProductMedia.objects.values_list("product_id", flat=True).distinct())
    shared: dict[str, str] = {}
    media = []
    for product in products:
        if product["id"] in with_media:
            continue
        index = int(product["handle"].split("-")[1])
        family = FAMILIES[index % len(FAMILIES)]
        colour = COLOURS[(index // 7) % len(COLOURS)].lower()
        key = product["handle"] if size == "small" else f"{family.google_id}-{colour}"
        if key not in shared:
            label = product["name"] if size == "small" else family.nouns[0]
            shared[key] = default_storage.save(
                f"products/demo/{key}.jpg", ContentFile(_swatch(label, colour))
            )
        media.append(
            ProductMedia(
                product_id=product["id"],
                image=shared[key],
                width=600,
                height=600,
                alt_text=product["name"],
                status=ProductMedia.Status.READY,
            )
        )
    ProductMedia.objects.bulk_create(media, batch_size=BATCH)
    counts["images"] = len(media)

    # prices
    demo_variants = list(
        Variant.objects.filter(product__handle__startswith="demo-").values_list(
            "id", "product__handle"
        )
    )
    for channel in channels:
        priced = set(Price.objects.filter(channel=channel).values_list("variant_id", flat=True))
        rows = []
        for variant_id, handle in demo_variants:
            if variant_id in priced:
                continue
            family = FAMILIES[int(handle.split("-")[1]) % len(FAMILIES)]
            amount = family.price + (Decimal("5.00") if channel.code == "marketplace" else 0)
            rows.append(
                Price(
                    variant_id=variant_id, channel=channel, currency=channel.currency, amount=amount
                )
            )
        bulk.create(rows, Price, history=False)
        counts["prices"] += len(rows)

    ids = [p["id"] for p in products]
    completeness_refresh(product_ids=ids)

    # approval: four in five products, with the snapshot the channels read
    now = timezone.now()
    to_approve = list(
        Product.objects.filter(id__in=ids, approved_snapshot__isnull=True)
        .exclude(handle__endswith="0")
        .exclude(handle__endswith="5")
        .values_list("id", flat=True)
    )
    for start in range(0, len(to_approve), BATCH):
        chunk = to_approve[start : start + BATCH]
        snapshots = product_snapshots_build(chunk)
        batch = [
            Product(
                pk=product_id,
                approved_snapshot=snapshots[product_id],
                approved_at=now,
                status=Product.Status.APPROVED,
            )
            for product_id in chunk
        ]
        bulk.update(batch, Product, ["approved_snapshot", "approved_at", "status"], history=False)
        counts["approved"] += len(batch)

    # publication where approved and complete
    from catalog.models import ProductCompleteness

    complete = ProductCompleteness.objects.filter(
        product__status=Product.Status.APPROVED, product__handle__startswith="demo-", percent=100
    ).values_list("product_id", "channel_id")
    publications = [ProductPublication(product_id=pid, channel_id=cid) for pid, cid in complete]
    bulk.create_ignore_conflicts(publications, ProductPublication)
    counts["published"] = len(publications)
    return counts
