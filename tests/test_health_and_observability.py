"""/healthz, request ids and structured logs."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from config.celery import app as celery_app
from config.tasks import diagnostics_echo
from core import health

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "worker", "sync"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_is_503_when_no_worker_has_answered(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(health, "_check_broker", lambda: {"ok": True})
    body = client.get("/healthz")
    assert body.status_code == 503
    assert body.json()["checks"]["worker"]["ok"] is False


def test_healthz_is_ok_when_a_worker_beat_recently(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(health, "_check_broker", lambda: {"ok": True})
    health.worker_heartbeat_record()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["last_heartbeat_seconds_ago"] < 5


def test_healthz_reports_a_failing_database_as_503(client, monkeypatch):
    def broken() -> dict:
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "ConnectionError: database unreachable",
    }


def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one(client):
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert hostile != "<script>" and len(hostile) == 32


def test_a_task_enqueued_during_a_request_logs_the_requests_id():
    structlog.contextvars.bind_contextvars(request_id="req-42")
    try:
        assert diagnostics_echo.delay().get()["request_id"] == "req-42"
    finally:
        structlog.contextvars.clear_contextvars()


def test_log_lines_are_structured_json_with_the_request_id(capsys):
    from config.observability import logging_config

    config = logging_config(level="INFO", fmt="json")
    formatter = structlog.stdlib.ProcessorFormatter(
        **{k: v for k, v in config["formatters"]["structured"].items() if k != "()"}
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    logger = logging.getLogger("omnihub.test")
    logger.addHandler(handler)
    try:
        structlog.contextvars.bind_contextvars(request_id="req-7")
        structlog.get_logger("omnihub.test").warning("stock.checked", sku="ABC")
    finally:
        structlog.contextvars.clear_contextvars()
        logger.removeHandler(handler)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "stock.checked"
    assert line["sku"] == "ABC"
    assert line["request_id"] == "req-7"
    assert line["level"] == "warning"
