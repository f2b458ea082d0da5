"""``manage.py import_products --format shopify FILE``: import products, variants, prices, images
and stock from a file; a bad file is refused whole with the row and column of each error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.exceptions import ImportFileInvalid
from catalog.imports.services import FORMATS, default_price_channel, products_import
from core.errors import DomainError


class Command(BaseCommand):
    help = "Import products from a Shopify product CSV export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=sorted(FORMATS), default="shopify")
        parser.add_argument(
            "--channel",
            default=None,
            help=f"Channel that gets the file's prices (default: {default_price_channel()}).",
        )
        parser.add_argument(
            "--location", default="", help="Location that gets the inventory quantities."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            summary = products_import(
                data=path.read_bytes(),
                fmt=options["format"],
                price_channel_code=options["channel"],
                stock_location_code=options["location"],
                reference=f"import of {path.name}",
            )
        except ImportFileInvalid as refused:
            for error in refused.errors:
                self.stderr.write(
                    f"row {error['row']}, column {error['column']}: {error['message']}"
                )
            raise CommandError(
                f"{path.name} was not imported: {len(refused.errors)} error(s)."
            ) from None
        except DomainError as refused:  # e.g. the stock counts, applied after the products
            raise CommandError(refused.message) from None
        for name, value in summary.as_dict().items():
            self.stdout.write(f"{name.replace('_', ' ')}: {value}")
