"""Who may see which figures: the channels and locations a caller's reports cover.

One answer for the report pages, the dashboard and the reporting API, so that a store manager's
dashboard, report pages and API session show the same stores, and a partner key's figures never
include another partner's channels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group, Permission

from core.api.permissions import request_principal
from core.models import Channel
from inventory.models import ChannelLocation, StaffMember
from reports.filters import ReportFilters

if TYPE_CHECKING:
    from rest_framework.request import Request

REPORTS_PERMISSION = "reports.view_reports"
# The group ``config.roles.STORE_MANAGER`` defines (config sits above reports: named, not imported).
STORE_MANAGER_ROLE = "Store manager"
_APP_LABEL, _CODENAME = REPORTS_PERMISSION.split(".")


@dataclass(frozen=True)
class ReportScope:
    """The channels and locations a caller may see figures of; ``None`` means every one.

    An empty set means none at all (a store manager without a store, a key without channels):
    the figures are then empty, never unfiltered.
    """

    channel_ids: frozenset[int] | None
    location_ids: frozenset[int] | None

    @property
    def sees_everything(self) -> bool:
        return self.channel_ids is None and self.location_ids is None


EVERYTHING = ReportScope(channel_ids=None, location_ids=None)
NOTHING = ReportScope(channel_ids=frozenset(), location_ids=frozenset())


def report_scope(user: Any) -> ReportScope:
    """The figures a staff user may see.

    Superusers and holders of ``reports.view_reports`` see everything, except a user who holds
    the permission only through the Store manager role: a store manager sees the stores they
    work at (their ``inventory.StaffMember`` memberships), on every channel. A user without the
    permission sees nothing. At most three queries.
    """
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return NOTHING
    if getattr(user, "is_superuser", False):
        return EVERYTHING
    if not user.has_perm(REPORTS_PERMISSION):
        return NOTHING
    if _granted_directly(user):
        return EVERYTHING
    granting_groups = set(
        Group.objects.filter(
            user=user,
            permissions__content_type__app_label=_APP_LABEL,
            permissions__codename=_CODENAME,
        ).values_list("name", flat=True)
    )
    if granting_groups and granting_groups <= {STORE_MANAGER_ROLE}:
        locations = StaffMember.objects.filter(user=user).values_list("location_id", flat=True)
        return ReportScope(channel_ids=None, location_ids=frozenset(locations))
    return EVERYTHING


def _granted_directly(user: Any) -> bool:
    """Whether the user holds the permission of their own (not through a role)."""
    return Permission.objects.filter(
        user=user, content_type__app_label=_APP_LABEL, codename=_CODENAME
    ).exists()


def api_scope(request: Request) -> ReportScope:
    """The figures an API caller may see: a partner key sees its channels (figures kept per
    location alone, stock, are narrowed further by ``channel_locations_scope``); a staff
    session sees what its user sees on the report pages (``report_scope``)."""
    principal = request_principal(request)
    if principal.kind == "staff" or principal.channel_codes is None:
        return report_scope(principal.user) if principal.user is not None else NOTHING
    ids = Channel.objects.filter(code__in=principal.channel_codes).values_list("id", flat=True)
    return ReportScope(channel_ids=frozenset(ids), location_ids=None)


def channel_locations_scope(scope: ReportScope) -> ReportScope:
    """``scope`` for figures kept per location and not per channel (stock): a caller limited to
    channels sees the locations those channels sell from (``inventory.ChannelLocation``)."""
    if scope.channel_ids is None or scope.location_ids is not None:
        return scope
    locations = ChannelLocation.objects.filter(channel_id__in=scope.channel_ids).values_list(
        "location_id", flat=True
    )
    return ReportScope(channel_ids=scope.channel_ids, location_ids=frozenset(locations))


def filters_scoped(filters: ReportFilters, scope: ReportScope) -> ReportFilters:
    """``filters`` narrowed to ``scope``: a filter left empty ("every channel") becomes the
    caller's channels and locations, so an unfiltered report never shows more than the caller
    may see. Codes outside the scope were already refused by ``filters_parse``."""
    changes: dict[str, tuple[int, ...]] = {}
    if filters.channel_ids is None and scope.channel_ids is not None:
        changes["channel_ids"] = tuple(sorted(scope.channel_ids))
    if filters.location_ids is None and scope.location_ids is not None:
        changes["location_ids"] = tuple(sorted(scope.location_ids))
    return replace(filters, **changes) if changes else filters  # type: ignore[arg-type]
