"""``manage.py customer_export <id> [--output FILE] [--user USERNAME]``: GDPR data export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.actors import SYSTEM, Actor
from core.errors import DomainError
from customers import services


def actor_for(username: str | None) -> Actor:
    """The user named by ``--user``, or the (unnamed) system when none is named."""
    if not username:
        return SYSTEM
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user {username!r}.")
    return Actor.for_user(user)


class Command(BaseCommand):
    help = "Write everything held about a customer as JSON (stdout or --output); recorded."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--output", help="File to write instead of stdout.")
        parser.add_argument("--user", help="Username the export is recorded for.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_for(options["user"])
        try:
            data = services.customer_export(customer_id=options["customer_id"], actor=actor)
        except DomainError as refused:
            raise CommandError(refused.message) from refused
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Customer #{options['customer_id']} written to {options['output']}.")
        else:
            self.stdout.write(text)
