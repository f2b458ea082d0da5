"""CI's extra Pythons each run one shard of the fast subset (``OMNIHUB_TEST_SHARD``, see
tests/shards.py): the shards must cover every test exactly once, keep modules whole and stay
balanced."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.shards import shard_keep


class _Hook:
    def __init__(self) -> None:
        self.deselected: list[Any] = []

    def pytest_deselected(self, *, items: list[Any]) -> None:
        self.deselected.extend(items)


def _items() -> list[Any]:
    sizes = {"tests/a.py": 40, "tests/b.py": 25, "tests/c.py": 20, "tests/d.py": 10}
    sizes["tests/e.py"] = 5
    return [
        SimpleNamespace(nodeid=f"{module}::test_{n}")
        for module, size in sizes.items()
        for n in range(size)
    ]


def _shard(spec: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    monkeypatch.setenv("OMNIHUB_TEST_SHARD", spec)
    items = _items()
    config = SimpleNamespace(hook=_Hook())
    shard_keep(config, items)  # type: ignore[arg-type]
    return [i.nodeid for i in items], [i.nodeid for i in config.hook.deselected]


def test_shards_cover_every_test_once_with_whole_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    first, first_dropped = _shard("1/2", monkeypatch)
    second, _ = _shard("2/2", monkeypatch)
    everything = sorted(i.nodeid for i in _items())
    assert sorted(first + second) == everything
    assert not set(first) & set(second)
    assert sorted(first + first_dropped) == everything
    modules_first = {n.split("::")[0] for n in first}
    modules_second = {n.split("::")[0] for n in second}
    assert not modules_first & modules_second
    assert len(first) == len(second) == 50  # 40+10 | 25+20+5: the largest first, to the lightest


def test_no_shard_keeps_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNIHUB_TEST_SHARD", raising=False)
    items = _items()
    shard_keep(SimpleNamespace(hook=_Hook()), items)  # type: ignore[arg-type]
    assert len(items) == 100


@pytest.mark.parametrize("spec", ["0/2", "3/2", "x", "1/0"])
def test_a_bad_shard_is_refused(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIHUB_TEST_SHARD", spec)
    with pytest.raises(pytest.UsageError, match="OMNIHUB_TEST_SHARD"):
        shard_keep(SimpleNamespace(hook=_Hook()), _items())  # type: ignore[arg-type]
