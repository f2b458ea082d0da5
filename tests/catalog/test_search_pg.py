"""What only PostgreSQL does in the product search (``catalog.search``): full-text prefix
matching, trigram ranking and the nearest-name fallback, and the plans that use the indexes of
``catalog/migrations/0009_search_indexes.py``. Skipped on SQLite (``@pytest.mark.postgres``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from catalog import search
from catalog import services as catalog
from catalog.models import Product, Variant
from catalog.selectors import product_search
from core.models import Channel
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def products() -> dict[str, Product]:
    channel: Channel = ChannelFactory(code="webshop", currency="EUR")
    made = {
        name: complete_product(channel, name=name)
        for name in ("Rain Jacket", "Rain-jacket Kids", "Organic Tee", "Wool Jumper")
    }
    catalog.product_update(product=made["Wool Jumper"], brand="Noordkust")
    return made


def _names(term: str) -> list[str]:
    return [p.name for p in product_search(term)[0]]


def test_full_text_matches_word_starts_in_name_and_brand_not_the_middle_of_words(
    products: dict[str, Product],
) -> None:
    assert sorted(_names("jack")) == ["Rain Jacket", "Rain-jacket Kids"]  # hyphenated too
    assert _names("noord jump") == ["Wool Jumper"]  # brand and name words, both prefixes
    # not a word start: no substring match, the word is corrected instead (and said)
    assert product_search("acket")[1] == "jacket"


def test_a_transposed_letter_is_corrected_and_a_hopeless_word_falls_back_to_trigrams(
    products: dict[str, Product],
) -> None:
    found, corrected = product_search("jakcet")
    assert ("Rain Jacket" in [p.name for p in found], corrected) == (True, "jacket")
    # "qzx" corrects to nothing: the names nearest by trigram word distance are taken
    found, corrected = product_search("organic qzx")
    assert ([p.name for p in found][:1], corrected) == (["Organic Tee"], "")


def test_name_similarity_breaks_ties_between_equal_text_ranks(
    products: dict[str, Product],
) -> None:
    # both names contain the word; the closer whole name ranks first
    assert _names("rain jacket")[0] == "Rain Jacket"


def _plan(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_queries_use_the_search_indexes(products: dict[str, Product]) -> None:
    """The index expressions must be exactly what Django writes, or PostgreSQL scans every
    product. (Sequential scans are switched off: on a test-sized table they would be cheaper.)"""
    words = search.product_search_filter(Product.objects.all(), term="rain jack").queryset
    assert "catalog_product_search_doc" in _plan(words)
    sku = Variant.objects.filter(sku__istartswith="RAIN-J").values("product_id")
    assert "catalog_variant_sku_upper_pattern" in _plan(sku)
    gtin = Variant.objects.filter(gtin__startswith="400638").values("product_id")
    assert "catalog_variant_gtin_pattern" in _plan(gtin)
    nearest = Product.objects.order_by(search.TrigramWordDistance("qzx", "name"))[:5]
    assert "catalog_product_name_trgm_gist" in _plan(nearest)
