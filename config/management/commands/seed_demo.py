from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from config import demo


class Command(BaseCommand):
    help = "Load the deterministic demo dataset (safe to run again: nothing is duplicated)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=["small", "large"], default="small")

    def handle(self, *args: Any, size: str, **options: Any) -> None:
        total = len(demo.demo_steps(size))
        with tqdm(
            total=total, desc=f"seed_demo {size}", unit="step", disable=options["verbosity"] == 0
        ) as bar:
            started: list[str] = []

            def progress(label: str) -> None:
                if started:
                    bar.update(1)
                started.append(label)
                bar.set_postfix_str(label)

            demo.seed_demo(size, progress=progress)
            bar.update(total - bar.n)
        self.stdout.write(self.style.SUCCESS(f"Demo data ({size}) is in place."))
