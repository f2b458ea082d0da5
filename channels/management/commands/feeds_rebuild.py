"""``manage.py feeds_rebuild [code ...]``: recompute every item of the feed channels and write
their files now (after changing a channel's URL template, say). Without codes: every feed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels.feeds import services as feeds


class Command(BaseCommand):
    help = "Rebuild the Google and Meta feeds of the given channels (all feed channels if none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("codes", nargs="*", help="Feed channel codes.")

    def handle(self, *args: Any, codes: list[str], **options: Any) -> None:
        channels = feeds.feed_channels()
        if codes:
            known = {channel.code for channel in channels}
            unknown = sorted(set(codes) - known)
            if unknown:
                raise CommandError(f"Not an active feed channel: {', '.join(unknown)}")
            channels = [channel for channel in channels if channel.code in codes]
        for channel in channels:
            result = feeds.feed_rebuild(channel)
            for feed in channel.feeds.all():
                self.stdout.write(
                    f"{channel.code}/feed.{feed.format}: {feed.item_count} items, "
                    f"{feed.excluded_count} left out, {feed.size_bytes} bytes, "
                    f"{feed.seconds} s ({result.products} products)"
                )
