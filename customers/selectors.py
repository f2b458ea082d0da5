"""Every read of the customers domain used by the API, the admin, tasks and other apps."""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, Model, OuterRef, Prefetch, Q, QuerySet, Subquery

from customers.exceptions import InvalidIdentifier
from customers.identifiers import phone_normalise
from customers.models import (
    ConsentEvent,
    ConsentPurpose,
    Customer,
    CustomerAudit,
    CustomerChannel,
    CustomerIdentifier,
    CustomerNote,
    CustomerStatus,
    IdentifierKind,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyLot,
    MergeAudit,
    MergeCandidate,
    MergeCandidateStatus,
)


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    granted: bool
    at: datetime | None
    channel_code: str
    source: str
    wording_version: str


def consent_state(*, customer_id: int) -> dict[str, ConsentState]:
    """The current consent per purpose, derived from the append-only log (the latest ``at``,
    then the latest id, wins); a purpose without events is not granted. One query."""
    latest: dict[str, ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(customer_id=customer_id).order_by("at", "id"):
        latest[event.purpose] = event
    states = {}
    for purpose in ConsentPurpose.values:
        current = latest.get(purpose)
        states[purpose] = ConsentState(
            purpose=purpose,
            granted=bool(current and current.granted),
            at=current.at if current else None,
            channel_code=current.channel_code if current else "",
            source=current.source if current else "",
            wording_version=current.wording_version if current else "",
        )
    return states


def customers_with_consent(purpose: str) -> QuerySet[Customer]:
    """Active customers whose current consent for ``purpose`` is granted. Anything that sends
    marketing or exports a segment must start from this queryset."""
    latest = (
        ConsentEvent.objects.filter(customer_id=OuterRef("pk"), purpose=purpose)
        .order_by("-at", "-id")
        .values("granted")[:1]
    )
    return (
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .annotate(consent_granted=Subquery(latest))
        .filter(consent_granted=True)
    )


def loyalty_balance(*, customer_id: int) -> int:
    balance = (
        LoyaltyAccount.objects.filter(customer_id=customer_id)
        .values_list("balance", flat=True)
        .first()
    )
    return balance or 0


def loyalty_ledger(*, customer_id: int) -> QuerySet[LoyaltyEntry]:
    """The customer's ledger, newest first (slice it: it is unbounded)."""
    return LoyaltyEntry.objects.filter(customer_id=customer_id).order_by("-created_at", "-id")


def customer_visible(*, channel_codes: Collection[str] | None) -> QuerySet[Customer]:
    """Customers an API caller may see: all for staff (``None``), otherwise customers linked
    to one of ``channel_codes`` (through ``CustomerChannel``). Merged-away customers are hidden."""
    queryset = Customer.objects.exclude(status=CustomerStatus.MERGED)
    if channel_codes is not None:
        queryset = queryset.filter(
            Exists(
                CustomerChannel.objects.filter(
                    customer_id=OuterRef("pk"), channel_code__in=list(channel_codes)
                )
            )
        )
    return queryset


def customer_list(
    *,
    channel_codes: Collection[str] | None,
    email: str = "",
    phone: str = "",
    loyalty_card: str = "",
) -> QuerySet[Customer]:
    """Visible customers, filtered by already-normalised identifiers (all must match), with
    identifiers, channels and the loyalty account fetched in a fixed number of queries."""
    queryset = customer_visible(channel_codes=channel_codes)
    for kind, value in (
        (IdentifierKind.EMAIL, email),
        (IdentifierKind.PHONE, phone),
        (IdentifierKind.LOYALTY_CARD, loyalty_card),
    ):
        if value:
            queryset = queryset.filter(
                Exists(
                    CustomerIdentifier.objects.filter(
                        customer_id=OuterRef("pk"), kind=kind, namespace="", value=value
                    )
                )
            )
    return customer_with_details(queryset)


def customer_with_details(queryset: QuerySet[Customer]) -> QuerySet[Customer]:
    return queryset.select_related("loyalty_account").prefetch_related(
        Prefetch("identifiers", queryset=CustomerIdentifier.objects.order_by("kind", "id")),
        Prefetch("channel_links", queryset=CustomerChannel.objects.order_by("channel_code")),
    )


def customer_get(*, customer_id: int, channel_codes: Collection[str] | None) -> Customer | None:
    return (
        customer_with_details(customer_visible(channel_codes=channel_codes))
        .filter(pk=customer_id)
        .first()
    )


def customer_search(*, term: str) -> QuerySet[Customer]:
    """Admin search by any identifier (email, phone in any notation, card, handle, external
    id), by name or by id."""
    term = term.strip()
    if not term:
        return Customer.objects.all()
    values = {term, term.lower(), "".join(term.split()).upper(), term.lstrip("@").lower()}
    with contextlib.suppress(InvalidIdentifier):
        values.add(phone_normalise(term))
    condition = Q(name__icontains=term) | Q(
        Exists(CustomerIdentifier.objects.filter(customer_id=OuterRef("pk"), value__in=values))
    )
    if term.lstrip("#").isdigit():
        condition |= Q(pk=int(term.lstrip("#")))
    return Customer.objects.filter(condition)


def merge_candidates_for(*, customer_id: int) -> QuerySet[MergeCandidate]:
    return (
        MergeCandidate.objects.filter(Q(customer_a_id=customer_id) | Q(customer_b_id=customer_id))
        .select_related("customer_a", "customer_b")
        .order_by("-created_at", "-id")
    )


def merge_candidates_open() -> QuerySet[MergeCandidate]:
    return MergeCandidate.objects.filter(status=MergeCandidateStatus.OPEN).select_related(
        "customer_a", "customer_b"
    )


@dataclass(frozen=True)
class RelatedSection:
    """Rows of another app that point at a customer (orders, returns, carts, ...)."""

    label: str
    model: type[Model]
    field_name: str
    count: int
    rows: list[Model]


def customer_related_sections(
    *, customer_id: int, models: Collection[type[Model]], limit: int = 20
) -> list[RelatedSection]:
    """For every foreign key to Customer from ``models`` (e.g. those with an admin page): the
    number of rows and the latest ``limit`` of them. Two queries per relation, whatever the
    history's length."""
    sections = []
    for rel in Customer._meta.related_objects:
        model = rel.related_model
        if rel.many_to_many or not isinstance(model, type) or model not in models:
            continue
        field_name = rel.field.name
        queryset = model._default_manager.filter(**{field_name: customer_id})
        count = queryset.count()
        rows = list(queryset.order_by("-pk")[:limit]) if count else []
        sections.append(
            RelatedSection(
                label=f"{model._meta.verbose_name_plural} ({field_name})",
                model=model,
                field_name=field_name,
                count=count,
                rows=rows,
            )
        )
    return sections


@dataclass(frozen=True)
class Customer360:
    customer: Customer
    identifiers: list[CustomerIdentifier]
    channels: list[CustomerChannel]
    loyalty_balance: int
    ledger: list[LoyaltyEntry]
    live_lots: list[LoyaltyLot]
    consent_state: list[ConsentState]
    consent_log: list[ConsentEvent]
    merge_candidates: list[MergeCandidate]
    notes: list[CustomerNote]
    merges: list[MergeAudit]
    audits: list[CustomerAudit]


def customer_360(*, customer_id: int, rows: int = 50) -> Customer360 | None:
    """Everything customer service needs on one page, each list capped at ``rows`` (newest
    first): a fixed number of queries however long the history."""
    customer = Customer.objects.select_related("merged_into").filter(pk=customer_id).first()
    if customer is None:
        return None
    return Customer360(
        customer=customer,
        identifiers=list(customer.identifiers.order_by("kind", "id")),
        channels=list(customer.channel_links.order_by("first_seen")),
        loyalty_balance=loyalty_balance(customer_id=customer_id),
        ledger=list(loyalty_ledger(customer_id=customer_id)[:rows]),
        live_lots=list(
            LoyaltyLot.objects.filter(customer_id=customer_id, remaining__gt=0).order_by(
                "earned_at", "id"
            )[:rows]
        ),
        consent_state=list(consent_state(customer_id=customer_id).values()),
        consent_log=list(ConsentEvent.objects.filter(customer_id=customer_id)[:rows]),
        merge_candidates=list(merge_candidates_for(customer_id=customer_id)[:rows]),
        notes=list(CustomerNote.objects.filter(customer_id=customer_id)[:rows]),
        merges=list(MergeAudit.objects.filter(survivor_id=customer_id)[:rows]),
        audits=list(CustomerAudit.objects.filter(customer_id=customer_id)[:rows]),
    )


def customer_changelist() -> QuerySet[Customer]:
    """Admin list: the loyalty balance and the email without a query per row."""
    email = (
        CustomerIdentifier.objects.filter(customer_id=OuterRef("pk"), kind=IdentifierKind.EMAIL)
        .order_by("id")
        .values("value")[:1]
    )
    return Customer.objects.select_related("loyalty_account").annotate(email=Subquery(email))
