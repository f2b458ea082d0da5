"""Where one API request's time goes, in-process, by layer and by query.

Runs a request many times through Django's WSGI handler (the whole middleware stack, no network)
under production settings against an already seeded database, then prints the mean time per
request, the queries it sends, and a cProfile split by layer (middleware, authentication, channel
lookup, selector, rendering).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub_bench REDIS_URL=redis://127.0.0.1:6379/7
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python bench/api_profile.py [--path '/api/v1/availability/?channel=webshop&sku=...']
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 40)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

DEMO_KEY = "DemoWeb1.webshop-demo-secret-do-not-use-in-production"

# (label, substring of "file:function" in cProfile's keys). A function's cumulative time
# includes what it calls, so the layers are read top-down, not summed.
LAYERS = [
    ("whole request (handler)", "base.py:get_response"),
    ("DRF view dispatch", "views.py:dispatch"),
    ("authentication (API key)", "authentication.py:authenticate"),
    ("  of which principal cache/DB", "principal_cache.py:key_entry_get"),
    ("throttle", "throttling.py:allow_request"),
    ("channel lookup (channel_get)", "selectors.py:channel_get"),
    ("availability selector", "selectors.py:channel_availability"),
    ("serializer .data", "serializers.py:data"),
    ("JSON render", "renderers.py:render"),
    ("request-id middleware", "observability.py:__call__"),
    ("DB execute (all)", "utils.py:execute"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default="")
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--key", default=DEMO_KEY)
    parser.add_argument("--top", type=int, default=0, help="also print the top N functions")
    args = parser.parse_args()
    from inventory.models import StockLevel

    path = args.path
    if not path:
        sku = (
            StockLevel.objects.filter(variant__product__publications__channel__code="webshop")
            .values_list("variant__sku", flat=True)
            .first()
        )
        path = f"/api/v1/availability/?channel=webshop&sku={sku}"
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {args.key}", HTTP_HOST="127.0.0.1")
    response = client.get(path)
    assert response.status_code == 200, (response.status_code, response.content[:300])
    for _ in range(20):  # warm up: imports, connections, caches
        client.get(path)
    queries: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        client.get(path)
    start = time.perf_counter()
    for _ in range(args.n):
        client.get(path)
    mean_ms = (time.perf_counter() - start) * 1000 / args.n
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.n):
        client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"{path}: {mean_ms:.2f} ms a request (no profiler), {len(queries)} queries")
    for sql in queries:
        print(f"  {sql[:150]}")
    print("cumulative ms a request (under cProfile, so inflated):")
    entries = stats.stats  # type: ignore[attr-defined]
    for label, needle in LAYERS:
        total = 0.0
        for (filename, _line, function), (_cc, _nc, _tt, ct, _callers) in entries.items():
            if f"{filename}:{function}".endswith(needle):
                total = max(total, ct)
        print(f"  {label:32} {total * 1000 / args.n:7.2f}")
    if args.top:
        stats.strip_dirs().sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
