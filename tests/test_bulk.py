"""``core.bulk``: timestamps given by the caller (a past written as it happened) are written as
given, without changing the model's fields for anyone else; the default still stamps the
present. Runs on SQLite (Django's INSERT) and on PostgreSQL (COPY)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Product
from core import bulk
from customers.models import Customer, CustomerChannel

pytestmark = pytest.mark.django_db

PAST = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _flags(model: type[Any]) -> list[tuple[str, bool, bool]]:
    return [
        (f.name, getattr(f, "auto_now", False), getattr(f, "auto_now_add", False))
        for f in model._meta.concrete_fields
    ]


def test_given_timestamps_are_written_as_given() -> None:
    before = _flags(Customer)
    customers = [
        Customer(name="Old", created_at=PAST, updated_at=PAST + timedelta(days=3)),
        Customer(name="Older", created_at=PAST - timedelta(days=9), updated_at=PAST),
    ]

    bulk.create(customers, Customer, history=False, timestamps="given")

    stored = {c.name: (c.created_at, c.updated_at) for c in Customer.objects.all()}
    assert stored == {
        "Old": (PAST, PAST + timedelta(days=3)),
        "Older": (PAST - timedelta(days=9), PAST),
    }
    assert all(c.pk for c in customers)
    assert _flags(Customer) == before  # no field was switched off, even for a moment


def test_the_default_stamps_the_present() -> None:
    started = timezone.now()
    customer = Customer(name="New", created_at=PAST, updated_at=PAST)

    bulk.create([customer], Customer, history=False)

    stored = Customer.objects.get(pk=customer.pk)
    assert stored.created_at >= started and stored.updated_at >= started


def test_a_missing_given_timestamp_is_refused_and_nothing_is_written() -> None:
    customers = [
        Customer(name="Dated", created_at=PAST, updated_at=PAST),
        Customer(name="Undated", created_at=PAST),  # updated_at left empty
    ]

    with pytest.raises(ValueError, match=r"Customer\.updated_at is not given"):
        bulk.create(customers, Customer, history=False, timestamps="given")

    assert not Customer.objects.exists()
    with pytest.raises(ValueError, match="timestamps must be"):
        bulk.create([Customer(name="x")], Customer, history=False, timestamps="later")  # type: ignore[arg-type]
    assert not Customer.objects.exists()


def test_given_timestamps_with_history_rows() -> None:
    now = timezone.now()
    product = Product(handle="dated", name="Dated", created_at=PAST, updated_at=PAST)

    bulk.create([product], Product, timestamps="given", now=now)

    stored = Product.objects.get(pk=product.pk)
    assert (stored.created_at, stored.updated_at) == (PAST, PAST)
    record = product.history.get()  # type: ignore[attr-defined]
    assert record.history_type == "+" and record.created_at == PAST


def test_ignoring_conflicts_with_given_timestamps() -> None:
    customer = Customer.objects.create(name="Linked")
    bulk.create_ignore_conflicts(
        [CustomerChannel(customer=customer, channel_code="webshop", first_seen=PAST)],
        CustomerChannel,
        timestamps="given",
    )
    later = PAST + timedelta(days=30)

    bulk.create_ignore_conflicts(
        [
            CustomerChannel(customer=customer, channel_code="webshop", first_seen=later),
            CustomerChannel(customer=customer, channel_code="app", first_seen=later),
        ],
        CustomerChannel,
        timestamps="given",
    )

    links = dict(CustomerChannel.objects.values_list("channel_code", "first_seen"))
    assert links == {"webshop": PAST, "app": later}  # the first link kept its date
    with pytest.raises(ValueError, match=r"CustomerChannel\.first_seen is not given"):
        bulk.create_ignore_conflicts(
            [CustomerChannel(customer=customer, channel_code="pos")],
            CustomerChannel,
            timestamps="given",
        )
    assert not CustomerChannel.objects.filter(channel_code="pos").exists()


def test_rows_of_plain_values_are_written_with_their_keys_in_order() -> None:
    started = timezone.now()

    pks = bulk.create_rows(
        Customer, ["name", "created_at"], [("First", PAST), ("Second", PAST - timedelta(days=1))]
    )

    stored = {c.pk: c for c in Customer.objects.all()}
    assert [stored[pk].name for pk in pks] == ["First", "Second"]
    assert stored[pks[0]].created_at == PAST  # a timestamp given is written as given
    assert stored[pks[1]].created_at == PAST - timedelta(days=1)
    assert all(c.updated_at >= started for c in stored.values())  # one left out: the present
    assert {c.status for c in stored.values()} == {Customer().status}  # left out: the default


def test_rows_without_keys_and_a_bad_column() -> None:
    customer = Customer.objects.create(name="Linked")

    assert (
        bulk.create_rows(
            CustomerChannel,
            ["customer_id", "channel_code", "first_seen"],
            [(customer.pk, "webshop", PAST), (customer.pk, "app", PAST)],
            pks=False,
        )
        == []
    )
    assert dict(CustomerChannel.objects.values_list("channel_code", "first_seen")) == {
        "webshop": PAST,
        "app": PAST,
    }
    with pytest.raises(ValueError, match="has no column customer"):
        bulk.create_rows(CustomerChannel, ["customer", "channel_code"], [(customer, "pos")])
    assert bulk.create_rows(Customer, ["name"], []) == []
    assert CustomerChannel.objects.count() == 2
