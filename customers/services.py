"""Every write of the customers domain: resolution, merge, consent, GDPR export/erasure, loyalty.

Each service owns its transaction (``transaction.atomic()``, so it also nests as a savepoint in a
caller's block). Locks:

- customers are locked through :func:`_customers_lock`, always in primary-key order, so a merge
  and a resolution touching the same two customers queue instead of deadlocking;
- every loyalty write locks the customer row and then its ``LoyaltyAccount`` row
  (:func:`_loyalty_lock`; the same order as a merge), so balance checks and lot consumption
  happen on a serialised view and the balance cannot go negative (a CHECK constraint backs
  this up).

Every change a partner can see records ``customer.updated`` in the same transaction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.forms.models import model_to_dict
from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.audit import SensitiveAction, audit_record
from core.events import EventType
from core.outbox.services import event_record
from customers.erasure import ErasureSubject
from customers.erasure import queryset_scrub as erasure_queryset_scrub
from customers.exceptions import (
    CustomerNotActive,
    CustomerNotFound,
    InsufficientPoints,
    InvalidConsent,
    InvalidIdentifier,
    InvalidMerge,
    InvalidPoints,
    LoyaltyReferenceReused,
    UnknownLoyaltyReference,
)
from customers.identifiers import email_normalise, phone_normalise
from customers.models import (
    AuditAction,
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
    LoyaltyEarnRule,
    LoyaltyEntry,
    LoyaltyEntryKind,
    LoyaltyLot,
    MergeAudit,
    MergeCandidate,
    MergeCandidateStatus,
    Redemption,
    RedemptionAllocation,
    RedemptionStatus,
)
from customers.selectors import consent_state

RESOLVE_ATTEMPTS = 3

# --- helpers ----------------------------------------------------------------------------------


def _customer_event(customer: Customer, *, channel_codes: Iterable[str] | None = None) -> None:
    """Record ``customer.updated`` once per channel the customer belongs to, each scoped to its
    channel, so a partner's webhooks never reveal customers of other partners' channels. A
    customer linked to no channel is visible to no partner: nothing is recorded."""
    if channel_codes is None:
        channel_codes = CustomerChannel.objects.filter(customer_id=customer.pk).values_list(
            "channel_code", flat=True
        )
    payload = {"id": customer.pk, "status": customer.status, "merged_into": customer.merged_into_id}
    for code in sorted(set(channel_codes)):
        event_record(
            topic=EventType.CUSTOMER_UPDATED,
            aggregate="customer",
            aggregate_id=customer.pk,
            payload=payload,
            channel_code=code,
        )


def _customers_lock(customer_ids: Iterable[int]) -> dict[int, Customer]:
    """Lock the customers in primary-key order; missing ids raise ``CustomerNotFound``."""
    ids = sorted(set(customer_ids))
    rows = list(Customer.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
    found = {row.pk: row for row in rows}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise CustomerNotFound(f"No customer #{missing[0]}.", extra={"customer_id": missing[0]})
    return found


def _active_customer_id(customer_id: int) -> int:
    """Follow merges to the surviving customer; refuse an erased or unknown customer."""
    seen: set[int] = set()
    current = customer_id
    while True:
        row = Customer.objects.filter(pk=current).values("status", "merged_into_id").first()
        if row is None:
            raise CustomerNotFound(f"No customer #{current}.", extra={"customer_id": current})
        if row["status"] == CustomerStatus.ACTIVE:
            return current
        if row["status"] == CustomerStatus.ERASED or row["merged_into_id"] is None:
            raise CustomerNotActive(f"Customer #{current} was erased.")
        seen.add(current)
        current = row["merged_into_id"]
        if current in seen:  # pragma: no cover - a cycle cannot be created by customer_merge
            raise CustomerNotActive(f"Customer #{customer_id} has a merge cycle.")


def customer_channel_link(*, customer_id: int, channel_code: str) -> bool:
    """Record that the customer was seen on ``channel_code`` (partners of that channel then see
    it). Returns True when the link is new. Idempotent and safe under concurrency."""
    if not channel_code:
        return False
    created = CustomerChannel.objects.bulk_create(
        [CustomerChannel(customer_id=customer_id, channel_code=channel_code)],
        ignore_conflicts=True,
    )
    del created  # ignore_conflicts never reports whether the row was new
    return True


# --- resolution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolveResult:
    customer: Customer
    created: bool
    merge_candidate: MergeCandidate | None = None


@dataclass(frozen=True)
class _Key:
    kind: str
    namespace: str
    value: str


def _resolve_keys(
    *,
    email: str,
    phone: str,
    loyalty_card: str,
    channel_code: str,
    external_id: str,
    default_region: str,
) -> list[_Key]:
    """Normalised identifiers in precedence order: external id on the channel, loyalty card,
    email, phone (the most specific first: a phone is the likeliest to be shared or recycled)."""
    keys: list[_Key] = []
    if external_id.strip():
        if not channel_code:
            raise InvalidIdentifier(
                "An external id needs the channel it belongs to.",
                errors=[{"field": "channel_code", "code": "required", "message": "required"}],
            )
        keys.append(_Key(IdentifierKind.EXTERNAL, channel_code, external_id.strip()))
    if loyalty_card.strip():
        card = "".join(loyalty_card.split()).upper()
        if len(card) > 64:
            raise InvalidIdentifier(
                "The loyalty card number is too long.",
                errors=[{"field": "loyalty_card", "code": "max_length", "message": "max 64"}],
            )
        keys.append(_Key(IdentifierKind.LOYALTY_CARD, "", card))
    if email.strip():
        keys.append(_Key(IdentifierKind.EMAIL, "", email_normalise(email)))
    if phone.strip():
        keys.append(
            _Key(IdentifierKind.PHONE, "", phone_normalise(phone, default_region=default_region))
        )
    if not keys:
        raise InvalidIdentifier(
            "Give at least one of email, phone, loyalty card or external id.",
            errors=[{"field": "email", "code": "required", "message": "no identifier given"}],
        )
    return keys


def customer_resolve(
    *,
    email: str = "",
    phone: str = "",
    loyalty_card: str = "",
    name: str = "",
    channel_code: str = "",
    external_id: str = "",
    default_region: str = "NL",
) -> ResolveResult:
    """Find the customer by any identifier, create one when none matches, attach the new
    identifiers and link the channel.

    When identifiers point at different customers nothing is merged: an open ``MergeCandidate``
    is recorded and the customer matched by the strongest identifier is returned (precedence:
    external id, loyalty card, email, phone); identifiers that matched nobody go to that customer.

    Concurrency: identifier uniqueness is a database constraint. Two concurrent resolutions of a
    new identifier both try to insert; the loser's savepoint rolls back on the ``IntegrityError``
    and it retries, now finding the winner's customer. Locks the matched customer row.
    """
    keys = _resolve_keys(
        email=email,
        phone=phone,
        loyalty_card=loyalty_card,
        channel_code=channel_code,
        external_id=external_id,
        default_region=default_region,
    )
    for attempt in range(RESOLVE_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve_once(keys=keys, name=name.strip()[:200], channel_code=channel_code)
        except IntegrityError:
            if attempt == RESOLVE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve_once(*, keys: list[_Key], name: str, channel_code: str) -> ResolveResult:
    condition = Q(pk__in=[])
    for key in keys:
        condition |= Q(kind=key.kind, namespace=key.namespace, value=key.value)
    owners = {
        _Key(kind, namespace, value): customer_id
        for kind, namespace, value, customer_id in CustomerIdentifier.objects.filter(
            condition
        ).values_list("kind", "namespace", "value", "customer_id")
    }
    matched = [owners[key] for key in keys if key in owners]
    created = False
    candidate: MergeCandidate | None = None
    if not matched:
        customer = Customer.objects.create(name=name)
        created = True
    else:
        primary_id = matched[0]
        locked = _customers_lock(set(matched))
        customer = locked[primary_id]
        if customer.status != CustomerStatus.ACTIVE:  # merged while we looked: start again
            raise IntegrityError("matched customer is no longer active")
        for other_id in dict.fromkeys(matched[1:]):
            if other_id == primary_id:
                continue
            reason = ", ".join(
                f"{key.kind} {key.value}" for key in keys if owners.get(key) == other_id
            )
            low, high = sorted((primary_id, other_id))
            found, _ = MergeCandidate.objects.get_or_create(
                customer_a_id=low,
                customer_b_id=high,
                status=MergeCandidateStatus.OPEN,
                defaults={"reason": f"Resolved together: {reason}"[:300]},
            )
            candidate = candidate or found
    new_keys = [key for key in keys if key not in owners]
    CustomerIdentifier.objects.bulk_create(
        [
            CustomerIdentifier(
                customer=customer,
                kind=key.kind,
                namespace=key.namespace,
                value=key.value,
                channel_code=channel_code,
            )
            for key in new_keys
        ]
    )
    changed = created or bool(new_keys)
    if not created:  # a new customer was inserted with its name and timestamps already
        if name and not customer.name:
            customer.name = name
            customer.save(update_fields=["name", "updated_at"])
            changed = True
        elif changed:
            customer.save(update_fields=["updated_at"])
    customer_channel_link(customer_id=customer.pk, channel_code=channel_code)
    if changed:
        _customer_event(customer)
    return ResolveResult(customer=customer, created=created, merge_candidate=candidate)


def customer_identifier_add(
    *, customer_id: int, kind: str, value: str, namespace: str = "", channel_code: str = ""
) -> CustomerIdentifier:
    """Attach one identifier (e.g. a social handle) to a customer; normalises email/phone and
    refuses a value that already belongs to another customer (``invalid_identifier``)."""
    if kind not in IdentifierKind.values:
        raise InvalidIdentifier(
            f"Unknown identifier kind {kind!r}.",
            errors=[{"field": "kind", "code": "invalid_choice", "message": "unknown kind"}],
        )
    if kind == IdentifierKind.EMAIL:
        value = email_normalise(value)
    elif kind == IdentifierKind.PHONE:
        value = phone_normalise(value)
    elif kind == IdentifierKind.SOCIAL:
        value = value.strip().lstrip("@").lower()
    else:
        value = value.strip()
    if not value:
        raise InvalidIdentifier(
            "The identifier is empty.",
            errors=[{"field": "value", "code": "required", "message": "required"}],
        )
    with transaction.atomic():
        customer = _customers_lock([customer_id])[customer_id]
        if customer.status != CustomerStatus.ACTIVE:
            raise CustomerNotActive(f"Customer #{customer_id} is {customer.status}.")
        existing = CustomerIdentifier.objects.filter(kind=kind, namespace=namespace, value=value)
        owner = existing.values_list("customer_id", flat=True).first()
        if owner is not None and owner != customer_id:
            raise InvalidIdentifier(
                f"{kind} {value} already belongs to customer #{owner}.",
                code="identifier_taken",
                errors=[{"field": "value", "code": "taken", "message": "belongs to another"}],
            )
        if owner == customer_id:
            return existing.get()
        identifier = CustomerIdentifier.objects.create(
            customer=customer,
            kind=kind,
            namespace=namespace,
            value=value,
            channel_code=channel_code,
        )
        customer_channel_link(customer_id=customer_id, channel_code=channel_code)
        customer.save(update_fields=["updated_at"])
        _customer_event(customer)
    return identifier


def customer_rename(*, customer_id: int, name: str) -> Customer:
    """Change the display name (admin); refused for a merged or erased customer."""
    with transaction.atomic():
        customer = _customers_lock([customer_id])[customer_id]
        if customer.status != CustomerStatus.ACTIVE:
            raise CustomerNotActive(f"Customer #{customer_id} is {customer.status}.")
        if customer.name != name.strip()[:200]:
            customer.name = name.strip()[:200]
            customer.save(update_fields=["name", "updated_at"])
            _customer_event(customer)
    return customer


def customer_note_add(*, customer_id: int, text: str, actor: Actor) -> CustomerNote:
    if not text.strip():
        raise InvalidIdentifier(
            "A note needs text.",
            code="invalid_note",
            errors=[{"field": "text", "code": "required", "message": "required"}],
        )
    with transaction.atomic():
        customer = _customers_lock([customer_id])[customer_id]
        if customer.status == CustomerStatus.ERASED:
            raise CustomerNotActive(f"Customer #{customer_id} was erased.")
        return CustomerNote.objects.create(customer=customer, text=text.strip(), **actor.fields())


def merge_candidate_dismiss(*, candidate_id: int) -> MergeCandidate:
    with transaction.atomic():
        candidate = MergeCandidate.objects.select_for_update().get(pk=candidate_id)
        if candidate.status == MergeCandidateStatus.OPEN:
            candidate.status = MergeCandidateStatus.DISMISSED
            candidate.save(update_fields=["status"])
    return candidate


# --- merge ------------------------------------------------------------------------------------

# Relations the merge handles itself rather than by re-pointing the foreign key.
_MERGE_SPECIAL = {
    (LoyaltyAccount, "customer"),
    (MergeCandidate, "customer_a"),
    (MergeCandidate, "customer_b"),
    (CustomerChannel, "customer"),
    (MergeAudit, "survivor"),
    (CustomerAudit, "customer"),  # GDPR actions stay recorded against the customer they concerned
}


def _customer_relations() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every foreign key to Customer, in any installed app."""
    relations: list[tuple[type[models.Model], str]] = []
    for rel in Customer._meta.related_objects:
        if rel.many_to_many or rel.field is None:
            continue
        model = rel.related_model
        if not isinstance(model, type):
            continue
        relations.append((model, rel.field.name))
    return relations


def _relation_label(model: type[models.Model], field_name: str) -> str:
    return f"{model._meta.label}.{field_name}"


def customer_merge_preview(*, survivor_id: int, loser_id: int) -> dict[str, int]:
    """Rows that a merge of ``loser_id`` into ``survivor_id`` would move, per relation
    ("app_label.Model.field" -> count, zero counts omitted); one COUNT per relation."""
    _merge_check(survivor_id=survivor_id, loser_id=loser_id, customers=None)
    counts: dict[str, int] = {}
    for model, field_name in _customer_relations():
        if (model, field_name) in _MERGE_SPECIAL and model is not CustomerChannel:
            continue
        count = model._base_manager.filter(**{field_name: loser_id}).count()
        if count:
            counts[_relation_label(model, field_name)] = count
    balance = LoyaltyAccount.objects.filter(customer_id=loser_id).values_list("balance", flat=True)
    if balance and balance[0]:
        counts["loyalty points"] = balance[0]
    return counts


def _merge_check(*, survivor_id: int, loser_id: int, customers: dict[int, Customer] | None) -> None:
    if survivor_id == loser_id:
        raise InvalidMerge("A customer cannot be merged into itself.")
    if customers is None:
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=[survivor_id, loser_id])}
    for pk in (survivor_id, loser_id):
        if pk not in customers:
            raise CustomerNotFound(f"No customer #{pk}.", extra={"customer_id": pk})
        if customers[pk].status != CustomerStatus.ACTIVE:
            raise InvalidMerge(f"Customer #{pk} is {customers[pk].status}.")


def customer_merge(*, survivor_id: int, loser_id: int, actor: Actor) -> MergeAudit:
    """Move everything of ``loser_id`` to ``survivor_id`` in one transaction and audit it.

    Every row of any app with a foreign key to Customer is re-pointed (found through
    ``Customer._meta.related_objects``, so orders, returns and carts move without this app
    importing them); loyalty balances are added; channel links are united; open merge candidates
    between the two are closed and the loser's other candidates follow the survivor. The loser
    stays as a ``merged`` row pointing at the survivor. Locks both customers in pk order, then the
    loyalty accounts.
    """
    with transaction.atomic():
        customers = _customers_lock([survivor_id, loser_id])
        _merge_check(survivor_id=survivor_id, loser_id=loser_id, customers=customers)
        survivor, loser = customers[survivor_id], customers[loser_id]
        moved: dict[str, int] = {}

        # Loyalty: one account per customer; add the loser's balance to the survivor's.
        accounts = {
            a.customer_id: a
            for a in LoyaltyAccount.objects.select_for_update()
            .filter(customer_id__in=sorted((survivor_id, loser_id)))
            .order_by("pk")
        }
        if loser_id in accounts:
            points = accounts[loser_id].balance
            survivor_account = accounts.get(survivor_id) or _account_lock(survivor_id)
            survivor_account.balance = F("balance") + points
            survivor_account.save(update_fields=["balance", "updated_at"])
            survivor_account.refresh_from_db(fields=["balance"])
            accounts[loser_id].delete()
            if points:
                LoyaltyEntry.objects.create(
                    customer=survivor,
                    kind=LoyaltyEntryKind.MERGE_IN,
                    points=points,
                    balance_after=survivor_account.balance,
                    reference=f"merge:{loser_id}",
                )
                moved["loyalty points"] = points

        loser_channels = list(
            CustomerChannel.objects.filter(customer_id=loser_id).values_list(
                "channel_code", flat=True
            )
        )
        # Channel links: drop the ones the survivor already has, move the rest.
        have = set(
            CustomerChannel.objects.filter(customer_id=survivor_id).values_list(
                "channel_code", flat=True
            )
        )
        CustomerChannel.objects.filter(customer_id=loser_id, channel_code__in=have).delete()
        count = CustomerChannel.objects.filter(customer_id=loser_id).update(customer=survivor)
        if count:
            moved[_relation_label(CustomerChannel, "customer")] = count

        # Merge candidates: close the pair, re-point the loser's other open candidates.
        pair = MergeCandidate.objects.filter(
            customer_a_id=min(survivor_id, loser_id), customer_b_id=max(survivor_id, loser_id)
        )
        pair.filter(status=MergeCandidateStatus.OPEN).update(status=MergeCandidateStatus.MERGED)
        for candidate in MergeCandidate.objects.filter(
            Q(customer_a_id=loser_id) | Q(customer_b_id=loser_id),
            status=MergeCandidateStatus.OPEN,
        ):
            other = (
                candidate.customer_b_id
                if candidate.customer_a_id == loser_id
                else candidate.customer_a_id
            )
            candidate.status = MergeCandidateStatus.DISMISSED
            candidate.save(update_fields=["status"])
            MergeCandidate.objects.get_or_create(
                customer_a_id=min(survivor_id, other),
                customer_b_id=max(survivor_id, other),
                status=MergeCandidateStatus.OPEN,
                defaults={"reason": f"Inherited from #{loser_id}: {candidate.reason}"[:300]},
            )

        # Everything else, in any app: re-point the foreign key.
        for model, field_name in _customer_relations():
            if (model, field_name) in _MERGE_SPECIAL:
                continue
            if model is Customer and field_name == "merged_into":
                pass  # customers merged into the loser earlier now point at the survivor
            count = model._base_manager.filter(**{field_name: loser_id}).update(
                **{field_name: survivor_id}
            )
            if count:
                moved[_relation_label(model, field_name)] = count

        loser.status = CustomerStatus.MERGED
        loser.merged_into = survivor
        loser.save(update_fields=["status", "merged_into", "updated_at"])
        if not survivor.name and loser.name:
            survivor.name = loser.name
        survivor.save(update_fields=["name", "updated_at"])
        audit = MergeAudit.objects.create(
            survivor=survivor, loser_id=loser_id, moved=moved, **actor.fields()
        )
        _customer_event(loser, channel_codes=loser_channels)
        _customer_event(survivor)
        audit_record(
            action=SensitiveAction.CUSTOMER_MERGE,
            actor=actor,
            target=survivor,
            data={"survivor_id": survivor_id, "loser_id": loser_id, "merge_audit_id": audit.pk},
        )
    return audit


# --- consent ----------------------------------------------------------------------------------


def consent_record(
    *,
    customer_id: int,
    purpose: str,
    granted: bool,
    channel_code: str,
    source: str,
    wording_version: str,
    at: datetime | None = None,
) -> ConsentEvent:
    """Append a grant or withdrawal to the consent log (never updated nor deleted)."""
    errors = []
    if purpose not in ConsentPurpose.values:
        errors.append({"field": "purpose", "code": "invalid_choice", "message": "unknown purpose"})
    if not source.strip():
        errors.append({"field": "source", "code": "required", "message": "required"})
    if not wording_version.strip():
        errors.append({"field": "wording_version", "code": "required", "message": "required"})
    now = timezone.now()
    if at is not None and at > now + timedelta(minutes=5):
        errors.append({"field": "at", "code": "in_future", "message": "in the future"})
    if errors:
        raise InvalidConsent(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        )
    with transaction.atomic():
        customer = _customers_lock([customer_id])[customer_id]
        if customer.status != CustomerStatus.ACTIVE:
            raise CustomerNotActive(f"Customer #{customer_id} is {customer.status}.")
        event = ConsentEvent.objects.create(
            customer=customer,
            purpose=purpose,
            granted=granted,
            channel_code=channel_code,
            source=source.strip()[:100],
            wording_version=wording_version.strip()[:50],
            at=at or now,
        )
        customer_channel_link(customer_id=customer_id, channel_code=channel_code)
        customer.save(update_fields=["updated_at"])
        _customer_event(customer)
    return event


# --- GDPR: export and erasure -----------------------------------------------------------------


def _rows(queryset: Any) -> list[dict[str, Any]]:
    return [model_to_dict(row) | {"id": row.pk} for row in queryset]


def customer_export(*, customer_id: int, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Everything held about the customer as JSON-serialisable data, audited.

    Besides this app's rows, every row of any app with a foreign key to Customer is included
    (grouped by "app_label.Model.field"). One query per relation.
    """
    with transaction.atomic():
        customer = _customers_lock([customer_id])[customer_id]
        data: dict[str, Any] = {
            "customer": model_to_dict(customer)
            | {
                "id": customer.pk,
                "created_at": customer.created_at,
                "updated_at": customer.updated_at,
            },
            "exported_at": timezone.now(),
            "related": {},
        }
        for model, field_name in _customer_relations():
            queryset = model._base_manager.filter(**{field_name: customer_id}).order_by("pk")
            rows = _rows(queryset)
            if rows:
                data["related"][_relation_label(model, field_name)] = rows
        data["consent_state"] = {
            purpose: {"granted": state.granted, "at": state.at}
            for purpose, state in consent_state(customer_id=customer_id).items()
        }
        data["loyalty_balance"] = (
            LoyaltyAccount.objects.filter(customer_id=customer_id)
            .values_list("balance", flat=True)
            .first()
            or 0
        )
        result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
        CustomerAudit.objects.create(
            customer=customer,
            action=AuditAction.EXPORT,
            detail={"relations": sorted(result["related"])},
            **actor.fields(),
        )
    return result


EraseHook = Callable[[ErasureSubject], object]
ValuesHook = Callable[[ErasureSubject], object]
_erase_hooks: list[tuple[EraseHook, ValuesHook | None]] = []


def customer_erase_hook_register(hook: EraseHook, *, values: ValuesHook | None = None) -> None:
    """Apps that keep their own copy of personal data for a customer (an order's shipping
    address, a cart's email, a delivery's payload) register here, from their ``AppConfig.ready``
    (idempotent registration).

    ``values(subject)`` adds the person's values that only the app knows (an order's email as
    typed, its address lines) with ``subject.add``; it runs first, for every app, before
    anything is erased (``subject.customer_ids`` says whose).
    ``hook(subject)`` then scrubs the app's copies with the complete :class:`ErasureSubject`,
    inside the erasure transaction (so a failing hook erases nothing)."""
    if all(registered is not hook for registered, _ in _erase_hooks):
        _erase_hooks.append((hook, values))


def _erasure_subject(customer: Customer) -> ErasureSubject:
    """Everything that identifies the person, read before anything is erased: the customer's
    name and identifiers, those of the customers merged into it, and the values the apps
    registered (``values`` of :func:`customer_erase_hook_register`)."""
    subject = ErasureSubject(customer_id=customer.pk, customer_ids={customer.pk})
    frontier = {customer.pk}
    while frontier:  # customers merged into this one, at any depth
        merged = set(
            Customer.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        frontier = merged - subject.customer_ids
        subject.customer_ids |= frontier
    names = Customer.objects.filter(pk__in=subject.customer_ids).values_list("name", flat=True)
    subject.add(*names)
    for kind, value in CustomerIdentifier.objects.filter(
        customer_id__in=subject.customer_ids
    ).values_list("kind", "value"):
        if kind == IdentifierKind.PHONE:
            subject.add_phone(value)
        else:
            subject.add(value)
    for _hook, values in list(_erase_hooks):
        if values is not None:
            values(subject)
    return subject


def customer_erase(*, customer_id: int, actor: Actor) -> CustomerAudit:
    """Anonymise the customer's personal data, irreversibly, and audit it.

    The person's values are gathered first (:func:`_erasure_subject`). Then, in one transaction:
    the name is blanked (also of the customers merged into this one), identifiers and notes are
    deleted, merge candidates, consent sources and audit details are scrubbed, and every app's
    erase hook scrubs its copies (orders, carts, notifications, returns, deliveries; the shared
    tables of ``customers.erasure.shared_copies_erase``). Amounts, dates, lines, the loyalty
    ledger and the consent log stay for accounting and proof. Refuses a merged-away customer
    (erase the survivor) and an already erased one. Locks the customer row.
    """
    with transaction.atomic():
        customer = _customers_lock([customer_id])[customer_id]
        if customer.status != CustomerStatus.ACTIVE:
            raise CustomerNotActive(f"Customer #{customer_id} is {customer.status}.")
        subject = _erasure_subject(customer)
        ids = subject.customer_ids
        identifiers, _ = CustomerIdentifier.objects.filter(customer_id__in=ids).delete()
        notes, _ = CustomerNote.objects.filter(customer_id__in=ids).delete()
        MergeCandidate.objects.filter(
            Q(customer_a=customer) | Q(customer_b=customer), status=MergeCandidateStatus.OPEN
        ).update(status=MergeCandidateStatus.DISMISSED)
        candidates = MergeCandidate.objects.filter(
            Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids)
        )
        erasure_queryset_scrub(candidates, subject, fields=["reason"])
        erasure_queryset_scrub(ConsentEvent.objects.filter(customer_id__in=ids), subject)
        erasure_queryset_scrub(CustomerAudit.objects.filter(customer_id__in=ids), subject)
        Customer.objects.filter(pk__in=ids - {customer_id}).update(name="")
        for hook, _values in list(_erase_hooks):
            hook(subject)
        customer.name = ""
        customer.status = CustomerStatus.ERASED
        customer.erased_at = timezone.now()
        customer.save(update_fields=["name", "status", "erased_at", "updated_at"])
        audit = CustomerAudit.objects.create(
            customer=customer,
            action=AuditAction.ERASE,
            detail={"identifiers_deleted": identifiers, "notes_deleted": notes},
            **actor.fields(),
        )
        _customer_event(customer)
        audit_record(action=SensitiveAction.CUSTOMER_ERASE, actor=actor, target=customer)
    return audit


# --- loyalty ----------------------------------------------------------------------------------


def _point_value() -> Decimal:
    return Decimal(str(getattr(settings, "LOYALTY_POINT_VALUE", "0.01")))


def _expire_days() -> int:
    return int(getattr(settings, "LOYALTY_POINTS_EXPIRE_DAYS", 365))


def _earn_rate(channel_code: str) -> Decimal:
    rule = (
        LoyaltyEarnRule.objects.filter(channel_code=channel_code)
        .values_list("points_per_unit", flat=True)
        .first()
    )
    if rule is not None:
        return Decimal(rule)
    rates: dict[str, Any] = getattr(settings, "LOYALTY_EARN_RATES", {})
    return Decimal(str(rates.get(channel_code, rates.get("", 1))))


def _loyalty_lock(
    customer_id: int, *, require_active: bool = True
) -> tuple[Customer, LoyaltyAccount]:
    """Lock the customer (following merges to the survivor) and then its loyalty account, in
    the order a merge locks them. Every loyalty write goes through here."""
    for _attempt in range(5):
        target = _active_customer_id(customer_id) if require_active else customer_id
        customer = _customers_lock([target])[target]
        if customer.status == CustomerStatus.MERGED and customer.merged_into_id is not None:
            customer_id = customer.merged_into_id  # merged while we waited for the lock
            continue
        if require_active and customer.status != CustomerStatus.ACTIVE:
            raise CustomerNotActive(f"Customer #{target} is {customer.status}.")
        return customer, _account_lock(target)
    raise CustomerNotActive(f"Customer #{customer_id} keeps being merged; try again.")


def _account_lock(customer_id: int) -> LoyaltyAccount:
    """Create the account if needed and lock it; the caller already locked the customer."""
    LoyaltyAccount.objects.bulk_create(
        [LoyaltyAccount(customer_id=customer_id)], ignore_conflicts=True
    )
    return LoyaltyAccount.objects.select_for_update().get(customer_id=customer_id)


def _entry(
    account: LoyaltyAccount,
    *,
    kind: str,
    points: int,
    reference: str,
    channel_code: str = "",
    unrecoverable: int = 0,
) -> LoyaltyEntry:
    """Apply ``points`` (signed) to the locked account and write the ledger row."""
    if points:
        updated = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=max(0, -points)).update(
            balance=F("balance") + points, updated_at=timezone.now()
        )
        if updated != 1:  # pragma: no cover - the lock and the checks prevent it
            raise InsufficientPoints("Not enough points.", extra={"balance": account.balance})
        account.balance += points
    return LoyaltyEntry.objects.create(
        customer_id=account.customer_id,
        kind=kind,
        points=points,
        unrecoverable=unrecoverable,
        balance_after=account.balance,
        reference=reference,
        channel_code=channel_code,
    )


def _lots_consume(
    customer_id: int, points: int, *, first: LoyaltyLot | None = None
) -> list[tuple[LoyaltyLot, int]]:
    """Take ``points`` from the customer's live lots, oldest first (``first`` before the rest).
    Caller holds the account lock and has checked the balance."""
    lots = list(
        LoyaltyLot.objects.filter(customer_id=customer_id, remaining__gt=0).order_by(
            "earned_at", "id"
        )
    )
    if first is not None:
        lots.sort(key=lambda lot: lot.pk != first.pk)
    taken: list[tuple[LoyaltyLot, int]] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        taken.append((lot, take))
    LoyaltyLot.objects.bulk_update([lot for lot, _ in taken], ["remaining"])
    return taken


def _expire_locked(account: LoyaltyAccount, now: datetime) -> int:
    lots = list(
        LoyaltyLot.objects.filter(
            customer_id=account.customer_id, remaining__gt=0, expires_at__lte=now
        ).order_by("earned_at", "id")
    )
    total = sum(lot.remaining for lot in lots)
    for lot in lots:
        lot.remaining = 0
        lot.expired = True
    LoyaltyLot.objects.bulk_update(lots, ["remaining", "expired"])
    if total:
        _entry(account, kind=LoyaltyEntryKind.EXPIRE, points=-total, reference="expiry")
    return total


def loyalty_earn(
    *, customer_id: int, amount: Decimal, currency: str, channel_code: str, reference: str
) -> int:
    """Earn points for a completed order: ``floor(amount * rate)`` with the channel's rate
    (``LoyaltyEarnRule``, else settings ``LOYALTY_EARN_RATES``, else 1 per whole unit), as one lot
    expiring after ``LOYALTY_POINTS_EXPIRE_DAYS``. Idempotent per ``reference``: a repeat returns
    the points of the first call. Follows merges to the surviving customer. Locks the account."""
    if amount < 0:
        raise InvalidPoints(
            "The amount cannot be negative.",
            errors=[{"field": "amount", "code": "min_value", "message": "must be >= 0"}],
        )
    if not reference:
        raise InvalidPoints(
            "A reference is required.",
            errors=[{"field": "reference", "code": "required", "message": "required"}],
        )
    points = int((amount * _earn_rate(channel_code)).to_integral_value(rounding=ROUND_DOWN))
    with transaction.atomic():
        customer, account = _loyalty_lock(customer_id)
        target = customer.pk
        existing = LoyaltyLot.objects.filter(reference=reference).first()
        if existing is not None:
            if _active_customer_id(existing.customer_id) != target:
                raise LoyaltyReferenceReused(
                    f"Reference {reference!r} earned points for another customer."
                )
            return existing.points
        now = timezone.now()
        LoyaltyLot.objects.create(
            customer_id=target,
            reference=reference,
            channel_code=channel_code,
            amount=amount,
            currency=currency.upper()[:3],
            points=points,
            remaining=points,
            earned_at=now,
            expires_at=now + timedelta(days=_expire_days()),
        )
        if points:
            _entry(
                account,
                kind=LoyaltyEntryKind.EARN,
                points=points,
                reference=reference,
                channel_code=channel_code,
            )
        customer_channel_link(customer_id=target, channel_code=channel_code)
        customer.save(update_fields=["updated_at"])
        _customer_event(customer)
    return points


def loyalty_earn_reverse(*, reference: str, amount: Decimal | None = None) -> int:
    """Take back points earned by ``reference`` after a return: all that is left of them, or the
    share ``amount / earned amount`` for a partial return (rounded down, never more than was
    earned and not yet reversed). Points the customer already spent are not clawed below zero:
    what the balance cannot cover is recorded as ``unrecoverable`` on the ledger row. Returns the
    points actually deducted. Locks the account."""
    lot = LoyaltyLot.objects.filter(reference=reference).first()
    if lot is None:
        raise UnknownLoyaltyReference(f"No points were earned with reference {reference!r}.")
    if amount is not None and amount < 0:
        raise InvalidPoints(
            "The amount cannot be negative.",
            errors=[{"field": "amount", "code": "min_value", "message": "must be >= 0"}],
        )
    with transaction.atomic():
        customer, account = _loyalty_lock(lot.customer_id, require_active=False)
        lot = LoyaltyLot.objects.get(pk=lot.pk)
        open_points = lot.points - lot.reversed_points
        if amount is None or lot.amount == 0:
            wanted = open_points
        else:
            wanted = min(open_points, math.floor(lot.points * amount / lot.amount))
        if wanted <= 0:
            return 0
        take = min(wanted, account.balance)
        _lots_consume(lot.customer_id, take, first=lot)
        LoyaltyLot.objects.filter(pk=lot.pk).update(reversed_points=F("reversed_points") + wanted)
        _entry(
            account,
            kind=LoyaltyEntryKind.EARN_REVERSE,
            points=-take,
            reference=reference,
            channel_code=lot.channel_code,
            unrecoverable=wanted - take,
        )
        customer.save(update_fields=["updated_at"])
        _customer_event(customer)
    return take


def loyalty_redeem(
    *, customer_id: int, points: int, channel_code: str, reference: str
) -> Redemption:
    """Spend ``points`` as a discount worth ``points * LOYALTY_POINT_VALUE``, on any channel.

    Consumes live lots oldest first (lots due to expire are expired first). Idempotent per
    ``reference``: a repeat with the same customer and points returns the first redemption;
    anything else with that reference is ``loyalty_reference_reused``. Raises
    ``insufficient_points`` (409, ``extra["balance"]``) and changes nothing when the balance is
    short. Locks the account, so concurrent redemptions are exact and never go below zero."""
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidPoints(
            "Points must be a whole number above zero.",
            errors=[{"field": "points", "code": "min_value", "message": "must be >= 1"}],
        )
    if not reference:
        raise InvalidPoints(
            "A reference is required.",
            errors=[{"field": "reference", "code": "required", "message": "required"}],
        )
    with transaction.atomic():
        customer, account = _loyalty_lock(customer_id)
        target = customer.pk
        existing = Redemption.objects.filter(reference=reference).first()
        if existing is not None:
            if existing.customer_id != target or existing.points != points:
                raise LoyaltyReferenceReused(
                    f"Reference {reference!r} was used for another redemption."
                )
            return existing
        _expire_locked(account, timezone.now())
        if account.balance < points:
            raise InsufficientPoints(
                f"The balance is {account.balance} points; {points} were asked.",
                extra={"balance": account.balance, "requested": points},
            )
        taken = _lots_consume(target, points)
        redemption = Redemption.objects.create(
            customer_id=target,
            reference=reference,
            channel_code=channel_code,
            points=points,
            value=(points * _point_value()).quantize(Decimal("0.01")),
        )
        RedemptionAllocation.objects.bulk_create(
            [RedemptionAllocation(redemption=redemption, lot=lot, points=n) for lot, n in taken]
        )
        _entry(
            account,
            kind=LoyaltyEntryKind.REDEEM,
            points=-points,
            reference=reference,
            channel_code=channel_code,
        )
        customer_channel_link(customer_id=target, channel_code=channel_code)
        customer.save(update_fields=["updated_at"])
        _customer_event(customer)
        audit_record(
            action=SensitiveAction.LOYALTY_REDEEM,
            target=redemption,
            data={"customer_id": target, "points": points, "value": redemption.value},
        )
    return redemption


def loyalty_redemption_reverse(*, reference: str) -> int:
    """Give back the points of a redemption (an order cancelled before completion) to the lots
    they came from; lots past their expiry lose them again at the next expiry run. Idempotent:
    a reversed redemption gives 0. Locks the account."""
    redemption = Redemption.objects.filter(reference=reference).first()
    if redemption is None:
        raise UnknownLoyaltyReference(f"No redemption with reference {reference!r}.")
    with transaction.atomic():
        customer, account = _loyalty_lock(redemption.customer_id, require_active=False)
        redemption = Redemption.objects.get(pk=redemption.pk)
        if redemption.status == RedemptionStatus.REVERSED:
            return 0
        for allocation in redemption.allocations.all():
            LoyaltyLot.objects.filter(pk=allocation.lot_id).update(
                remaining=F("remaining") + allocation.points
            )
        redemption.status = RedemptionStatus.REVERSED
        redemption.save(update_fields=["status"])
        _entry(
            account,
            kind=LoyaltyEntryKind.REDEEM_REVERSE,
            points=redemption.points,
            reference=reference,
            channel_code=redemption.channel_code,
        )
        customer.save(update_fields=["updated_at"])
        _customer_event(customer)
    return redemption.points


def loyalty_points_expire(*, now: datetime | None = None) -> int:
    """Expire what is left of lots earned more than ``LOYALTY_POINTS_EXPIRE_DAYS`` ago; one short
    transaction per customer (locks that customer's account). Returns the points expired."""
    now = now or timezone.now()
    customer_ids = (
        LoyaltyLot.objects.filter(remaining__gt=0, expires_at__lte=now)
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by("customer_id")
    )
    total = 0
    for customer_id in list(customer_ids):
        with transaction.atomic():
            customer, account = _loyalty_lock(customer_id, require_active=False)
            expired = _expire_locked(account, now)
            if expired:
                customer.save(update_fields=["updated_at"])
                _customer_event(customer)
            total += expired
    return total


def loyalty_earn_rule_set(*, channel_code: str, points_per_unit: Decimal) -> LoyaltyEarnRule:
    if points_per_unit < 0:
        raise InvalidPoints(
            "The earn rate cannot be negative.",
            errors=[{"field": "points_per_unit", "code": "min_value", "message": ">= 0"}],
        )
    with transaction.atomic():
        rule, _ = LoyaltyEarnRule.objects.update_or_create(
            channel_code=channel_code, defaults={"points_per_unit": points_per_unit}
        )
    return rule
