"""Real third-party data that some tests use when it is present: Shopify product exports and
Google's product taxonomy, in the real-data directory (``OMNIHUB_SHARED_DIR``, by default a
``shared`` folder next to the checkout: ``data/shopify/*.csv``, ``data/google/...``).

A test that needs them carries ``@pytest.mark.real_data``. Without the files it is skipped with
:data:`MISSING`, which names the variable; with ``OMNIHUB_REQUIRE_REAL_DATA=1`` (as CI sets) the
run fails instead, so CI can never pass with these tests skipped (``tests/conftest.py``).

The suite's own data, made for it, is in ``tests/data/`` and used everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

OWN_DATA = Path(__file__).resolve().parent / "data"
OWN_SHOPIFY = sorted((OWN_DATA / "shopify").glob("*.csv"))

REAL_DATA = Path(settings.SHARED_DIR) / "data"
SHOPIFY_EXPORTS = sorted((REAL_DATA / "shopify").glob("*.csv"))
GOOGLE_TAXONOMY = REAL_DATA / "google" / "taxonomy-with-ids.en-US.txt"
REQUIRE_ENV = "OMNIHUB_REQUIRE_REAL_DATA"


def available() -> bool:
    """Whether the real Shopify exports and the Google taxonomy are all there."""
    return bool(SHOPIFY_EXPORTS) and GOOGLE_TAXONOMY.is_file()


def required() -> bool:
    return bool(os.environ.get(REQUIRE_ENV))


MISSING = (
    f"real data not found in {REAL_DATA}: set OMNIHUB_SHARED_DIR to a folder holding "
    "data/shopify/*.csv (Shopify product exports) and "
    "data/google/taxonomy-with-ids.en-US.txt (Google's product taxonomy)"
)
