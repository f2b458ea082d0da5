"""The one product search: the admin's product and variant lists, ``search=`` on the products API
and the store page all call :func:`product_search_filter`, so a term finds the same products,
in the same order, wherever a merchandiser, a webshop or an associate types it.

A term matches a product when

- a variant's SKU is the term (any case) or starts with it, or its GTIN is or starts with it;
- every word of the term starts a word of the product's name or brand: PostgreSQL full-text
  search (``to_tsvector('simple', name || ' ' || brand) @@ 'word1':* & 'word2':*``); on SQLite
  every word is part of the name or starts the brand;
- a word that starts no known word (the cached vocabulary of name and brand words says so
  before any product query) is corrected to the closest known word and the search runs with
  the corrected words (``corrected`` says which: "showing results for ...");
- on PostgreSQL, when a word cannot be corrected either, the products whose names are nearest
  to the term by ``pg_trgm`` trigram word distance (``term <<-> name``, the GiST trigram index
  orders them) are taken. A trigram threshold alone does not catch a transposition in a short
  word (``word_similarity('jakcet', 'Rain jacket')`` is 0.29, under any threshold that keeps
  noise out), so the vocabulary corrects first and trigrams catch what it cannot.

Results carry ``search_rank`` (higher is better): an exact SKU or GTIN match (+100) first,
then a SKU or GTIN prefix (+50), then, on PostgreSQL, full-text rank plus the trigram
similarity of the whole name to the term (of two names with the words, the closer one first);
on SQLite a name starting with the term first.

Why 'simple' and not a language configuration: the catalog is sold in several languages (Dutch,
German, English names side by side) and holds brands and SKU fragments; a stemmer for one
language mangles the others' words and brand names, and prefix matching (``jack`` finds
``jackets``) already covers plurals. 'simple' only lowercases.

Why expression indexes and no search column: the searched text lives in two tables (names and
brands on products, SKUs and GTINs on variants), so a stored document would have to be rebuilt
by every variant write (signals or a trigger). Instead migration ``0009_search_indexes`` indexes
the very expressions these queries use: a GIN index on the name-and-brand ``tsvector``, a GiST
trigram index on ``name`` (nearest names), and pattern B-tree indexes on ``UPPER(sku)`` and
``gtin`` (exact and prefix). The vocabulary is the one thing held apart: a cached list, rebuilt
from the names every five minutes. Nothing has to be kept current by the application; SQLite (the
embedded default) gets the same signature with plain ``icontains`` and ``startswith``.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorExact,
    TrigramSimilarity,
    TrigramWordDistance,
)
from django.core.cache import cache
from django.db import connections
from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Cast

from catalog.models import Attribute, AttributeOption, Category, Product, Variant

EXACT_RANK = 100.0  # a variant's SKU or GTIN is the term
PREFIX_RANK = 50.0  # a variant's SKU or GTIN starts with the term
MAX_WORDS = 8
MAX_TERM = 200
MAX_CODE = 64  # Variant.sku's length: a longer term is no SKU or GTIN
MIN_PREFIX = 2  # shorter SKU/GTIN prefixes match too much to help
MAX_CODE_MATCHES = 500  # products found by SKU/GTIN prefix, at most
NEAREST = 20  # products taken by trigram distance when nothing else matches
NEAREST_MAX_DISTANCE = 0.75  # word similarity of at least 0.25
FACET_VALUES = 50  # values listed per facet, the most frequent first
FACETS = ("category", "brand", "attribute")

VOCABULARY_KEY = "catalog:search:vocabulary"
VOCABULARY_TTL = 300

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchOutcome:
    """``queryset`` is the caller's queryset narrowed to the matches and annotated with
    ``search_rank`` (unordered: callers order by ``-search_rank`` or keep their own order);
    ``corrected`` is the corrected term when the term as typed found nothing, else ""."""

    queryset: QuerySet[Any]
    corrected: str


def search_words(term: str) -> list[str]:
    """The lower-case words of ``term`` (letters and digits), at most :data:`MAX_WORDS`."""
    return [word.lower() for word in _WORD.findall(term[:MAX_TERM])][:MAX_WORDS]


def _is_postgres(queryset: QuerySet[Any]) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _path(product_path: str, field: str) -> str:
    return f"{product_path}__{field}" if product_path else field


def _code_matches(term: str) -> tuple[set[int], set[int]]:
    """Products with a variant whose SKU or GTIN is ``term`` (exact) or starts with it (prefix).
    One query on indexed expressions (``UPPER(sku)`` and ``gtin`` with pattern operators)."""
    if not term or len(term) > MAX_CODE:
        return set(), set()
    exact_q = Q(sku__iexact=term) | Q(gtin=term)
    query = exact_q
    if len(term) >= MIN_PREFIX:
        query |= Q(sku__istartswith=term) | Q(gtin__startswith=term)
    exact: set[int] = set()
    prefix: set[int] = set()
    upper = term.upper()
    for product_id, sku, gtin in Variant.objects.filter(query).values_list(
        "product_id", "sku", "gtin"
    )[:MAX_CODE_MATCHES]:
        (exact if sku.upper() == upper or gtin == term else prefix).add(product_id)
    return exact, prefix - exact


def _code_rank(product_path: str, exact: set[int], prefix: set[int]) -> Case:
    pk = _path(product_path, "pk")
    whens = []
    if exact:
        whens.append(When(**{f"{pk}__in": sorted(exact)}, then=Value(EXACT_RANK)))
    if prefix:
        whens.append(When(**{f"{pk}__in": sorted(prefix)}, then=Value(PREFIX_RANK)))
    return Case(*whens, default=Value(0.0), output_field=FloatField())


def _postgres_name_match(product_path: str, term: str, words: Sequence[str]) -> tuple[Q, Any]:
    """Full-text prefix match of every word on name and brand (the GIN index on the document);
    ranked by full-text rank plus the trigram similarity of the whole name to the term (of two
    names with the words, the one closer to what was typed first)."""
    name = _path(product_path, "name")
    document = SearchVector(name, _path(product_path, "brand"), config="simple")
    query = SearchQuery(
        " & ".join(f"'{word}':*" for word in words), search_type="raw", config="simple"
    )
    rank = SearchRank(document, query) + TrigramSimilarity(F(name), term)
    return Q(SearchVectorExact(document, query)), rank


def _plain_name_match(product_path: str, term: str, words: Sequence[str]) -> tuple[Q, Any]:
    """SQLite: every word is part of the name or starts the brand; a name starting with the
    term ranks above one that merely contains it."""
    matches = Q()
    for word in words:
        matches &= Q(**{f"{_path(product_path, 'name')}__icontains": word}) | Q(
            **{f"{_path(product_path, 'brand')}__istartswith": word}
        )
    rank = Case(
        When(**{f"{_path(product_path, 'name')}__istartswith": term}, then=Value(1.0)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    return matches, rank


def _matching(
    queryset: QuerySet[Any],
    *,
    product_path: str,
    term: str,
    words: Sequence[str],
    codes: tuple[set[int], set[int]],
    extra_rank: Any = None,
) -> QuerySet[Any]:
    exact, prefix = codes
    name_match = _postgres_name_match if _is_postgres(queryset) else _plain_name_match
    if words:
        text, _ = name_match("", term, words)
        joined_text, text_rank = name_match(product_path, term, words)
    else:
        text, joined_text, text_rank = Q(pk__in=[]), Q(pk__in=[]), Value(0.0)
    codes_found = exact | prefix
    matches = (text | Q(pk__in=sorted(codes_found))) if codes_found else text
    if product_path and codes_found:
        # matched on the products themselves, then joined: an OR of the text on a joined
        # product and a list of its ids cannot use the indexes through the join
        matches = Q(**{f"{product_path}__in": Product.objects.filter(matches).values("pk")})
    elif product_path:
        # text alone: the condition on the joined product (GIN scan, then the join) is twice
        # as fast as a semi-join on the matched products at 20,000 products
        matches = joined_text
    rank = _code_rank(product_path, exact, prefix) + text_rank
    if extra_rank is not None:
        rank = rank + extra_rank
    return queryset.filter(matches).annotate(search_rank=Cast(rank, FloatField()))


def _nearest(
    queryset: QuerySet[Any], *, product_path: str, term: str, extra_rank: Any = None
) -> QuerySet[Any]:
    """PostgreSQL, last resort: the products whose name is nearest to ``term`` by trigram word
    distance (the GiST trigram index orders them), at most :data:`NEAREST` with a word
    similarity of 0.25 or more."""
    nearest = (
        Product.objects.exclude(status=Product.Status.ARCHIVED)
        .annotate(search_distance=TrigramWordDistance(term, F("name")))
        .order_by("search_distance")
        .values_list("pk", "search_distance")[:NEAREST]
    )
    ids = [pk for pk, distance in nearest if distance <= NEAREST_MAX_DISTANCE]
    rank: Any = Value(1.0) - TrigramWordDistance(term, F(_path(product_path, "name")))
    if extra_rank is not None:
        rank = rank + extra_rank
    return queryset.filter(**{f"{_path(product_path, 'pk')}__in": ids}).annotate(
        search_rank=Cast(rank, FloatField())
    )


def vocabulary() -> list[str]:
    """Distinct lower-case words of the names and brands of products that are not archived,
    cached for :data:`VOCABULARY_TTL` seconds (a new word is corrected to within minutes)."""
    words = cache.get(VOCABULARY_KEY)
    if words is None:
        seen: set[str] = set()
        for name, brand in (
            Product.objects.exclude(status=Product.Status.ARCHIVED)
            .values_list("name", "brand")
            .iterator(chunk_size=5000)
        ):
            seen.update(search_words(f"{name} {brand}"))
        words = sorted(seen)
        cache.set(VOCABULARY_KEY, words, VOCABULARY_TTL)
    return list(words)


def _known(word: str, known: Sequence[str]) -> bool:
    """``word`` starts a known word (``known`` is sorted)."""
    at = bisect.bisect_left(known, word)
    return at < len(known) and known[at].startswith(word)


def _corrected(words: Sequence[str], known: Sequence[str]) -> list[str]:
    """Each unknown word replaced by the closest known word (``difflib``'s ratio of 0.7 or
    more: a transposition, a missing or an extra letter), else kept."""
    corrected = []
    for word in words:
        if _known(word, known):
            corrected.append(word)
            continue
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.7)
        corrected.append(close[0] if close else word)
    return corrected


def product_search_filter(
    queryset: QuerySet[Any], *, term: str, product_path: str = ""
) -> SearchOutcome:
    """Narrow ``queryset`` to what ``term`` finds, annotated with ``search_rank``.

    ``queryset`` is of products (``product_path=""``) or of rows with a foreign key to a
    product (``product_path="product"``: publications, variants). A blank term returns the
    queryset unchanged (``search_rank`` 0). Queries: one for SKU/GTIN codes, then the caller's
    own; when nothing matches, one to find that out, and a few more to correct the words.
    """
    return _search(queryset, term=term, product_path=product_path)


def _search(
    queryset: QuerySet[Any], *, term: str, product_path: str, extra_rank: Any = None
) -> SearchOutcome:
    """Whether the words need correcting is decided before any product query, from the cached
    vocabulary: a word that starts no known word matches no name or brand. (Asking the
    database whether anything matched would cost a query that, with ``LIMIT 1`` and a rare
    term, the planner answers by scanning every product.)"""
    term = term.strip()[:MAX_TERM]
    words = search_words(term)
    if not term:
        return SearchOutcome(queryset.annotate(search_rank=Value(0.0)), "")
    exact, prefix = _code_matches(term)
    known = vocabulary() if words and not (exact or prefix) else []
    if not known or all(_known(word, known) for word in words):
        found = _matching(
            queryset,
            product_path=product_path,
            term=term,
            words=words,
            codes=(exact, prefix),
            extra_rank=extra_rank,
        )
        return SearchOutcome(found, "")
    corrected = _corrected(words, known)
    if all(_known(word, known) for word in corrected):
        again = _matching(
            queryset,
            product_path=product_path,
            term=" ".join(corrected),
            words=corrected,
            codes=(set(), set()),
            extra_rank=extra_rank,
        )
        return SearchOutcome(again, " ".join(corrected))
    if _is_postgres(queryset):
        nearest = _nearest(queryset, product_path=product_path, term=term, extra_rank=extra_rank)
        return SearchOutcome(nearest, "")
    return SearchOutcome(queryset.none().annotate(search_rank=Value(0.0)), "")


def variant_search_filter(queryset: QuerySet[Variant], *, term: str) -> QuerySet[Variant]:
    """Variants of the products ``term`` finds, annotated with ``search_rank``: the variant
    whose own SKU or GTIN is the term first, then those whose SKU starts with it, then by their
    product's rank."""
    term = term.strip()[:MAX_TERM]
    own = Case(
        When(Q(sku__iexact=term) | Q(gtin=term), then=Value(2 * EXACT_RANK)),
        When(sku__istartswith=term, then=Value(EXACT_RANK)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    return _search(queryset, term=term, product_path="product", extra_rank=own).queryset


# --- facets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class AttributeFacet:
    code: str
    name: str
    values: list[FacetValue]


@dataclass(frozen=True)
class CategoryFacet:
    id: int
    name: str
    full_name: str
    count: int


def product_facets(*, product_ids: QuerySet[Any], kinds: Iterable[str]) -> dict[str, list[Any]]:
    """Counts of products per category, brand and attribute value over ``product_ids`` (a
    queryset of product ids: the whole filtered result, not a page). Categories are the
    products' own (not rolled up to parents); attributes are product attribute values and
    variant options (a product counts once per value), labelled by their options. At most
    :data:`FACET_VALUES` values per facet, the most frequent first. Four queries for all three
    kinds (category counts and names, brands, attributes and their labels: five)."""
    kinds = set(kinds)
    ids = product_ids.order_by()
    facets: dict[str, list[Any]] = {}
    products = Product.objects.filter(pk__in=ids)
    if "category" in kinds:
        rows = (
            products.exclude(category__isnull=True)
            .values("category")
            .annotate(n=Count("pk"))
            .order_by("-n", "category")[:FACET_VALUES]
        )
        counts = {row["category"]: row["n"] for row in rows}
        names = {
            c.pk: c for c in Category.objects.filter(pk__in=list(counts)).only("name", "full_name")
        }
        facets["category"] = [
            CategoryFacet(id=pk, name=names[pk].name, full_name=names[pk].full_name, count=n)
            for pk, n in counts.items()
            if pk in names
        ]
    if "brand" in kinds:
        facets["brand"] = [
            FacetValue(value=row["brand"], label=row["brand"], count=row["n"])
            for row in products.exclude(brand="")
            .values("brand")
            .annotate(n=Count("pk"))
            .order_by("-n", "brand")[:FACET_VALUES]
        ]
    if "attribute" in kinds:
        facets["attribute"] = _attribute_facets(ids)
    return facets


def _attribute_facets(ids: QuerySet[Any]) -> list[AttributeFacet]:
    """Per attribute code, per value: how many of the products have it (on the product or on
    one of its variants). One query, grouping the JSON of the products and of their variants."""
    connection = connections[ids.db]
    each = "jsonb_each_text" if connection.vendor == "postgresql" else "json_each"
    sub_sql, sub_params = ids.query.sql_with_params()
    product_table = Product._meta.db_table
    variant_table = Variant._meta.db_table
    # a key appears once per product's attributes; a variant option value is counted once per
    # product (DISTINCT), however many of its variants have it
    sql = (
        "SELECT a.key, a.value, COUNT(*) "
        f"FROM {product_table} p, {each}(p.attributes) a "
        f"WHERE p.id IN ({sub_sql}) GROUP BY a.key, a.value "
        "UNION ALL "
        "SELECT d.key, d.value, COUNT(*) FROM ("
        f"SELECT DISTINCT v.product_id, o.key, o.value FROM {variant_table} v, "
        f"{each}(v.options) o WHERE v.product_id IN ({sub_sql})"
        ") d GROUP BY d.key, d.value"
    )
    counts: Counter[tuple[str, str]] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*sub_params, *sub_params])
        for key, value, n in cursor.fetchall():
            for one in _scalars(value):
                counts[(str(key), one)] += int(n)
    if not counts:
        return []
    codes = sorted({code for code, _ in counts})
    attributes = {a.code: a for a in Attribute.objects.filter(code__in=codes)}
    labels = {
        (attribute, code): label
        for attribute, code, label in AttributeOption.objects.filter(
            attribute__code__in=codes
        ).values_list("attribute__code", "code", "label")
    }
    facets = []
    for code in codes:
        values = sorted(
            ((value, n) for (c, value), n in counts.items() if c == code),
            key=lambda item: (-item[1], item[0]),
        )[:FACET_VALUES]
        attribute = attributes.get(code)
        facets.append(
            AttributeFacet(
                code=code,
                name=attribute.name if attribute else code,
                values=[
                    FacetValue(value=value, label=labels.get((code, value), value), count=n)
                    for value, n in values
                ],
            )
        )
    return facets


def _scalars(value: Any) -> list[str]:
    """A JSON value as facet values: a list gives each of its scalar items; null and objects
    give none; numbers and booleans their text."""
    if value is None:
        return []
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, (str, int, float, bool))]
    if isinstance(value, dict):
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]
