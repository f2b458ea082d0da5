"""The channels' part of a GDPR erasure (``customers.services.customer_erase``).

Deliveries carry a copy of an outbox event's payload to a channel or a partner's webhook, and the
receiver's answer to a failed push (``last_error``, an attempt's ``error``) may echo it back.
``ChannelsConfig.ready`` registers :func:`customer_deliveries_erase`, which scrubs every such copy
of the person's values (found by a search for them: deliveries do not know whose data they carry).
The delivery keeps its target, topic, object and sequence, so ordering and retries are unchanged.
"""

from __future__ import annotations

from channels.models import Delivery, DeliveryAttempt, Listing
from customers.erasure import ErasureSubject, queryset_scrub


def customer_deliveries_erase(subject: ErasureSubject) -> dict[str, int]:
    """Scrub the person's values from delivery payloads and errors, attempt errors and listing
    errors; runs inside the erasure transaction. Returns the rows changed per model."""
    if not subject.needles:
        return {}
    counts: dict[str, int] = {}
    for model, fields in (
        (Delivery, ("payload", "last_error")),
        (DeliveryAttempt, ("error",)),
        (Listing, ("last_error",)),
    ):
        found = model._base_manager.filter(subject.needles_q(*fields))
        counts[model._meta.label] = queryset_scrub(found, subject, fields=fields)
    return counts
