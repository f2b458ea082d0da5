"""Structured logging with a request id that follows a request into the Celery tasks it enqueues.

Every log line is a structlog event. ``RequestIdMiddleware`` binds ``request_id`` (taken from an
incoming ``X-Request-ID`` or generated) to the context for the duration of the request and echoes
it in the response. ``config.celery`` copies the bound id into each published task's headers and
binds it again in the worker, so one id ties the web request to every task it caused.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_shared_processors: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """Return Django's LOGGING dict and configure structlog to render through it.

    ``fmt`` is ``console`` (coloured, for people) or ``json`` (one object per line, for machines).
    """
    structlog.configure(
        processors=[
            *_shared_processors,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": _shared_processors,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "django.server": {"level": "INFO"},
            "celery": {"level": level},
        },
    }


def current_request_id() -> str | None:
    """The request id bound to the current context, if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def bind_request_id(request_id: str | None) -> str:
    """Bind ``request_id`` (or a new one when missing or malformed) and return it."""
    if not request_id or not _VALID_REQUEST_ID.match(request_id):
        request_id = uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


class RequestIdMiddleware:
    """Bind a request id to every log line of a request and return it as ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.logger = structlog.get_logger("omnihub.request")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        structlog.contextvars.clear_contextvars()
        request_id = bind_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        if response.status_code >= 500:
            self.logger.error(
                "request.failed",
                method=request.method,
                path=request.path,
                status=response.status_code,
            )
        structlog.contextvars.clear_contextvars()
        return response


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]


logging.captureWarnings(True)
