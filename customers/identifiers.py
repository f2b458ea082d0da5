"""Normalising identifiers: lower-cased emails and E.164 phone numbers."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customers.exceptions import InvalidIdentifier


def email_normalise(email: str) -> str:
    """Trim and lower-case an email; raise ``InvalidIdentifier`` (field ``email``) if invalid."""
    value = email.strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidIdentifier(
            f"{email!r} is not a valid email address.",
            errors=[{"field": "email", "code": "invalid", "message": "not a valid email"}],
        ) from None
    return value


def phone_normalise(phone: str, *, default_region: str = "NL") -> str:
    """E.164 form of ``phone``; raise ``InvalidIdentifier`` (field ``phone``) if invalid."""
    try:
        parsed = phonenumbers.parse(phone, default_region or None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentifier(
            f"{phone!r} is not a valid phone number.",
            errors=[{"field": "phone", "code": "invalid", "message": "not a valid phone number"}],
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
