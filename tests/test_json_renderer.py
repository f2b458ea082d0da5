"""The API's JSON renderer writes exactly what DRF's own renderer writes (issue 15: a faster
encoder must not change a byte partners receive)."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core.api.renderers import FastJSONRenderer


@dataclass
class Point:
    x: int
    y: int


CASES: list[Any] = [
    {"a": 1, "b": [1, 2.5, None, True, False], "c": "text"},
    {"name": "Zoë — “quotes” \\ back\nslash \t tab \u2028 line \u2029 para", "emoji": "🧦"},
    {"amount": Decimal("12.30"), "tiny": Decimal("0.01")},
    {
        "at": datetime.datetime(2026, 11, 28, 21, 5, 7, 123456, tzinfo=datetime.UTC),
        "at_whole": datetime.datetime(2026, 11, 28, 21, 5, 7, tzinfo=datetime.UTC),
        "on": datetime.date(2026, 11, 28),
        "time": datetime.time(9, 30, 1, 500),
        "wait": datetime.timedelta(hours=1, seconds=3),
    },
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("This field is required.")},
    ReturnDict({"k": ReturnList([1, 2], serializer=None)}, serializer=None),
    {"nested": {"deep": [{"x": [{}]}]}, "empty": [], "none": None},
    {1: "integer key"},
    {"big": 2**70, "negative": -(2**63)},
    [],
    "plain string",
]


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_the_bytes_are_drfs(data: Any) -> None:
    expected = JSONRenderer().render(data, "application/json", {})
    assert FastJSONRenderer().render(data, "application/json", {}) == expected


def test_indented_output_is_drfs() -> None:
    data = {"a": [1, {"b": "c"}]}
    accepted = "application/json; indent=4"
    expected = JSONRenderer().render(data, accepted, {})
    assert FastJSONRenderer().render(data, accepted, {}) == expected
    assert b"\n    " in expected


def test_what_drf_cannot_write_is_refused_the_same_way() -> None:
    with pytest.raises(TypeError):
        JSONRenderer().render({"point": Point(1, 2)}, "application/json", {})
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"point": Point(1, 2)}, "application/json", {})


def test_nothing_renders_as_nothing() -> None:
    assert FastJSONRenderer().render(None, "application/json", {}) == b""
