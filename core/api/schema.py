"""OpenAPI: the security schemes, and the problem+json errors every operation can return."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string", "example": "urn:omnihub:problem:validation_error"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "detail": {"type": "string", "example": "url: Enter a valid URL."},
        "code": {"type": "string", "example": "validation_error"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string", "example": "url"},
                    "code": {"type": "string", "example": "invalid"},
                    "message": {"type": "string", "example": "Enter a valid URL."},
                },
            },
        },
    },
    "additionalProperties": True,
}

_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "400": ("validation_error", "Bad Request", "url: Enter a valid URL."),
    "401": ("invalid_api_key", "Unauthorized", "The API key is not valid."),
    "403": ("missing_scope", "Forbidden", "This API key lacks the 'orders:write' scope."),
    "404": ("not_found", "Not Found", "Not found."),
    "409": ("conflict", "Conflict", "The request conflicts with the current state."),
    "412": (
        "precondition_failed",
        "Precondition Failed",
        "The resource has changed since you read it: fetch it again and retry.",
    ),
    "413": (
        "request_too_large",
        "Request Entity Too Large",
        "The body is larger than the limit of 2621440 bytes.",
    ),
    "422": (
        "idempotency_key_reused",
        "Unprocessable Content",
        "This Idempotency-Key was already used with a different request.",
    ),
    "429": ("rate_limited", "Too Many Requests", "Request was throttled."),
    "500": ("internal_error", "Internal Server Error", "An unexpected error occurred."),
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key <prefix>.<secret>`",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def _problem_response(status: str) -> dict[str, Any]:
    code, title, detail = _EXAMPLES[status]
    return {
        "description": title,
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": f"urn:omnihub:problem:{code}",
                    "title": title,
                    "status": int(status),
                    "detail": detail,
                    "code": code,
                    "errors": [],
                },
            }
        },
    }


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: document the problem+json errors of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            statuses = ["401", "403", "429", "500"]
            if operation.get("parameters") or "requestBody" in operation:
                statuses.append("400")
            if "{" in path:
                statuses.append("404")
            if "requestBody" in operation:
                statuses.append("413")
            for status in statuses:
                responses.setdefault(status, _problem_response(status))
            for status, response in list(responses.items()):
                # Views declare extra statuses (409, 412, 422) with a description only.
                if status in _EXAMPLES and "content" not in response:
                    responses[status] = {
                        **_problem_response(status),
                        "description": response.get("description") or _EXAMPLES[status][1],
                    }
    return result
