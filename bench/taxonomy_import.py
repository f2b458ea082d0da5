"""Benchmark: import the Google product taxonomy (5,595 categories) into an empty tree.

    .venv/bin/python bench/taxonomy_import.py [PATH]     # SQLite in a temporary file
    DATABASE_URL=postgres://... .venv/bin/python bench/taxonomy_import.py [PATH]

PATH is Google's ``taxonomy-with-ids.en-US.txt`` (default: the one in the real-data directory,
``OMNIHUB_SHARED_DIR``/data/google; see docs/catalog.md for where to get it).

Migrates the target database, deletes every category, imports, and prints the wall time, the
number of queries and the peak Python memory of the import.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Category  # noqa: E402
from catalog.services import category_tree_import_google  # noqa: E402
from demo.seed import taxonomy_file  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else taxonomy_file()
    if path is None or not path.is_file():
        sys.exit("No taxonomy file: pass its path (docs/catalog.md says where to get it).")
    call_command("migrate", verbosity=0)
    Category.objects.all().delete()
    tracemalloc.start()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        created = category_tree_import_google(path=path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    print(
        f"{connection.vendor}: {created} categories in {elapsed:.2f} s, "
        f"{len(queries.captured_queries)} queries, peak {peak / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
