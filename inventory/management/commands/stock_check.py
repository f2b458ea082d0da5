"""``manage.py stock_check [--repair]``: compare stock counters with the movement ledger."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory import selectors, services


class Command(BaseCommand):
    help = (
        "Report stock levels whose on hand or damaged differ from the sum of their movements; "
        "with --repair set them to the ledger. Exits with status 1 when drift is left unrepaired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repair", action="store_true", help="Set the counters to the ledger sums."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        drifts = selectors.stock_drift_list()
        for d in drifts:
            self.stdout.write(
                f"stock {d.stock_id}: on_hand {d.on_hand} (ledger {d.ledger_on_hand}), "
                f"damaged {d.damaged} (ledger {d.ledger_damaged})"
            )
        if not drifts:
            self.stdout.write(self.style.SUCCESS("No drift: every level equals its ledger."))
            return
        if not options["repair"]:
            raise CommandError(f"{len(drifts)} stock level(s) drifted; run with --repair.")
        repaired = services.stock_drift_repair(stock_ids=[d.stock_id for d in drifts])
        self.stdout.write(self.style.SUCCESS(f"Repaired {repaired} stock level(s)."))
        if repaired < len(drifts):
            raise CommandError(
                f"{len(drifts) - repaired} level(s) not repaired: their ledger on hand is below "
                "the committed units; release or fulfil those allocations first."
            )
