"""The GDPR management commands."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from customers import services
from customers.models import CustomerAudit, CustomerStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_export_writes_json_and_is_recorded_for_the_user(tmp_path: Path) -> None:
    user = UserFactory(username="dpo")
    customer = services.customer_resolve(email="x@example.com", name="Xena").customer
    target = tmp_path / "x.json"
    call_command("customer_export", str(customer.pk), output=str(target), user="dpo")
    data = json.loads(target.read_text())
    assert data["customer"]["name"] == "Xena"
    assert CustomerAudit.objects.get().actor_user_id == user.pk


def test_export_of_an_unknown_customer_fails_cleanly() -> None:
    with pytest.raises(CommandError, match="No customer #999"):
        call_command("customer_export", "999")
    assert not CustomerAudit.objects.exists()


def test_erase_needs_yes_then_erases_once() -> None:
    customer = services.customer_resolve(email="y@example.com").customer
    with pytest.raises(CommandError, match="--yes"):
        call_command("customer_erase", str(customer.pk))
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.ACTIVE
    out = StringIO()
    call_command("customer_erase", str(customer.pk), yes=True, stdout=out)
    assert "1 identifier(s)" in out.getvalue()
    with pytest.raises(CommandError, match="erased"):
        call_command("customer_erase", str(customer.pk), yes=True)
    assert CustomerAudit.objects.filter(action="erase").count() == 1
