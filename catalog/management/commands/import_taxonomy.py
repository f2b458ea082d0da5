"""``manage.py import_taxonomy PATH``: load Google's product taxonomy (``taxonomy-with-ids``) into
the category tree. Safe to run again and over the demo's smaller tree: only missing categories
are added. A malformed file is refused whole, naming its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.exceptions import TaxonomyFileInvalid
from catalog.models import Category
from catalog.services import category_tree_import_google


class Command(BaseCommand):
    help = "Import Google's product taxonomy file (taxonomy-with-ids.<locale>.txt)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The taxonomy-with-ids file.")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            created = category_tree_import_google(path=path)
        except TaxonomyFileInvalid as refused:
            raise CommandError(f"{path.name} was not imported: {refused.message}") from None
        self.stdout.write(
            f"categories created: {created} (the tree now holds {Category.objects.count()})"
        )
