"""``manage.py customer_erase <id> --yes [--user USERNAME]``: GDPR erasure (irreversible)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from customers import services
from customers.management.commands.customer_export import actor_for


class Command(BaseCommand):
    help = (
        "Anonymise a customer's personal data for good (name, identifiers, notes); orders, "
        "refunds, the loyalty ledger and the consent log stay. Recorded. Needs --yes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--yes", action="store_true", help="Confirm the irreversible erasure.")
        parser.add_argument("--user", help="Username the erasure is recorded for.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError("Erasure cannot be undone; add --yes to confirm.")
        actor = actor_for(options["user"])
        try:
            audit = services.customer_erase(customer_id=options["customer_id"], actor=actor)
        except DomainError as refused:
            raise CommandError(refused.message) from refused
        self.stdout.write(
            self.style.SUCCESS(
                f"Customer #{options['customer_id']} erased: "
                f"{audit.detail['identifiers_deleted']} identifier(s), "
                f"{audit.detail['notes_deleted']} note(s) removed."
            )
        )
