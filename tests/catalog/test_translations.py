"""Content in every language: the columns, the migration that fills English, channel locales,
the fallback chain, and the original column kept in step with the English one.

Given/when/then. The original column (``Product.name``) keeps English: search and its
PostgreSQL indexes read it, so every way of writing a name must leave it equal to ``name_en``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog import services
from catalog.exceptions import LocaleUnsupported
from catalog.locales import (
    channel_country_languages,
    channel_languages,
    fallback_chain,
    locale_language,
    locale_resolve,
    locale_supported,
    translated,
    translated_value,
)
from catalog.models import AttributeOption, Category, ChannelContent, Product
from catalog.search import product_search_filter
from core.bulk import update as bulk_update
from core.models import Channel, ChannelCountry
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def _columns(product_id: int) -> dict[str, Any]:
    """The stored columns, read without modeltranslation's rewriting or fallbacks."""
    return (
        Product.objects.rewrite(False)  # type: ignore[attr-defined]
        .filter(pk=product_id)
        .values("name", "name_en", "name_nl", "description", "description_en")
        .get()
    )


@pytest.mark.parametrize(
    ("code", "language"),
    [("nl-NL", "nl"), ("nl_BE", "nl"), (" FR-be ", "fr"), ("de", "de"), ("en-US", "en")],
)
def test_locale_codes_are_normalised_to_their_language(code: str, language: str) -> None:
    assert locale_language(code) == language


def test_a_channel_sells_in_its_locale_and_its_countries_languages() -> None:
    # given a Dutch webshop selling to NL (Dutch) and BE (Dutch and French), and DE (no languages)
    channel = ChannelFactory(code="nl-shop", locale="nl-NL")
    ChannelCountry.objects.create(channel=channel, country="NL", position=0, languages="nl")
    ChannelCountry.objects.create(channel=channel, country="BE", position=1, languages="nl, fr")
    ChannelCountry.objects.create(channel=channel, country="DE", position=2)
    # then
    assert channel_country_languages(channel) == [
        ("NL", ["nl"]),
        ("BE", ["nl", "fr"]),
        ("DE", ["nl"]),
    ]
    assert channel_languages("nl-shop") == ["nl", "fr"]
    assert locale_supported(channel, "fr-BE")
    assert not locale_supported(channel, "de")
    assert locale_resolve(channel, "fr") == ["fr", "nl", "en"]
    assert locale_resolve(channel, None) == ["nl", "en"]


def test_a_locale_the_channel_does_not_sell_in_is_refused_naming_its_locales() -> None:
    channel = ChannelFactory(code="nl-only", locale="nl-NL")
    with pytest.raises(LocaleUnsupported) as refused:
        locale_resolve(channel, "de-DE")
    assert refused.value.code == "unsupported_locale"
    assert refused.value.extra == {"locales": ["nl"]}
    with pytest.raises(LocaleUnsupported):
        locale_resolve(channel, "xx")


def test_the_fallback_chain_is_requested_then_channel_then_english() -> None:
    assert fallback_chain("fr", "nl") == ["fr", "nl", "en"]
    assert fallback_chain("en", "nl") == ["en", "nl"]
    assert fallback_chain(None, "de") == ["de", "en"]
    assert fallback_chain("xx", None) == ["en"]


def test_bad_channel_locales_and_country_languages_are_refused() -> None:
    channel = ChannelFactory(code="bad-locale")
    channel.locale = "es-ES"  # Spanish is no content language
    with pytest.raises(ValidationError) as refused:
        channel.full_clean()
    assert "locale" in refused.value.message_dict
    country = ChannelCountry(channel=channel, country="BE", languages="nl, xx")
    with pytest.raises(ValidationError) as refused:
        country.full_clean()
    assert "xx" in str(refused.value.message_dict["languages"])


def test_reading_a_field_follows_the_chain_to_english() -> None:
    product = Product.objects.create(handle="rain-jacket", name="Rain jacket")
    product.name_nl = "Regenjas"
    product.save()
    product.refresh_from_db()
    assert translated(product, "name", ["nl", "en"]) == "Regenjas"
    assert translated(product, "name", ["fr", "nl", "en"]) == "Regenjas"
    assert translated(product, "name", ["de", "en"]) == "Rain jacket"
    assert translated(product, "description", ["nl", "en"]) == ""
    row = {"name": "Rain jacket", "name_en": "Rain jacket", "name_nl": "", "name_fr": None}
    assert translated_value(row, "name", ["fr", "nl", "en"]) == "Rain jacket"


def test_every_write_keeps_the_original_column_equal_to_english() -> None:
    # given a product created through the service
    product = services.product_create(handle="tee", name="Tee", description="Cotton")
    assert _columns(product.pk) == {
        "name": "Tee",
        "name_en": "Tee",
        "name_nl": None,
        "description": "Cotton",
        "description_en": "Cotton",
    }
    # when it is renamed through the service (save with update_fields)
    services.product_update(product=product, name="Basic tee")
    assert _columns(product.pk)["name"] == _columns(product.pk)["name_en"] == "Basic tee"
    # when it is renamed by the bulk writer of imports
    product.refresh_from_db()
    product.name = "Heavy tee"
    bulk_update([product], Product, ["name"], history=False)
    stored = _columns(product.pk)
    assert stored["name"] == stored["name_en"] == "Heavy tee"
    product.refresh_from_db()
    assert product.name == "Heavy tee"
    # and search, which reads the original column, finds the new name
    found = product_search_filter(Product.objects.all(), term="heavy").queryset
    assert list(found.values_list("pk", flat=True)) == [product.pk]


def test_a_dutch_name_leaves_the_english_columns_alone() -> None:
    product = services.product_create(handle="jacket", name="Jacket")
    product.name_nl = "Jas"
    product.save(update_fields=["name_nl"])
    assert _columns(product.pk) == {
        "name": "Jacket",
        "name_en": "Jacket",
        "name_nl": "Jas",
        "description": "",
        "description_en": None,  # never written: reads fall back to the original's default
    }


def _state_apps(target: tuple[str, str]) -> Any:
    return MigrationExecutor(connection).loader.project_state(target).apps


def test_the_migration_copies_english_in_batches_and_reverses() -> None:
    from importlib import import_module

    migration = import_module("catalog.migrations.0010_translations")
    # given rows whose English columns are empty (as right after the columns were added)
    channel: Channel = ChannelFactory(code="webshop-x")
    category = Category.objects.add_root({"name": "Apparel", "full_name": "Apparel"})
    products = [Product.objects.create(handle=f"p{i}", name=f"P {i}") for i in range(7)]
    ChannelContent.objects.create(product=products[0], channel=channel, title="Web title")
    from catalog.models import Attribute

    colour = Attribute.objects.create(code="colour", name="Colour", kind="select")
    AttributeOption.objects.create(attribute=colour, code="navy", label="Navy")
    for model, fields in migration.TRANSLATED.items():
        real = _state_apps(("catalog", "0010_translations")).get_model("catalog", model)
        real.objects.update(**{f"{field}_en": None for field in fields})
    assert _columns(products[3].pk)["name_en"] is None
    apps = _state_apps(("catalog", "0010_translations"))
    # when the data step runs with batches smaller than the table
    migration.BATCH = 3
    try:
        migration.default_language_fill(apps, None)
        # then every English column equals its original
        assert all(_columns(p.pk)["name_en"] == p.name for p in products)
        stored = ChannelContent.objects.rewrite(False).values("title", "title_en").get()  # type: ignore[attr-defined]
        assert stored == {"title": "Web title", "title_en": "Web title"}
        assert (
            AttributeOption.objects.rewrite(False).values_list("label_en", flat=True).get()
            == "Navy"
        )  # type: ignore[attr-defined]
        assert (
            Category.objects.rewrite(False)
            .filter(pk=category.pk)
            .values_list("name_en", flat=True)
            .get()
            == "Apparel"
        )  # type: ignore[attr-defined]
        # and reversing empties them again, leaving the originals
        migration.default_language_clear(apps, None)
        assert all(_columns(p.pk)["name_en"] is None for p in products)
        assert all(_columns(p.pk)["name"] == p.name for p in products)
    finally:
        migration.BATCH = 5000


# --- the native file per language ---------------------------------------------------------------


def _dutch_file() -> tuple[Product, bytes]:
    from catalog.resources import catalog_native_export

    product = services.product_create(handle="coat", name="Coat", description="Warm.")
    product.name_nl = "Jas"
    product.save(update_fields=["name_nl"])
    return product, catalog_native_export(fmt="csv", product_ids=[product.pk], languages=["nl"])


def test_the_native_file_exports_and_imports_one_languages_columns() -> None:
    import csv
    import io

    from catalog.resources import catalog_native_import

    product, exported = _dutch_file()
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    assert (rows[0]["product_name[nl]"], rows[0]["description[nl]"]) == ("Jas", "")
    assert "product_name[fr]" not in rows[0]
    # when the Dutch description is filled in and the file imported
    rows[0]["description[nl]"] = "Warm en waterdicht."
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    catalog_native_import(file_bytes=buffer.getvalue().encode(), fmt="csv")
    stored = (
        Product.objects.rewrite(False)  # type: ignore[attr-defined]
        .filter(pk=product.pk)
        .values("name", "name_nl", "description", "description_nl")
        .get()
    )
    assert stored == {
        "name": "Coat",
        "name_nl": "Jas",
        "description": "Warm.",
        "description_nl": "Warm en waterdicht.",
    }


def test_bad_translation_cells_name_row_and_column_and_change_nothing() -> None:
    import csv
    import io

    from catalog.exceptions import ImportFileInvalid
    from catalog.resources import catalog_native_import

    product, exported = _dutch_file()
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    rows[0]["product_name[nl]"] = "x" * 300
    rows[0]["description[nl]"] = "Changed, but the file is refused."
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=buffer.getvalue().encode(), fmt="csv")
    assert refused.value.errors == [
        {"row": 2, "column": "product_name[nl]", "message": "At most 255 characters."}
    ]
    product.refresh_from_db()
    assert (product.name_nl, product.description_nl) == ("Jas", None)
    # a language content is not translated into is a bad header
    header = exported.decode().replace("description[nl]", "description[es]").encode()
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=header, fmt="csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(1, "description[es]")]
