"""Deterministic demo products and variants, sized for trying the app (small) or for benchmarks
(large: 20,000 products, 100,000 variants).

Products are written with ``bulk_create`` in batches: the large dataset has to load in minutes,
and per-row service calls (with their history rows and validation queries) would take an hour.
Everything written here is what ``catalog.services`` would write for a new draft product; GTINs
carry valid check digits and option values are unique within each product.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from catalog.models import Category, Product, Variant

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
    created = 0
    pending: list[tuple[Product, Family, int, str]] = []

    def flush() -> None:
        nonlocal created
        if not pending:
            return
        Product.objects.bulk_create([item[0] for item in pending], batch_size=BATCH)
        handles = [item[0].handle for item in pending]
        ids = dict(Product.objects.filter(handle__in=handles).values_list("handle", "id"))
        variants = []
        for product, family, index, colour in pending:
            for position, value in enumerate(family.values):
                options = {family.axis: value}
                if family.axis == "size":
                    options["color"] = colour
                variants.append(
                    Variant(
                        product_id=ids[product.handle],
                        sku=f"DEMO-{index:06d}-{position + 1}",
                        gtin=gtin13(index * 10 + position),
                        options=dict(sorted(options.items())),
                        weight_grams=family.grams,
                        position=position,
                    )
                )
        Variant.objects.bulk_create(variants, batch_size=BATCH)
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
            status=Product.Status.APPROVED if index % 5 else Product.Status.DRAFT,
        )
        pending.append((product, family, index, colour))
        if len(pending) >= BATCH // 5:
            flush()
    flush()
    return created
