"""Country codes: ISO 3166-1 alpha-2, the officially assigned ones, as tax rates and the
countries a channel sells to name them (from pycountry, which tracks the standard)."""

from __future__ import annotations

import pycountry
from django.core.exceptions import ValidationError

from core.errors import DomainError


class CountryInvalid(DomainError):
    """Not an assigned ISO 3166-1 alpha-2 code, or a country named twice."""

    code = "invalid_country"
    status = 400


COUNTRY_CODES: frozenset[str] = frozenset(country.alpha_2 for country in pycountry.countries)


def country_code_validate(value: str) -> None:
    """Refuse anything but an assigned ISO 3166-1 alpha-2 code in capitals (``NL``, not ``nl``)."""
    if value not in COUNTRY_CODES:
        raise ValidationError(
            "%(value)s is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. NL).",
            code="invalid_country",
            params={"value": value},
        )
