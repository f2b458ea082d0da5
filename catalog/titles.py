"""Channel titles from templates such as ``{brand} {name} {color} {size}``."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from catalog.attributes import display_value

_SPACES = re.compile(r"\s+")


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def template_placeholders(template: str) -> list[str]:
    """The placeholder names of ``template``; raises ``ValueError`` on a malformed template."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"Use plain placeholders such as {{name}}, not {{{name}}}.")
        names.append(name)
    return names


def title_render(
    *,
    template: str,
    name: str,
    brand: str = "",
    category: str = "",
    values: Mapping[str, Any] | None = None,
    option_labels: Mapping[str, str] | None = None,
) -> str:
    """Fill ``template`` (or return ``name`` when there is none); placeholders without a value
    disappear and the spaces around them collapse."""
    if not template:
        return name
    filled = _Values(name=name, brand=brand, category=category)
    for code, value in (values or {}).items():
        if code not in filled:
            filled[code] = display_value(value, option_labels)
    title = string.Formatter().vformat(template, (), filled)
    return _SPACES.sub(" ", title).strip(" -|,")
