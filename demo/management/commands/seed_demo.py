from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from demo import seed as demo
from demo.catalog import SIZES


class Command(BaseCommand):
    help = "Load the deterministic demo dataset (safe to run again: nothing is duplicated)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=["small", "large"], default="small")
        parser.add_argument(
            "--taxonomy",
            type=Path,
            default=None,
            metavar="PATH",
            help=(
                "Google's taxonomy-with-ids file to load as the category tree. Default: the one "
                "in the real-data directory when present, else the demo's own few dozen categories."
            ),
        )

    def handle(self, *args: Any, size: str, taxonomy: Path | None, **options: Any) -> None:
        if taxonomy is not None and not taxonomy.is_file():
            raise CommandError(f"{taxonomy} is not a file.")
        quiet = options["verbosity"] == 0
        steps = tqdm(
            total=len(demo.demo_steps(size)),
            desc=f"seed_demo {size}",
            unit="step",
            disable=quiet,
            position=0,
        )
        products = tqdm(
            total=SIZES[size][0],
            desc="products",
            unit="product",
            disable=quiet,
            position=1,
            leave=False,
        )
        started: list[str] = []

        def progress(label: str) -> None:
            if started:
                steps.update(1)
            started.append(label)
            steps.set_postfix_str(label)

        with steps, products:
            demo.seed_demo(size, progress=progress, advance=products.update, taxonomy=taxonomy)
            steps.update(steps.total - steps.n)
        self.stdout.write(self.style.SUCCESS(f"Demo data ({size}) is in place."))
