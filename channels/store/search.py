"""Finding variants as an associate types or scans: exact SKU/GTIN, prefixes, and a typo-tolerant
fallback that corrects each word to the closest word used in product names."""

from __future__ import annotations

import difflib
import re

from django.core.cache import cache
from django.db.models import Q, QuerySet

from catalog.models import Product, Variant

_WORD = re.compile(r"[\w&'-]+", re.UNICODE)
VOCABULARY_KEY = "store:search:vocabulary"
VOCABULARY_TTL = 300


def _vocabulary() -> list[str]:
    """Distinct lower-case words of product names and brands, cached for a few minutes."""
    words = cache.get(VOCABULARY_KEY)
    if words is None:
        seen: set[str] = set()
        for name, brand in (
            Product.objects.exclude(status=Product.Status.ARCHIVED)
            .values_list("name", "brand")
            .iterator(chunk_size=5000)
        ):
            seen.update(word.lower() for word in _WORD.findall(f"{name} {brand}"))
        words = sorted(seen)
        cache.set(VOCABULARY_KEY, words, VOCABULARY_TTL)
    return list(words)


def _by_words(words: list[str]) -> QuerySet[Product]:
    query = Q()
    for word in words:
        query &= Q(name__icontains=word) | Q(brand__istartswith=word)
    return Product.objects.exclude(status=Product.Status.ARCHIVED).filter(query)


def variant_exact(term: str) -> Variant | None:
    """A scanned barcode or a typed SKU."""
    term = term.strip()
    if not term:
        return None
    return (
        Variant.objects.select_related("product").filter(Q(sku__iexact=term) | Q(gtin=term)).first()
    )


def product_search(term: str, *, limit: int = 20) -> tuple[list[Product], str]:
    """Products for ``term``: SKU prefix, then every word as a prefix or part of the name; when
    nothing matches, each word is corrected to the closest known word and the search retried.
    Returns the products and the corrected term ("" when no correction was needed)."""
    term = term.strip()
    if not term:
        return [], ""
    by_sku = list(
        Product.objects.filter(variants__sku__istartswith=term)
        .exclude(status=Product.Status.ARCHIVED)
        .distinct()
        .order_by("name")[:limit]
    )
    words = [word.lower() for word in _WORD.findall(term)]
    found = list(_by_words(words).order_by("name")[:limit]) if words else []
    results = list(dict.fromkeys(by_sku + found))[:limit]
    if results or not words:
        return results, ""
    vocabulary = _vocabulary()
    corrected = []
    for word in words:
        close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.7)
        prefix = [known for known in vocabulary if known.startswith(word)]
        corrected.append(prefix[0] if prefix else (close[0] if close else word))
    if corrected == words:
        return [], ""
    return list(_by_words(corrected).order_by("name")[:limit]), " ".join(corrected)
