"""The demo in Dutch (and French for Belgium) as well as English: Dutch and French names and
descriptions for the demo products, Dutch and French labels for the colour options, Dutch names
for the demo's categories, and the languages each demo channel sells in per country.

The texts are made from the demo's own small vocabulary below (the product words, colours and
category names the demo uses), the way ``demo.catalog`` makes the English names, so they stay in
step. Written with bulk updates (a few statements per 2,000 products), before the approval step
so that the approved snapshots carry them. Completeness asks a name and a description in every
language a channel sells in (no fallback), so every product gets both in Dutch and French, and
no channel sells in a language the demo has no texts for (German shoppers of the Google feed read
Dutch, the channel's language): the demo products stay complete everywhere.
"""

from __future__ import annotations

from django.db.models import Q

from catalog.models import AttributeOption, Category, Product
from core import bulk
from core.models import ChannelCountry
from demo.catalog import BATCH

# The demo's product words (``demo.catalog.FAMILIES``), in Dutch.
NOUNS_NL: dict[str, str] = {
    "Oxford Shirt": "Oxford-overhemd",
    "Linen Shirt": "Linnen overhemd",
    "Polo": "Polo",
    "Crew Tee": "T-shirt met ronde hals",
    "Henley": "Henley-shirt",
    "Chino": "Chino",
    "Slim Jeans": "Slim-fit jeans",
    "Cargo Pants": "Cargobroek",
    "Wide Trousers": "Wijde pantalon",
    "Wrap Dress": "Wikkeljurk",
    "Shirt Dress": "Blousejurk",
    "Maxi Dress": "Maxi-jurk",
    "Rain Jacket": "Regenjas",
    "Wool Coat": "Wollen jas",
    "Puffer Jacket": "Pufferjack",
    "Runner": "Hardloopschoen",
    "Leather Sneaker": "Leren sneaker",
    "Chelsea Boot": "Chelsea-laars",
    "Trail Shoe": "Trailschoen",
    "Stoneware Mug": "Stenen mok",
    "Espresso Cup": "Espressokopje",
    "Glass Vase": "Glazen vaas",
    "Ceramic Vase": "Keramische vaas",
    "Wool Throw": "Wollen plaid",
    "Cotton Blanket": "Katoenen deken",
}
# Every colour the demo names (product colours and the colour options), in Dutch.
COLOURS_NL: dict[str, str] = {
    "Navy": "Marineblauw",
    "Black": "Zwart",
    "Ecru": "Ecru",
    "Olive": "Olijfgroen",
    "Stone": "Steengrijs",
    "Indigo": "Indigo",
    "Burgundy": "Bordeauxrood",
    "Sky": "Hemelsblauw",
    "White": "Wit",
    "Sand": "Zand",
    "Sage": "Saliegroen",
    "Terracotta": "Terracotta",
    "Clear": "Helder",
    "Smoke": "Rookgrijs",
    "Amber": "Amber",
    "Green": "Groen",
    "Blue": "Blauw",
    "Grey": "Grijs",
    "Oat": "Havermout",
    "Rust": "Roestbruin",
    "Forest": "Bosgroen",
    "Charcoal": "Antraciet",
}
MATERIALS_NL = {"Cotton": "katoen"}
# The same words in French (the Google feed sells in French in Belgium).
NOUNS_FR: dict[str, str] = {
    "Oxford Shirt": "Chemise Oxford",
    "Linen Shirt": "Chemise en lin",
    "Polo": "Polo",
    "Crew Tee": "T-shirt col rond",
    "Henley": "T-shirt Henley",
    "Chino": "Chino",
    "Slim Jeans": "Jean slim",
    "Cargo Pants": "Pantalon cargo",
    "Wide Trousers": "Pantalon large",
    "Wrap Dress": "Robe portefeuille",
    "Shirt Dress": "Robe chemise",
    "Maxi Dress": "Robe longue",
    "Rain Jacket": "Veste de pluie",
    "Wool Coat": "Manteau en laine",
    "Puffer Jacket": "Doudoune",
    "Runner": "Chaussure de course",
    "Leather Sneaker": "Basket en cuir",
    "Chelsea Boot": "Bottine Chelsea",
    "Trail Shoe": "Chaussure de trail",
    "Stoneware Mug": "Mug en grès",
    "Espresso Cup": "Tasse à espresso",
    "Glass Vase": "Vase en verre",
    "Ceramic Vase": "Vase en céramique",
    "Wool Throw": "Plaid en laine",
    "Cotton Blanket": "Couverture en coton",
}
COLOURS_FR: dict[str, str] = {
    "Navy": "Bleu marine",
    "Black": "Noir",
    "Ecru": "Écru",
    "Olive": "Olive",
    "Stone": "Pierre",
    "Indigo": "Indigo",
    "Burgundy": "Bordeaux",
    "Sky": "Bleu ciel",
    "White": "Blanc",
    "Sand": "Sable",
    "Sage": "Sauge",
    "Terracotta": "Terracotta",
    "Clear": "Transparent",
    "Smoke": "Fumé",
    "Amber": "Ambre",
    "Green": "Vert",
    "Blue": "Bleu",
    "Grey": "Gris",
    "Oat": "Avoine",
    "Rust": "Rouille",
    "Forest": "Vert forêt",
    "Charcoal": "Anthracite",
}
MATERIALS_FR = {"Cotton": "coton"}
# The demo's category tree (``demo.categories``), by Google id, in Dutch.
CATEGORIES_NL: dict[int, str] = {
    166: "Kleding en accessoires",
    1604: "Kleding",
    5322: "Sportkleding",
    2271: "Jurken",
    203: "Bovenkleding",
    5598: "Jassen",
    204: "Broeken",
    212: "Shirts en tops",
    207: "Korte broeken",
    1581: "Rokken",
    208: "Nacht- en loungekleding",
    1594: "Pakken",
    213: "Ondergoed en sokken",
    167: "Kledingaccessoires",
    169: "Riemen",
    173: "Hoeden",
    177: "Sjaals en omslagdoeken",
    6551: "Tassen, portemonnees en hoesjes",
    3032: "Handtassen",
    187: "Schoenen",
    436: "Meubels",
    443: "Stoelen",
    6499: "Fauteuils en slaapstoelen",
    460: "Banken",
    6392: "Tafels",
    536: "Huis en tuin",
    696: "Decoratie",
    3890: "Klokken",
    595: "Spiegels",
    597: "Fotolijsten",
    598: "Vloerkleden",
    4454: "Sierkussens",
    602: "Vazen",
    638: "Keuken en tafelen",
    672: "Servies en bestek",
    673: "Borden en schalen",
    3498: "Kommen",
    3553: "Borden",
    674: "Drinkgerei",
    2169: "Mokken",
    689: "Gazon en tuin",
    594: "Verlichting",
    4636: "Lampen",
    4171: "Linnengoed en beddengoed",
    569: "Beddengoed",
    1985: "Dekens",
    2541: "Dekbedovertrekken",
    2927: "Kussenslopen",
    4077: "Handdoeken",
    985: "Planten",
}
# The languages each demo channel sells in per country (the channel's own locale is nl-NL): the
# web shop and the app in Dutch and English, the Google feed in Dutch and French in Belgium and
# (naming none) in Dutch in Germany.
CHANNEL_LANGUAGES: dict[str, dict[str, str]] = {
    "webshop": {"NL": "nl, en"},
    "app": {"NL": "nl, en"},
    "marketplace": {"NL": "nl"},
    "google": {"NL": "nl", "BE": "nl, fr"},
    "meta": {"NL": "nl"},
    "pos": {"NL": "nl"},
}


def _name(name: str, brand: str, nouns: dict[str, str], colours: dict[str, str]) -> str:
    rest = name[len(brand) :].strip() if name.startswith(brand) else name
    for noun, local in nouns.items():
        if rest.endswith(noun):
            colour = rest[: -len(noun)].strip()
            colour_local = colours.get(colour, colour).lower()
            return " ".join(part for part in (brand, local, colour_local) if part)
    return name


def dutch_name(name: str, brand: str) -> str:
    """``"Noordkust Navy Oxford Shirt"`` -> ``"Noordkust Oxford-overhemd marineblauw"``: the
    brand, the Dutch product word, then the colour (when the English name has one)."""
    return _name(name, brand, NOUNS_NL, COLOURS_NL)


def french_name(name: str, brand: str) -> str:
    """``"Noordkust Navy Oxford Shirt"`` -> ``"Noordkust Chemise Oxford bleu marine"``."""
    return _name(name, brand, NOUNS_FR, COLOURS_FR)


def dutch_description(name_nl: str, brand: str, material: str) -> str:
    made_of = MATERIALS_NL.get(material, material.lower())
    return f"{name_nl}: een demoproduct uit de collectie van {brand}, van {made_of}."


def french_description(name_fr: str, brand: str, material: str) -> str:
    made_of = MATERIALS_FR.get(material, material.lower())
    return f"{name_fr} : un produit de démonstration de la collection {brand}, en {made_of}."


def seed_translations() -> None:
    """The demo step: ``translations_write``."""
    translations_write()


def translations_write() -> dict[str, int]:
    """Write the Dutch and French texts that are missing and the channels' languages; idempotent
    (a product that has a Dutch name is left alone). Returns how many rows of each were written."""
    counts = {"products": 0, "options": 0, "categories": 0, "countries": 0}
    todo = Product.objects.filter(handle__startswith="demo-").filter(
        Q(name_nl__isnull=True) | Q(name_nl="")
    )
    ids = list(todo.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), BATCH):
        rows = Product.objects.filter(id__in=ids[start : start + BATCH]).values(
            "id", "handle", "name", "brand", "attributes"
        )
        batch = []
        for row in rows:
            name_nl = dutch_name(row["name"], row["brand"])
            material = (row["attributes"] or {}).get("material", "")
            name_fr = french_name(row["name"], row["brand"])
            texts = {
                "name_nl": name_nl,
                "description_nl": dutch_description(name_nl, row["brand"], material),
                "name_fr": name_fr,
                "description_fr": french_description(name_fr, row["brand"], material),
            }
            translated = Product(pk=row["id"])
            for column, text in texts.items():  # modeltranslation's columns
                setattr(translated, column, text)
            batch.append(translated)
        bulk.update(
            batch,
            Product,
            ["name_nl", "description_nl", "name_fr", "description_fr"],
            history=False,
        )
        counts["products"] += len(batch)
    options = list(
        AttributeOption.objects.filter(attribute__code="color", label__in=list(COLOURS_NL))
        .filter(Q(label_nl__isnull=True) | Q(label_nl=""))
        .only("id", "label")
    )
    for option in options:
        option.label_nl = COLOURS_NL[option.label]  # type: ignore[attr-defined]
        option.label_fr = COLOURS_FR[option.label]  # type: ignore[attr-defined]
    AttributeOption.objects.bulk_update(options, ["label_nl", "label_fr"])
    counts["options"] = len(options)
    categories = list(
        Category.objects.filter(google_id__in=list(CATEGORIES_NL))
        .filter(Q(name_nl__isnull=True) | Q(name_nl=""))
        .only("id", "google_id")
    )
    for category in categories:
        category.name_nl = CATEGORIES_NL[int(category.google_id)]  # type: ignore[arg-type]
    Category.objects.bulk_update(categories, ["name_nl"])
    counts["categories"] = len(categories)
    for code, languages in CHANNEL_LANGUAGES.items():
        for country, names in languages.items():
            counts["countries"] += ChannelCountry.objects.filter(
                channel__code=code, country=country
            ).update(languages=names)
    return counts
