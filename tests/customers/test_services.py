"""Customer services: resolution, merge, consent, GDPR export/erasure and the loyalty ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.models import ChangeEvent
from customers import selectors, services
from customers.exceptions import (
    CustomerNotActive,
    InsufficientPoints,
    InvalidConsent,
    InvalidIdentifier,
    InvalidMerge,
    InvalidPoints,
    LoyaltyReferenceReused,
    UnknownLoyaltyReference,
)
from customers.models import (
    AuditAction,
    ConsentEvent,
    Customer,
    CustomerAudit,
    CustomerChannel,
    CustomerIdentifier,
    CustomerNote,
    CustomerStatus,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyLot,
    MergeAudit,
    MergeCandidate,
    MergeCandidateStatus,
    Redemption,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _identifiers(customer: Customer) -> set[tuple[str, str, str]]:
    return set(customer.identifiers.values_list("kind", "namespace", "value"))


def _earn(customer: Customer, amount: str, reference: str, channel: str = "web") -> int:
    return services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal(amount),
        currency="EUR",
        channel_code=channel,
        reference=reference,
    )


# --- resolution -------------------------------------------------------------------------------


def test_orders_on_three_channels_with_the_same_email_phone_card_land_on_one_customer() -> None:
    # given a web order with an email and a phone in national notation
    web = services.customer_resolve(
        email=" Ann.Smit@Example.COM ", phone="06 1234 5678", name="Ann Smit", channel_code="web"
    )
    # when the store sees the phone in international notation with a new card
    store = services.customer_resolve(
        phone="+31 6 12345678", loyalty_card="ab 1234", channel_code="store"
    )
    # and a marketplace order comes with the email in another case and an external id
    market = services.customer_resolve(
        email="ann.smit@example.com", channel_code="bol", external_id="B-77"
    )
    # then all three are one customer with every identifier, normalised, and three channels
    assert web.created and not store.created and not market.created
    assert store.customer.pk == market.customer.pk == web.customer.pk
    assert Customer.objects.count() == 1
    assert _identifiers(web.customer) == {
        ("email", "", "ann.smit@example.com"),
        ("phone", "", "+31612345678"),
        ("loyalty_card", "", "AB1234"),
        ("external", "bol", "B-77"),
    }
    assert set(CustomerChannel.objects.values_list("channel_code", flat=True)) == {
        "web",
        "store",
        "bol",
    }
    assert web.customer.name == "Ann Smit"
    # and each change was announced once per channel the customer belonged to by then
    events = ChangeEvent.objects.filter(topic="customer.updated").order_by("id")
    assert [e.channel_code for e in events] == ["web", "store", "web", "bol", "store", "web"]
    assert {e.payload["id"] for e in events} == {web.customer.pk}


def test_a_customer_of_no_channel_is_announced_to_no_partner() -> None:
    services.customer_resolve(email="nochannel@example.com")
    assert not ChangeEvent.objects.exists()


def test_a_repeat_resolution_changes_nothing_and_records_no_event() -> None:
    services.customer_resolve(email="a@example.com", channel_code="web")
    events = ChangeEvent.objects.count()
    again = services.customer_resolve(email="A@example.com", channel_code="web")
    assert not again.created and again.merge_candidate is None
    assert ChangeEvent.objects.count() == events
    assert CustomerIdentifier.objects.count() == 1


def test_identifiers_of_two_customers_record_a_merge_candidate_and_never_merge() -> None:
    # given a customer known by email and another by loyalty card
    by_email = services.customer_resolve(email="b@example.com").customer
    by_card = services.customer_resolve(loyalty_card="CARD9").customer
    # when one resolution carries both
    result = services.customer_resolve(
        email="b@example.com", loyalty_card="card9", phone="0612345679"
    )
    # then the card (stronger than email) wins, nothing is merged, and a candidate is open
    assert result.customer.pk == by_card.pk
    assert result.merge_candidate is not None
    candidate = MergeCandidate.objects.get()
    assert (candidate.customer_a_id, candidate.customer_b_id) == (by_email.pk, by_card.pk)
    assert candidate.status == MergeCandidateStatus.OPEN
    assert Customer.objects.filter(status=CustomerStatus.ACTIVE).count() == 2
    # and the phone that matched nobody went to the returned customer
    assert ("phone", "", "+31612345679") in _identifiers(by_card)
    # and resolving the same pair again does not duplicate the candidate
    services.customer_resolve(email="b@example.com", loyalty_card="CARD9")
    assert MergeCandidate.objects.count() == 1


def test_external_ids_are_per_channel_and_strongest() -> None:
    first = services.customer_resolve(channel_code="bol", external_id="42").customer
    other = services.customer_resolve(channel_code="amazon", external_id="42").customer
    assert first.pk != other.pk
    result = services.customer_resolve(email="c@example.com", channel_code="bol", external_id="42")
    assert result.customer.pk == first.pk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"email": "ok@example.com", "phone": "+31 6 1"}, "phone"),
        ({"external_id": "7"}, "channel_code"),
        ({}, "email"),
    ],
)
def test_bad_identifiers_are_refused_with_the_field_and_change_nothing(
    kwargs: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidIdentifier) as error:
        services.customer_resolve(**kwargs)
    assert error.value.code == "invalid_identifier"
    assert error.value.errors[0]["field"] == field
    assert Customer.objects.count() == 0
    assert ChangeEvent.objects.count() == 0


def test_identifier_add_refuses_a_value_of_another_customer() -> None:
    ann = services.customer_resolve(email="ann@example.com").customer
    bob = services.customer_resolve(email="bob@example.com").customer
    handle = services.customer_identifier_add(
        customer_id=ann.pk, kind="social", namespace="instagram", value="@Ann_S"
    )
    assert handle.value == "ann_s"
    with pytest.raises(InvalidIdentifier) as error:
        services.customer_identifier_add(customer_id=bob.pk, kind="email", value="ANN@example.com")
    assert error.value.code == "identifier_taken"
    assert bob.identifiers.count() == 1


# --- merge ------------------------------------------------------------------------------------


def test_merge_moves_everything_and_is_audited() -> None:
    # given two customers that are one person, each with history
    user = UserFactory()
    survivor = services.customer_resolve(email="s@example.com", channel_code="web").customer
    loser = services.customer_resolve(
        loyalty_card="L1", phone="0612340000", channel_code="store"
    ).customer
    services.customer_resolve(email="s@example.com", loyalty_card="L1")  # candidate
    _earn(survivor, "10", "o-1")
    _earn(loser, "30", "o-2", channel="store")
    services.loyalty_redeem(customer_id=loser.pk, points=5, channel_code="store", reference="r-1")
    services.consent_record(
        customer_id=loser.pk,
        purpose="sms_marketing",
        granted=True,
        channel_code="store",
        source="till",
        wording_version="v1",
    )
    services.customer_note_add(
        customer_id=loser.pk, text="prefers pickup", actor=Actor.for_user(user)
    )
    # when previewing, then merging
    preview = services.customer_merge_preview(survivor_id=survivor.pk, loser_id=loser.pk)
    audit = services.customer_merge(
        survivor_id=survivor.pk, loser_id=loser.pk, actor=Actor.for_user(user)
    )
    # then the preview named what moved
    assert preview["customers.CustomerIdentifier.customer"] == 2
    assert preview["customers.ConsentEvent.customer"] == 1
    assert preview["customers.LoyaltyLot.customer"] == 1
    assert preview["loyalty points"] == 25
    # and everything belongs to the survivor
    assert _identifiers(survivor) == {
        ("email", "", "s@example.com"),
        ("loyalty_card", "", "L1"),
        ("phone", "", "+31612340000"),
    }
    assert selectors.loyalty_balance(customer_id=survivor.pk) == 35
    assert not LoyaltyAccount.objects.filter(customer=loser).exists()
    assert LoyaltyLot.objects.filter(customer=survivor).count() == 2
    assert Redemption.objects.get().customer_id == survivor.pk
    assert ConsentEvent.objects.get().customer_id == survivor.pk
    assert CustomerNote.objects.get().customer_id == survivor.pk
    assert set(survivor.channel_links.values_list("channel_code", flat=True)) == {"web", "store"}
    assert LoyaltyEntry.objects.filter(customer=loser).count() == 0
    # and the loser points at the survivor, the candidate is closed, the merge audited
    loser.refresh_from_db()
    assert (loser.status, loser.merged_into_id) == (CustomerStatus.MERGED, survivor.pk)
    assert MergeCandidate.objects.get().status == MergeCandidateStatus.MERGED
    assert MergeAudit.objects.get() == audit
    assert audit.actor_user_id == user.pk and audit.loser_id == loser.pk
    assert audit.moved["customers.CustomerIdentifier.customer"] == 2
    assert audit.moved["loyalty points"] == 25
    # and later resolutions and earnings go to the survivor
    assert services.customer_resolve(loyalty_card="L1").customer.pk == survivor.pk
    assert _earn(loser, "5", "o-3") == 5
    assert LoyaltyLot.objects.get(reference="o-3").customer_id == survivor.pk


def test_merge_refuses_itself_and_a_merged_customer_and_changes_nothing() -> None:
    a = services.customer_resolve(email="a@example.com").customer
    b = services.customer_resolve(email="b@example.com").customer
    c = services.customer_resolve(email="c@example.com").customer
    with pytest.raises(InvalidMerge):
        services.customer_merge(survivor_id=a.pk, loser_id=a.pk, actor=SYSTEM)
    services.customer_merge(survivor_id=a.pk, loser_id=b.pk, actor=SYSTEM)
    with pytest.raises(InvalidMerge):
        services.customer_merge(survivor_id=c.pk, loser_id=b.pk, actor=SYSTEM)
    assert MergeAudit.objects.count() == 1
    assert c.identifiers.count() == 1


def test_merge_hands_the_losers_other_candidates_to_the_survivor() -> None:
    a = services.customer_resolve(email="a@example.com").customer
    b = services.customer_resolve(loyalty_card="B").customer
    c = services.customer_resolve(phone="0612345670").customer
    services.customer_resolve(loyalty_card="B", phone="0612345670")  # b ~ c
    services.customer_merge(survivor_id=a.pk, loser_id=b.pk, actor=SYSTEM)
    open_pairs = set(
        MergeCandidate.objects.filter(status="open").values_list("customer_a", "customer_b")
    )
    assert open_pairs == {(a.pk, c.pk)}


# --- consent ----------------------------------------------------------------------------------


def test_consent_state_is_the_latest_event_and_the_log_is_kept() -> None:
    customer = services.customer_resolve(email="d@example.com").customer
    other = services.customer_resolve(email="e@example.com").customer
    start = timezone.now() - timedelta(days=2)
    for granted, days in ((True, 0), (False, 1)):
        services.consent_record(
            customer_id=customer.pk,
            purpose="email_marketing",
            granted=granted,
            channel_code="web",
            source="account page",
            wording_version="2026-01",
            at=start + timedelta(days=days),
        )
    services.consent_record(
        customer_id=other.pk,
        purpose="email_marketing",
        granted=True,
        channel_code="web",
        source="checkout",
        wording_version="2026-01",
    )
    state = selectors.consent_state(customer_id=customer.pk)
    assert state["email_marketing"].granted is False
    assert state["email_marketing"].at == start + timedelta(days=1)
    assert state["sms_marketing"].granted is False and state["sms_marketing"].at is None
    assert ConsentEvent.objects.filter(customer=customer).count() == 2
    assert list(selectors.customers_with_consent("email_marketing")) == [other]
    assert list(selectors.customers_with_consent("sms_marketing")) == []


def test_a_bad_consent_is_refused_with_every_field_and_nothing_is_logged() -> None:
    customer = services.customer_resolve(email="f@example.com").customer
    with pytest.raises(InvalidConsent) as error:
        services.consent_record(
            customer_id=customer.pk,
            purpose="telepathy",
            granted=True,
            channel_code="web",
            source=" ",
            wording_version="",
            at=timezone.now() + timedelta(days=1),
        )
    assert [e["field"] for e in error.value.errors] == [
        "purpose",
        "source",
        "wording_version",
        "at",
    ]
    assert ConsentEvent.objects.count() == 0


# --- export and erasure -----------------------------------------------------------------------


def test_export_holds_everything_and_is_audited() -> None:
    user = UserFactory()
    customer = services.customer_resolve(
        email="g@example.com", name="Gus", channel_code="web"
    ).customer
    _earn(customer, "12.50", "o-9")
    services.customer_note_add(customer_id=customer.pk, text="called about size", actor=SYSTEM)
    data = services.customer_export(customer_id=customer.pk, actor=Actor.for_user(user))
    assert data["customer"]["name"] == "Gus"
    assert data["related"]["customers.CustomerIdentifier.customer"][0]["value"] == "g@example.com"
    assert data["related"]["customers.LoyaltyLot.customer"][0]["amount"] == "12.50"
    assert data["related"]["customers.CustomerNote.customer"][0]["text"] == "called about size"
    assert data["loyalty_balance"] == 12
    assert data["consent_state"]["email_marketing"] == {"granted": False, "at": None}
    audit = CustomerAudit.objects.get()
    assert (audit.action, audit.actor_user_id, audit.customer_id) == (
        AuditAction.EXPORT,
        user.pk,
        customer.pk,
    )


def test_erasure_anonymises_keeps_accounting_rows_and_is_irreversible() -> None:
    user = UserFactory()
    customer = services.customer_resolve(
        email="h@example.com", phone="0612345671", name="Hal", channel_code="web"
    ).customer
    _earn(customer, "20", "o-10")
    services.customer_note_add(customer_id=customer.pk, text="lives at ...", actor=SYSTEM)
    audit = services.customer_erase(customer_id=customer.pk, actor=Actor.for_user(user))
    customer.refresh_from_db()
    assert customer.name == "" and customer.status == CustomerStatus.ERASED
    assert customer.erased_at is not None
    assert not CustomerIdentifier.objects.exists() and not CustomerNote.objects.exists()
    assert LoyaltyLot.objects.filter(customer=customer).count() == 1  # accounting kept
    assert audit.detail == {"identifiers_deleted": 2, "notes_deleted": 1}
    # the email is free again: a new resolution makes a new customer
    assert services.customer_resolve(email="h@example.com").created
    with pytest.raises(CustomerNotActive):
        services.customer_erase(customer_id=customer.pk, actor=Actor.for_user(user))
    assert CustomerAudit.objects.filter(action="erase").count() == 1


def test_erasure_refuses_a_merged_away_customer() -> None:
    a = services.customer_resolve(email="a@example.com").customer
    b = services.customer_resolve(email="b@example.com").customer
    services.customer_merge(survivor_id=a.pk, loser_id=b.pk, actor=SYSTEM)
    with pytest.raises(CustomerNotActive):
        services.customer_erase(customer_id=b.pk, actor=SYSTEM)
    assert not CustomerAudit.objects.exists()


# --- loyalty ----------------------------------------------------------------------------------


def test_earn_by_channel_rule_and_idempotent_per_reference() -> None:
    customer = services.customer_resolve(email="i@example.com").customer
    services.loyalty_earn_rule_set(channel_code="store", points_per_unit=Decimal("2"))
    assert _earn(customer, "25.99", "o-1", channel="web") == 25
    assert _earn(customer, "25.99", "o-1", channel="web") == 25
    assert _earn(customer, "10.50", "o-2", channel="store") == 21
    assert selectors.loyalty_balance(customer_id=customer.pk) == 46
    assert LoyaltyEntry.objects.filter(kind="earn").count() == 2
    other = services.customer_resolve(email="j@example.com").customer
    with pytest.raises(LoyaltyReferenceReused):
        _earn(other, "5", "o-1")
    assert selectors.loyalty_balance(customer_id=other.pk) == 0


def test_points_earned_on_the_web_are_spent_in_store_as_a_discount() -> None:
    customer = services.customer_resolve(email="k@example.com", channel_code="web").customer
    _earn(customer, "120", "web-1")
    redemption = services.loyalty_redeem(
        customer_id=customer.pk, points=100, channel_code="store", reference="pos-1"
    )
    assert redemption.value == Decimal("1.00")
    assert selectors.loyalty_balance(customer_id=customer.pk) == 20
    again = services.loyalty_redeem(
        customer_id=customer.pk, points=100, channel_code="store", reference="pos-1"
    )
    assert again.pk == redemption.pk
    assert selectors.loyalty_balance(customer_id=customer.pk) == 20
    with pytest.raises(LoyaltyReferenceReused):
        services.loyalty_redeem(
            customer_id=customer.pk, points=5, channel_code="store", reference="pos-1"
        )


@override_settings(LOYALTY_POINT_VALUE="0.05")
def test_point_value_comes_from_settings() -> None:
    customer = services.customer_resolve(email="l@example.com").customer
    _earn(customer, "100", "o")
    assert services.loyalty_redeem(
        customer_id=customer.pk, points=30, channel_code="web", reference="r"
    ).value == Decimal("1.50")


def test_redeeming_more_than_the_balance_is_refused_and_changes_nothing() -> None:
    customer = services.customer_resolve(email="m@example.com").customer
    _earn(customer, "10", "o")
    with pytest.raises(InsufficientPoints) as error:
        services.loyalty_redeem(
            customer_id=customer.pk, points=11, channel_code="web", reference="r"
        )
    assert error.value.status == 409 and error.value.extra["balance"] == 10
    assert not Redemption.objects.exists()
    assert LoyaltyLot.objects.get().remaining == 10
    assert selectors.loyalty_balance(customer_id=customer.pk) == 10
    with pytest.raises(InvalidPoints):
        services.loyalty_redeem(
            customer_id=customer.pk, points=0, channel_code="web", reference="x"
        )


def test_redemption_consumes_lots_oldest_first_and_reversal_gives_them_back() -> None:
    customer = services.customer_resolve(email="n@example.com").customer
    _earn(customer, "10", "old")
    _earn(customer, "10", "new")
    LoyaltyLot.objects.filter(reference="old").update(earned_at=timezone.now() - timedelta(days=10))
    services.loyalty_redeem(customer_id=customer.pk, points=15, channel_code="web", reference="r")
    lots = dict(LoyaltyLot.objects.values_list("reference", "remaining"))
    assert lots == {"old": 0, "new": 5}
    assert services.loyalty_redemption_reverse(reference="r") == 15
    assert services.loyalty_redemption_reverse(reference="r") == 0
    assert dict(LoyaltyLot.objects.values_list("reference", "remaining")) == {"old": 10, "new": 10}
    assert selectors.loyalty_balance(customer_id=customer.pk) == 20
    with pytest.raises(UnknownLoyaltyReference):
        services.loyalty_redemption_reverse(reference="nope")


@override_settings(LOYALTY_POINTS_EXPIRE_DAYS=30)
def test_expiry_takes_old_lots_only_and_is_on_the_ledger() -> None:
    customer = services.customer_resolve(email="o@example.com").customer
    _earn(customer, "10", "old")
    _earn(customer, "7", "new")
    services.loyalty_redeem(customer_id=customer.pk, points=4, channel_code="web", reference="r")
    LoyaltyLot.objects.filter(reference="old").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    # the old lot had 6 left after the redemption took its 4 oldest points
    assert services.loyalty_points_expire() == 6
    assert services.loyalty_points_expire() == 0
    assert selectors.loyalty_balance(customer_id=customer.pk) == 7
    entry = LoyaltyEntry.objects.filter(kind="expire").get()
    assert (entry.points, entry.balance_after) == (-6, 7)
    lot = LoyaltyLot.objects.get(reference="new")
    assert lot.expires_at.date() == (lot.earned_at + timedelta(days=30)).date()


def test_redeem_expires_due_lots_before_checking_the_balance() -> None:
    customer = services.customer_resolve(email="p@example.com").customer
    _earn(customer, "10", "old")
    LoyaltyLot.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InsufficientPoints) as error:
        services.loyalty_redeem(
            customer_id=customer.pk, points=5, channel_code="web", reference="r"
        )
    assert error.value.extra["balance"] == 0


def test_reverse_on_return_is_proportional_and_never_negative() -> None:
    customer = services.customer_resolve(email="q@example.com").customer
    _earn(customer, "100", "o-1")
    _earn(customer, "20", "o-2")
    # a partial return of 40 of 100 takes 40 points
    assert services.loyalty_earn_reverse(reference="o-1", amount=Decimal("40")) == 40
    assert selectors.loyalty_balance(customer_id=customer.pk) == 80
    # the customer spends 70; the full return of the rest (60 points) finds only 10
    services.loyalty_redeem(customer_id=customer.pk, points=70, channel_code="web", reference="r")
    assert services.loyalty_earn_reverse(reference="o-1") == 10
    entry = LoyaltyEntry.objects.filter(kind="earn_reverse").order_by("-id").first()
    assert entry is not None
    assert (entry.points, entry.unrecoverable, entry.balance_after) == (-10, 50, 0)
    assert selectors.loyalty_balance(customer_id=customer.pk) == 0
    # nothing more to reverse
    assert services.loyalty_earn_reverse(reference="o-1") == 0
    with pytest.raises(UnknownLoyaltyReference):
        services.loyalty_earn_reverse(reference="o-404")
