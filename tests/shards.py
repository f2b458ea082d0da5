"""Splitting the collected tests into shards: CI's extra Pythons each run one (``.ci/run``)."""

from __future__ import annotations

import os
import re

import pytest

SHARD_ENV = "OMNIHUB_TEST_SHARD"


def shard_keep(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``OMNIHUB_TEST_SHARD=i/n`` keeps the i-th of n shards of the collected tests, whole modules
    at a time, balanced by test count (the largest module goes to the lightest shard), so the n
    shards together run every test exactly once. Every module is still imported by each shard:
    collection comes before the split. CI's extra Pythons each run one shard of the fast subset."""
    spec = os.environ.get(SHARD_ENV, "")
    if not spec:
        return
    match = re.fullmatch(r"(\d+)/(\d+)", spec)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise pytest.UsageError(f"{SHARD_ENV} must be i/n with 1 <= i <= n, not {spec!r}")
    index, count = int(match[1]) - 1, int(match[2])
    per_module: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        per_module[module] = per_module.get(module, 0) + 1
    loads = [0] * count
    shard_of: dict[str, int] = {}
    for module, size in sorted(per_module.items(), key=lambda entry: (-entry[1], entry[0])):
        lightest = loads.index(min(loads))
        shard_of[module] = lightest
        loads[lightest] += size
    kept = [item for item in items if shard_of[item.nodeid.split("::", 1)[0]] == index]
    dropped = [item for item in items if shard_of[item.nodeid.split("::", 1)[0]] != index]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
