"""Demo customers: the same shoppers seen on the webshop, the app, the marketplace and in store,
with consents, loyalty points earned and spent, and one possible duplicate. Idempotent: every
write is keyed (identifiers, loyalty references) or skipped when already in place."""

from __future__ import annotations

from decimal import Decimal

from customers import selectors, services

_SHOPPERS = [
    # (name, email, phone, card, channel, external id)
    ("Anna de Vries", "anna.devries@example.com", "+31 6 1111 2222", "OH-1001", "webshop", ""),
    ("Bram Jansen", "bram.jansen@example.com", "06 2222 3333", "", "app", ""),
    ("Chloé Martin", "chloe.martin@example.fr", "+33 6 12 34 56 78", "OH-1003", "pos", ""),
    ("Daan Bakker", "daan@example.com", "", "", "marketplace", "MP-55501"),
    ("Eva Smit", "eva.smit@example.com", "06 4444 5555", "OH-1005", "webshop", ""),
]


def _consent(customer_id: int, purpose: str, granted: bool, channel: str) -> None:
    current = selectors.consent_state(customer_id=customer_id)[purpose]
    if current.at is not None and current.granted == granted:
        return
    services.consent_record(
        customer_id=customer_id,
        purpose=purpose,
        granted=granted,
        channel_code=channel,
        source="demo data",
        wording_version="2026-01",
    )


def seed_customers() -> None:
    ids = []
    for name, email, phone, card, channel, external_id in _SHOPPERS:
        result = services.customer_resolve(
            name=name,
            email=email,
            phone=phone,
            loyalty_card=card,
            channel_code=channel,
            external_id=external_id,
        )
        ids.append(result.customer.pk)
    anna, bram, chloe, _daan, eva = ids
    # Anna also shops in store with her card and in the app with her email: one customer.
    services.customer_resolve(loyalty_card="OH-1001", channel_code="pos")
    services.customer_resolve(email="ANNA.DEVRIES@example.com", channel_code="app")
    # A store sign-up with Eva's phone and a new card, then an order with both: a duplicate to
    # review in the admin ("Possible duplicates").
    services.customer_resolve(loyalty_card="OH-2005", name="E. Smit", channel_code="pos")
    services.customer_resolve(loyalty_card="OH-2005", email="eva.smit@example.com")
    for customer_id, amount, channel, reference in (
        (anna, "189.95", "webshop", "demo-web-1001"),
        (anna, "54.50", "pos", "demo-pos-1001"),
        (bram, "72.00", "app", "demo-app-2001"),
        (chloe, "310.00", "pos", "demo-pos-3001"),
        (eva, "99.99", "webshop", "demo-web-5001"),
    ):
        services.loyalty_earn(
            customer_id=customer_id,
            amount=Decimal(amount),
            currency="EUR",
            channel_code=channel,
            reference=reference,
        )
    # Points earned on the web spent in store.
    services.loyalty_redeem(
        customer_id=anna, points=100, channel_code="pos", reference="demo-redeem-1001"
    )
    _consent(anna, "email_marketing", True, "webshop")
    _consent(bram, "email_marketing", True, "app")
    _consent(bram, "sms_marketing", False, "app")
    _consent(chloe, "profiling", True, "pos")
    _consent(eva, "email_marketing", True, "webshop")
