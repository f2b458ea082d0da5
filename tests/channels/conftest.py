from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from channels.models import webhook_secret_generate
from core.models import Channel
from tests.cache import cache_clear
from tests.channels.receiver import Receiver, running_receiver
from tests.factories import ChannelFactory


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(secret=webhook_secret_generate()) as running:
        yield running


@pytest.fixture
def push_channel(db: Any, receiver: Receiver) -> Channel:
    """A webshop pushing to the local receiver, signed with the receiver's secret."""
    cache_clear()
    return ChannelFactory(
        code="shop",
        kind=Channel.Kind.WEBSHOP,
        endpoint_url=receiver.url,
        signing_secret=receiver.secret,
        rate_limit_per_second=1000,
        batch_size=50,
    )
