"""Reads of inventory data used by the API, the admin, pages and tasks."""

from __future__ import annotations

from django.db.models import QuerySet

from inventory.models import Location, StaffMember


def location_list(*, active_only: bool = True) -> QuerySet[Location]:
    queryset = Location.objects.all()
    return queryset.filter(is_active=True) if active_only else queryset


def staff_home_location(*, user_id: int) -> Location | None:
    member = StaffMember.objects.select_related("home_location").filter(user_id=user_id).first()
    return member.home_location if member else None
