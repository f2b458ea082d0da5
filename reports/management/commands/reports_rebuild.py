"""``manage.py reports_rebuild``: recompute every rollup table from the orders and the stock
ledger (``--update``: only apply the outbox events after the cursor)."""

from __future__ import annotations

import time
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandParser

from reports.rollups import rollups_rebuild, rollups_update


class Command(BaseCommand):
    help = "Rebuild the report rollups from the orders and the stock ledger (or --update them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--update",
            action="store_true",
            help="Only apply the change events recorded since the last run.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["update"]:
            started = time.monotonic()
            read = rollups_update()
            self.stdout.write(f"Applied {read} change events in {time.monotonic() - started:.2f}s.")
            return
        result = rollups_rebuild(stdout=cast(TextIO, self.stdout))
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt the rollups from {result.orders} orders in {result.seconds:.2f}s: "
                f"{result.daily_sales} daily sales, {result.daily_orders} daily orders, "
                f"{result.return_reasons} return reasons, {result.timings} fulfilment timings, "
                f"{result.customers} customer facts, {result.customer_orders} customer order "
                f"days, {result.stock_snapshots} stock snapshots; "
                f"cursor at {result.position}."
            )
        )
