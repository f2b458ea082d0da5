"""Customer 360 in the admin: search by any identifier, the whole story in fixed queries, merge
with a preview, GDPR export and erasure, roles."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from core.actors import SYSTEM
from customers import services
from customers.models import Customer, CustomerAudit, CustomerNote, CustomerStatus, MergeAudit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def busy_customer(n: int) -> Customer:
    customer = services.customer_resolve(
        email=f"busy{n}@example.com", loyalty_card=f"BUSY{n}", channel_code="web"
    ).customer
    for i in range(3):
        services.loyalty_earn(
            customer_id=customer.pk,
            amount=Decimal("10"),
            currency="EUR",
            channel_code="web",
            reference=f"b{n}-{i}",
        )
        services.consent_record(
            customer_id=customer.pk,
            purpose="email_marketing",
            granted=bool(i % 2),
            channel_code="web",
            source="form",
            wording_version="v1",
        )
        services.customer_note_add(customer_id=customer.pk, text=f"note {i}", actor=SYSTEM)
    return customer


def test_changelist_query_count_does_not_grow(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    busy_customer(0)
    url = reverse("admin:customers_customer_changelist")
    with django_assert_max_num_queries(12) as few:
        assert admin_client.get(url).status_code == 200
    for n in range(1, 8):
        busy_customer(n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert b"busy7@example.com" in response.content


@pytest.mark.parametrize("term", ["BUSY2@example.com", "busy2", "+31612345678"])
def test_search_by_any_identifier(admin_client: Client, term: str) -> None:
    target = busy_customer(2)
    busy_customer(3)
    services.customer_identifier_add(customer_id=target.pk, kind="phone", value="06 12345678")
    response = admin_client.get(reverse("admin:customers_customer_changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [target]


def test_360_page_shows_the_story_in_bounded_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    small = busy_customer(0)
    with django_assert_max_num_queries(40) as few:
        response = admin_client.get(reverse("admin:customers_customer_change", args=[small.pk]))
    assert response.status_code == 200
    big = busy_customer(1)
    for i in range(20):
        services.loyalty_redeem(
            customer_id=big.pk, points=1, channel_code="store", reference=f"r{i}"
        )
        services.customer_note_add(customer_id=big.pk, text=f"more {i}", actor=SYSTEM)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(reverse("admin:customers_customer_change", args=[big.pk]))
    body = response.content.decode()
    assert "busy1@example.com" in body and "Loyalty: 10 points" in body
    assert "more 19" in body and "granted" in body


def test_merge_preview_then_confirm(admin_client: Client) -> None:
    survivor = busy_customer(0)
    loser = busy_customer(1)
    url = reverse("admin:customers_customer_merge", args=[survivor.pk])
    preview = admin_client.get(url, {"other": loser.pk})
    assert preview.status_code == 200
    assert preview.context["preview"]["customers.CustomerNote.customer"] == 3
    assert preview.context["preview"]["loyalty points"] == 30
    assert not MergeAudit.objects.exists()  # a preview changes nothing
    response = admin_client.post(url, {"other": loser.pk, "confirm": "1"})
    assert response.status_code == 302
    loser.refresh_from_db()
    assert loser.status == CustomerStatus.MERGED and loser.merged_into_id == survivor.pk
    assert CustomerNote.objects.filter(customer=survivor).count() == 6
    assert MergeAudit.objects.get().moved["customers.CustomerNote.customer"] == 3


def test_merge_of_itself_shows_the_error_and_changes_nothing(admin_client: Client) -> None:
    customer = busy_customer(0)
    url = reverse("admin:customers_customer_merge", args=[customer.pk])
    response = admin_client.post(url, {"other": customer.pk, "confirm": "1"})
    assert response.status_code == 200
    assert "cannot be merged into itself" in response.content.decode()
    assert not MergeAudit.objects.exists()


def test_export_and_erase_from_the_admin_are_audited(admin_client: Client) -> None:
    customer = busy_customer(0)
    export_url = reverse("admin:customers_customer_export", args=[customer.pk])
    assert admin_client.get(export_url).status_code == 200  # confirm page
    assert not CustomerAudit.objects.exists()
    download = admin_client.post(export_url)
    data = json.loads(download.content)
    assert data["customer"]["id"] == customer.pk
    erase_url = reverse("admin:customers_customer_erase", args=[customer.pk])
    assert admin_client.post(erase_url).status_code == 302
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.ERASED
    assert list(CustomerAudit.objects.order_by("id").values_list("action", flat=True)) == [
        "export",
        "erase",
    ]


def test_customer_service_role_can_merge_and_a_store_associate_cannot(client: Client) -> None:
    survivor, loser = busy_customer(0), busy_customer(1)
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    client.force_login(agent)
    url = reverse("admin:customers_customer_merge", args=[survivor.pk])
    assert client.get(url, {"other": loser.pk}).status_code == 200
    associate = UserFactory(is_staff=True)
    associate.groups.add(Group.objects.get(name="Store associate"))
    client.force_login(associate)
    assert client.post(url, {"other": loser.pk, "confirm": "1"}).status_code == 403
    assert not MergeAudit.objects.exists()


def test_add_a_note(admin_client: Client) -> None:
    customer = busy_customer(0)
    url = reverse("admin:customers_customer_note", args=[customer.pk])
    assert admin_client.post(url, {"text": "asked for an invoice"}).status_code == 302
    assert CustomerNote.objects.filter(text="asked for an invoice").exists()


def test_a_merged_customer_page_is_read_only_and_points_to_the_survivor(
    admin_client: Client,
) -> None:
    survivor, loser = busy_customer(0), busy_customer(1)
    services.customer_merge(survivor_id=survivor.pk, loser_id=loser.pk, actor=SYSTEM)
    url = reverse("admin:customers_customer_change", args=[loser.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "Merged into" in response.content.decode()
    assert 'name="name"' not in response.content.decode()
    assert admin_client.post(url, {"name": "changed"}).status_code == 403
    loser.refresh_from_db()
    assert loser.name == ""
