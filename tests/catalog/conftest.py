from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from config import roles
from core.models import Channel
from tests.factories import ChannelFactory, UserFactory


def _user_in(role: str, username: str) -> User:
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def merchandiser(db: Any) -> User:
    return _user_in(roles.MERCHANDISER, "merch")


@pytest.fixture
def approver(db: Any) -> User:
    return _user_in(roles.CATALOG_APPROVER, "approver")


@pytest.fixture
def webshop(db: Any) -> Channel:
    return ChannelFactory(code="webshop", currency="EUR")
