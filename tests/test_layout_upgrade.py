"""A database of the release before the layered layout keeps every row, permission and group when
migrated with this checkout, and ends up with exactly a new database's schema
(``tests/layout_upgrade.py`` does the work and can be run by hand for a report)."""

from __future__ import annotations

import os

import pytest

from tests import layout_upgrade

pytestmark = pytest.mark.postgres


def test_a_database_of_the_previous_release_survives_the_upgrade() -> None:
    try:
        report = layout_upgrade.run(os.environ.get("DATABASE_URL", ""))
    except layout_upgrade.UpgradeCheckUnavailable as error:
        if os.environ.get("CI"):
            raise  # CI clones the whole history and has PostgreSQL: the check must run there
        pytest.skip(str(error))
    assert report.problems == []
    assert report.before.rows["channels_channel"] > 0
    assert report.before.rows["outbox_changeevent"] > 0
    assert "Channel operators" in report.before.group_permissions


def test_a_database_short_of_the_previous_release_is_refused_before_anything_changes() -> None:
    try:
        said = layout_upgrade.partial_upgrade_refusal(os.environ.get("DATABASE_URL", ""))
    except layout_upgrade.UpgradeCheckUnavailable as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(error))
    assert "not at the previous release's last migrations" in said
    assert "channels.0004_feeds" in said
