"""Writes to inventory. Stock services arrive with the inventory issue; locations and staff
assignments are written here."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from inventory.models import Location, StaffMember


@transaction.atomic
def location_upsert(*, code: str, **fields: Any) -> tuple[Location, bool]:
    """Create the location ``code`` or update its fields; returns it and whether it was created."""
    location, created = Location.objects.update_or_create(code=code, defaults=fields)
    location.full_clean()
    return location, created


def staff_member_assign(*, user_id: int, location: Location) -> StaffMember:
    """Make ``location`` the home location of the staff user ``user_id``."""
    member, _ = StaffMember.objects.update_or_create(
        user_id=user_id, defaults={"home_location": location}
    )
    return member
