"""Deterministic demo and benchmark data, built through the domain services.

Every step is an upsert keyed on stable codes, so running it again changes nothing and duplicates
nothing. ``small`` is for trying the app; ``large`` is for benchmarks. Domain issues extend the
steps (products, stock, customers, orders) as their apps gain models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from catalog.services import category_tree_import, category_tree_import_google
from channels.services import channel_upsert
from config import roles
from core.api.services import partner_api_key_create
from core.models import Channel, Partner, PartnerAPIKey
from core.scopes import Scope
from core.services import channel_countries_set
from demo.catalog import seed_catalog_live, seed_products
from demo.categories import DEMO_CATEGORIES
from demo.customers import seed_customers
from demo.history import history_rollups_rebuild, seed_history
from demo.inventory import seed_stock
from demo.money import seed_money
from demo.orders import seed_orders
from demo.shipping import seed_shipping
from demo.translations import seed_translations
from inventory.models import Location
from inventory.services import location_upsert, staff_member_assign
from reports.tasks import rollups_kicks_paused

DEMO_PASSWORD = "omnihub-demo"
ADMIN_USERNAME = "admin"
# Google's full product taxonomy file, when it is beside the checkout (the real-data directory,
# ``OMNIHUB_SHARED_DIR``) or named with ``seed_demo --taxonomy PATH``; without it the demo builds
# its own small tree (``demo.categories``), which holds every category the demo products use.
TAXONOMY_FILENAME = "taxonomy-with-ids.en-US.txt"


def taxonomy_file() -> Path | None:
    """The full Google taxonomy file in the real-data directory, or None when it is absent."""
    path = Path(settings.SHARED_DIR) / "data" / "google" / TAXONOMY_FILENAME
    return path if path.is_file() else None


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]
STORE_HOURS = {**{day: [["09:30", "18:00"]] for day in WEEKDAYS}, "sun": [["12:00", "17:00"]]}
WAREHOUSE_HOURS = {**{day: [["06:00", "22:00"]] for day in WEEKDAYS[:5]}, "sat": [], "sun": []}


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    street: str
    postal_code: str
    city: str
    country: str
    latitude: str
    longitude: str


WAREHOUSES = [
    Site(
        "wh-tilburg",
        "Warehouse Tilburg",
        "Kraaivenstraat 21",
        "5048 AB",
        "Tilburg",
        "NL",
        "51.594700",
        "5.046900",
    ),
    Site(
        "wh-venlo",
        "Warehouse Venlo",
        "Celsiusweg 40",
        "5928 PR",
        "Venlo",
        "NL",
        "51.389200",
        "6.164900",
    ),
]
STORES = [
    Site(
        "st-ams-kalverstraat",
        "Amsterdam Kalverstraat",
        "Kalverstraat 92",
        "1012 PH",
        "Amsterdam",
        "NL",
        "52.369500",
        "4.891200",
    ),
    Site(
        "st-ams-zuid",
        "Amsterdam Zuid",
        "Beethovenstraat 54",
        "1077 JJ",
        "Amsterdam",
        "NL",
        "52.344800",
        "4.875600",
    ),
    Site(
        "st-rtm-lijnbaan",
        "Rotterdam Lijnbaan",
        "Lijnbaan 110",
        "3012 EP",
        "Rotterdam",
        "NL",
        "51.919300",
        "4.475400",
    ),
    Site(
        "st-utr-hoogcatharijne",
        "Utrecht Hoog Catharijne",
        "Godebaldkwartier 32",
        "3511 DX",
        "Utrecht",
        "NL",
        "52.089800",
        "5.112600",
    ),
    Site(
        "st-dhg-spuistraat",
        "Den Haag Spuistraat",
        "Spuistraat 21",
        "2511 BC",
        "Den Haag",
        "NL",
        "52.078100",
        "4.311700",
    ),
    Site(
        "st-ant-meir",
        "Antwerpen Meir",
        "Meir 78",
        "2000",
        "Antwerpen",
        "BE",
        "51.218500",
        "4.410900",
    ),
]
# Extra stores for the large dataset: real city centres, synthetic street numbers.
EXTRA_STORE_CITIES = [
    ("Eindhoven", "NL", "51.441600", "5.469700"),
    ("Groningen", "NL", "53.219400", "6.566500"),
    ("Haarlem", "NL", "52.387400", "4.646200"),
    ("Nijmegen", "NL", "51.842500", "5.852800"),
    ("Breda", "NL", "51.571900", "4.768300"),
    ("Maastricht", "NL", "50.851400", "5.690900"),
    ("Leiden", "NL", "52.160100", "4.497000"),
    ("Arnhem", "NL", "51.985100", "5.898700"),
    ("Zwolle", "NL", "52.516800", "6.083000"),
    ("Gent", "BE", "51.054300", "3.717400"),
    ("Brussel", "BE", "50.850300", "4.351700"),
    ("Leuven", "BE", "50.879800", "4.700500"),
    ("Brugge", "BE", "51.209300", "3.224700"),
    ("Amersfoort", "NL", "52.156100", "5.387800"),
]

# username, first and last name, role, the locations they are a member of
STAFF: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("merchandiser", "Mara", "Merchant", roles.MERCHANDISER, ()),
    ("approver", "Abel", "Approver", roles.CATALOG_APPROVER, ()),
    ("inventory", "Iris", "Inventory", roles.INVENTORY_MANAGER, ("wh-tilburg",)),
    ("associate", "Sam", "Store", roles.STORE_ASSOCIATE, ("st-ams-kalverstraat",)),
    ("manager", "Mila", "Manager", roles.STORE_MANAGER, ("st-ams-kalverstraat", "st-ams-zuid")),
    ("service", "Chris", "Service", roles.CUSTOMER_SERVICE, ()),
    ("operator", "Otto", "Operator", roles.OPERATOR, ()),  # channel operations, the dashboard
]

# Demo keys are fixed so that the README and ./run can print them. Never use them outside a demo.
DEMO_KEYS = {
    "demo-webshop": "DemoWeb1.webshop-demo-secret-do-not-use-in-production",
    "demo-marketplace": "DemoMkt1.marketplace-demo-secret-do-not-use-in-production",
}


def seed_staff() -> None:
    if not User.objects.filter(username=ADMIN_USERNAME).exists():
        User.objects.create_superuser(ADMIN_USERNAME, "admin@omnihub.local", DEMO_PASSWORD)
    for username, first, last, role, locations in STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": True,
                "email": f"{username}@omnihub.local",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
        for code in locations:
            staff_member_assign(user_id=user.pk, location=Location.objects.get(code=code))


def _site_fields(site: Site, kind: str) -> dict[str, object]:
    is_store = kind == Location.Kind.STORE
    return {
        "name": site.name,
        "kind": kind,
        "street": site.street,
        "postal_code": site.postal_code,
        "city": site.city,
        "country": site.country,
        "latitude": Decimal(site.latitude),
        "longitude": Decimal(site.longitude),
        "opening_hours": STORE_HOURS if is_store else WAREHOUSE_HOURS,
        "ships_orders": not is_store or site.code.endswith("zuid"),
        "offers_pickup": is_store,
        "sells_in_store": is_store,
        "pickup_preparation_minutes": 60 if is_store else 0,
        "sourcing_priority": 50 if not is_store else 200,
    }


def stores_for(size: str) -> list[Site]:
    if size == "small":
        return STORES
    extra = [
        Site(
            f"st-{city.lower()}-{index:02d}",
            f"{city} Centrum",
            f"Marktstraat {index + 1}",
            f"{1000 + index * 37}",
            city,
            country,
            lat,
            lng,
        )
        for index, (city, country, lat, lng) in enumerate(EXTRA_STORE_CITIES)
    ]
    return STORES + extra


def seed_locations(size: str) -> None:
    for site in WAREHOUSES:
        location_upsert(code=site.code, **_site_fields(site, Location.Kind.WAREHOUSE))
    for site in stores_for(size):
        location_upsert(code=site.code, **_site_fields(site, Location.Kind.STORE))


def seed_channels() -> None:
    warehouses = list(
        Location.objects.filter(kind=Location.Kind.WAREHOUSE).values_list("pk", flat=True)
    )
    everything = list(Location.objects.values_list("pk", flat=True))
    stores = list(Location.objects.filter(kind=Location.Kind.STORE).values_list("pk", flat=True))
    specs = [
        ("webshop", "Webshop", Channel.Kind.WEBSHOP, everything),
        ("app", "Mobile app", Channel.Kind.APP, everything),
        ("marketplace", "Marketplace", Channel.Kind.MARKETPLACE, warehouses),
        ("google", "Google Merchant feed", Channel.Kind.GOOGLE_FEED, warehouses),
        ("meta", "Meta catalog feed", Channel.Kind.META_FEED, warehouses),
        ("pos", "Store POS", Channel.Kind.POS, stores),
    ]
    # Every channel sells to the Netherlands; the Google feed to Belgium and Germany too.
    countries = {"google": ["NL", "BE", "DE"]}
    for code, name, kind, location_ids in specs:
        channel, _ = channel_upsert(
            code=code,
            name=name,
            kind=kind,
            currency="EUR",
            locale="nl-NL",
            location_ids=location_ids,
            # The marketplace is shown at most 80 % of what is available.
            stock_buffer_kind="percent" if code == "marketplace" else "none",
            stock_buffer_value=Decimal(20 if code == "marketplace" else 0),
            product_url_template=(
                "https://shop.example.com/products/{handle}?variant={variant_id}"
                if kind in (Channel.Kind.GOOGLE_FEED, Channel.Kind.META_FEED)
                else ""
            ),
        )
        channel_countries_set(channel=channel, countries=countries.get(code, ["NL"]))


def seed_partners() -> None:
    specs: list[tuple[str, str, list[str], list[str]]] = [
        ("demo-webshop", "Demo webshop front-end", ["webshop", "app"], list(Scope.values)),
        (
            "demo-marketplace",
            "Demo marketplace connector",
            ["marketplace"],
            [
                Scope.CATALOG_READ.value,
                Scope.STOCK_READ.value,
                Scope.ORDERS_READ.value,
                Scope.ORDERS_WRITE.value,
            ],
        ),
    ]
    spec: tuple[str, str, list[str], list[str]]
    for spec in specs:
        code, name, channel_codes, scopes = spec
        partner, _ = Partner.objects.get_or_create(
            code=code, defaults={"name": name, "contact_email": f"{code}@partners.example"}
        )
        partner.channels.set(Channel.objects.filter(code__in=channel_codes))
        raw_key = DEMO_KEYS[code]
        if not PartnerAPIKey.objects.filter(prefix=raw_key.split(".")[0]).exists():
            partner_api_key_create(
                partner=partner, name=f"{name} (demo)", scopes=scopes, raw_key=raw_key
            )


def seed_categories(taxonomy: Path | None = None) -> None:
    """The full Google taxonomy from ``taxonomy`` (or the real-data directory) when there is one,
    else the demo's own tree; either way every demo product finds its category."""
    path = taxonomy or taxonomy_file()
    if path is not None:
        category_tree_import_google(path=path)
    else:
        category_tree_import(entries=DEMO_CATEGORIES)


ORDERS_STEP = "orders: click & collect, a split shipment, a return in store"
HISTORY_STEP = "order history: months of sales, returns and refunds on every channel"
ROLLUPS_STEP = "report rollups (dashboard and reports)"
# Steps that own their transactions: each live order is a durable transaction, and the rollup
# rebuild writes in batches of its own.
OWN_TRANSACTIONS = frozenset({ORDERS_STEP, ROLLUPS_STEP})


def demo_steps(
    size: str,
    *,
    advance: Callable[[int], None] | None = None,
    taxonomy: Path | None = None,
) -> list[tuple[str, Callable[[], None]]]:
    """The seeding steps in order; ``advance(n)`` is told of every ``n`` products written;
    ``taxonomy`` is a full Google taxonomy file to load instead of looking for one."""

    def products() -> None:
        seed_products(size, progress=advance)

    def catalog_live() -> None:
        seed_catalog_live(size)

    written: list[bool] = []

    def history() -> None:
        written.append(seed_history(size).orders > 0)

    def rollups() -> None:
        history_rollups_rebuild(force=any(written))

    return [
        ("categories (Google taxonomy)", lambda: seed_categories(taxonomy)),
        ("products and variants", products),
        ("locations", lambda: seed_locations(size)),
        ("opening stock", lambda: seed_stock(max_variants=None if size == "small" else 5_000)),
        ("channels", seed_channels),
        ("translations (Dutch) and the channels' languages", seed_translations),
        ("shipping methods, holidays and cut-offs", seed_shipping),
        ("catalog: pictures, prices, approval, publication", catalog_live),
        ("staff and roles", seed_staff),
        ("partners and API keys", seed_partners),
        ("customers, consents and loyalty points", seed_customers),
        (ORDERS_STEP, seed_orders),
        (HISTORY_STEP, history),
        ("promotions, coupons and gift cards", seed_money),
        ("product feeds (Google, Meta)", seed_feeds),
        (ROLLUPS_STEP, rollups),
    ]


def seed_feeds() -> None:
    """Write the feed channels' files from what the demo published (bulk writes record no
    change events, so nothing else would tell the feeds)."""
    from channels.feeds.services import feed_channels, feed_rebuild

    for channel in feed_channels():
        feed_rebuild(channel)


def seed_demo(
    size: str,
    *,
    progress: Callable[[str], None] | None = None,
    advance: Callable[[int], None] | None = None,
    taxonomy: Path | None = None,
) -> None:
    """Build the demo dataset; safe to run again. ``progress(label)`` is told of each step;
    ``taxonomy`` is a full Google taxonomy file to load (see :func:`seed_categories`)."""
    # the last step rebuilds the report rollups from everything written: no update per commit
    with rollups_kicks_paused():
        for label, step in demo_steps(size, advance=advance, taxonomy=taxonomy):
            if progress:
                progress(label)
            if label in OWN_TRANSACTIONS:
                step()
                continue
            with transaction.atomic():
                step()
