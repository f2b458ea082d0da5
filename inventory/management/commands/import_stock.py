"""``manage.py import_stock FILE``: apply an ERP/WMS stock feed (CSV: sku, location, on_hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.actors import Actor
from inventory.exceptions import StockFeedInvalid
from inventory.stock_feed import stock_feed_apply


class Command(BaseCommand):
    help = "Apply absolute stock counts from a CSV with the columns sku, location, on_hand."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            summary = stock_feed_apply(data=path.read_bytes(), actor=Actor.system("import_stock"))
        except StockFeedInvalid as refused:
            for error in refused.errors:
                self.stderr.write(
                    f"row {error['row']}, column {error['column']}: {error['message']}"
                )
            raise CommandError(
                f"{path.name} was not applied: {len(refused.errors)} error(s)."
            ) from None
        self.stdout.write(
            f"{summary.rows} rows: {summary.levels_changed} levels changed, "
            f"{summary.unchanged} unchanged "
            f"(+{summary.units_added} / -{summary.units_removed} units)"
        )
