"""Payment providers: the interface an online payment provider implements, and the registry that
finds one by its code (``Payment.provider``).

The services (``orders.services.payments``) call a provider to capture money when a fulfilment
ships and to give money back on a refund; they record every operation on the payment and its
ledger (``PaymentEvent``) only when the provider answered ``ok``. Providers report what happened
on their side through the signed callback ``POST /payments/{provider}/webhook/``.

The built-in ``manual`` provider is the offline one: a till's tenders, a terminal not connected to
us, or an order paid elsewhere. It calls no one and accepts every operation, so the record is the
only trace. A real provider is registered at start-up with :func:`provider_register`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from orders.exceptions import PaymentProviderUnknown
from orders.models import Payment

MANUAL = "manual"


@dataclass(frozen=True)
class ProviderResult:
    """A provider's answer: ``ok``, its reference for the operation, and a message when not ok."""

    ok: bool
    reference: str = ""
    message: str = ""


class PaymentProvider(Protocol):
    """What a payment provider does for us. Each call is for one payment and one amount; it must
    be idempotent for the same (payment, operation, amount) on the provider's side."""

    code: str

    def authorise(self, *, payment: Payment, amount: Decimal) -> ProviderResult: ...

    def capture(self, *, payment: Payment, amount: Decimal) -> ProviderResult: ...

    def refund(self, *, payment: Payment, amount: Decimal) -> ProviderResult: ...


class ManualProvider:
    """Offline payments: records operations without calling anyone."""

    code = MANUAL

    def authorise(self, *, payment: Payment, amount: Decimal) -> ProviderResult:
        return ProviderResult(ok=True, reference=payment.provider_reference)

    def capture(self, *, payment: Payment, amount: Decimal) -> ProviderResult:
        return ProviderResult(ok=True, reference=payment.provider_reference)

    def refund(self, *, payment: Payment, amount: Decimal) -> ProviderResult:
        return ProviderResult(ok=True, reference=payment.provider_reference)


_PROVIDERS: dict[str, PaymentProvider] = {MANUAL: ManualProvider()}


def provider_register(provider: PaymentProvider) -> None:
    """Register (or replace) the provider under its ``code``; done once at start-up."""
    _PROVIDERS[provider.code] = provider


def provider_unregister(code: str) -> None:
    """Forget a registered provider (tests); ``manual`` always stays."""
    if code != MANUAL:
        _PROVIDERS.pop(code, None)


def provider_get(code: str) -> PaymentProvider:
    """The provider registered under ``code``; raises :class:`PaymentProviderUnknown`."""
    try:
        return _PROVIDERS[code]
    except KeyError:
        raise PaymentProviderUnknown(
            f"No payment provider {code!r} is registered.", extra={"provider": code}
        ) from None


def provider_codes() -> list[str]:
    return sorted(_PROVIDERS)
