"""Customer domain errors, with the stable codes partners and the admin see."""

from __future__ import annotations

from core.errors import DomainError


class CustomerError(DomainError):
    code = "customer_error"
    status = 400


class InvalidIdentifier(CustomerError):
    """An email or phone that cannot be normalised; ``errors`` names the field."""

    code = "invalid_identifier"
    status = 400
    title = "Invalid customer identifier"


class CustomerNotFound(CustomerError):
    code = "customer_not_found"
    status = 404
    title = "No such customer"


class CustomerNotActive(CustomerError):
    """The customer was merged away or erased."""

    code = "customer_not_active"
    status = 409
    title = "The customer is merged or erased"


class InvalidMerge(CustomerError):
    code = "invalid_merge"
    status = 409
    title = "These customers cannot be merged"


class InsufficientPoints(CustomerError):
    """``extra["balance"]`` has the current balance."""

    code = "insufficient_points"
    status = 409
    title = "Not enough loyalty points"


class InvalidPoints(CustomerError):
    code = "invalid_points"
    status = 400
    title = "Invalid number of points"


class LoyaltyReferenceReused(CustomerError):
    """A reference already used for another customer or another number of points."""

    code = "loyalty_reference_reused"
    status = 409
    title = "Loyalty reference already used differently"


class UnknownLoyaltyReference(CustomerError):
    code = "unknown_loyalty_reference"
    status = 404
    title = "No loyalty earning or redemption with this reference"


class InvalidConsent(CustomerError):
    code = "invalid_consent"
    status = 400
    title = "Invalid consent"
