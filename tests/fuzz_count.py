"""pytest plugin: add up the cases the schemathesis test sent, and hold a full run to a minimum.

Each operation's test reports ``(operation, count)`` as a user property (``FUZZ_CASES``); reports
reach the controller from every xdist worker, so the total is the whole run's. With
``OMNIHUB_FUZZ_MIN_CASES`` set (CI sets 5000), a run that tested every operation with fewer cases
in total fails.
"""

from __future__ import annotations

import os

import pytest

FUZZ_CASES = "fuzz_cases"
MIN_ENV = "OMNIHUB_FUZZ_MIN_CASES"

_counts: dict[str, int] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == FUZZ_CASES:
            operation, count = value
            _counts[str(operation)] = int(count)


def _operations() -> int:
    """How many operations the schema has: a full run reports one count per operation."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    verbs = {"get", "post", "put", "patch", "delete"}
    return sum(1 for operations in paths.values() for verb in operations if verb in verbs)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _counts:
        terminalreporter.write_line(
            f"schemathesis: {sum(_counts.values())} cases over {len(_counts)} operations"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    minimum = int(os.environ.get(MIN_ENV) or 0)
    if not minimum or hasattr(session.config, "workerinput") or not _counts:
        return
    operations = _operations()
    total = sum(_counts.values())
    if len(_counts) >= operations and total < minimum:
        session.config.get_terminal_writer().line(
            f"\nschemathesis sent {total} cases over {len(_counts)} operations; "
            f"{MIN_ENV} asks for at least {minimum}.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
