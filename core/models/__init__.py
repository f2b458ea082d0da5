"""The bottom layer's models: every domain app may reference these by import.

Tables keep the names they had before the models moved here (``channels_channel``,
``api_partner``, ``outbox_changeevent``, ...), so no data moved when the layout changed.
"""

from core.models.audit import AuditEntry, AuditSurface, SensitiveAction
from core.models.channels import Channel, ChannelCountry
from core.models.operations import Metrics
from core.models.outbox import ChangeEvent, ObjectSequence
from core.models.partners import IdempotencyRecord, Partner, PartnerAPIKey, validate_scopes
from core.models.tax import TaxClass, TaxRate, tax_class_standard_id

__all__ = [
    "AuditEntry",
    "AuditSurface",
    "ChangeEvent",
    "Channel",
    "ChannelCountry",
    "IdempotencyRecord",
    "Metrics",
    "ObjectSequence",
    "Partner",
    "PartnerAPIKey",
    "SensitiveAction",
    "TaxClass",
    "TaxRate",
    "tax_class_standard_id",
    "validate_scopes",
]
