"""OpenAPI: the security schemes, and the problem+json errors every operation can return."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)

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


class ListLengthExtension(OpenApiSerializerFieldExtension):
    """``Serializer(many=True, allow_empty=False, max_length=200)``: state the list's limits as
    ``minItems``/``maxItems`` (drf-spectacular leaves them out, so clients could not know)."""

    target_class = "rest_framework.serializers.ListSerializer"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        field = self.target
        minimum = field.min_length if field.min_length is not None else 0
        if not field.allow_empty:
            minimum = max(minimum, 1)
        if minimum:
            schema["minItems"] = minimum
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
        return schema


NOT_BLANK_PATTERN = r"[^\s\u001c-\u001f\u0085]"
r"""At least one character that trimming keeps: Python's ``str.strip`` (which DRF uses) also
removes U+001C-U+001F and U+0085, which JSON Schema's (ECMA 262) ``\s`` does not name."""


class TextExtension(OpenApiSerializerFieldExtension):
    """Text that may not be blank: DRF trims it first, so ``"  "`` is as blank as ``""``; the
    request schema says so with a pattern (at least one non-space character)."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        if (
            direction == "request"
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and not field.allow_blank
            and field.trim_whitespace
            and "pattern" not in schema
            and "format" not in schema
            and "enum" not in schema
            # a field with its own pattern gets that one (drf-spectacular adds it afterwards)
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            schema["pattern"] = NOT_BLANK_PATTERN
        return schema


class DecimalStringExtension(OpenApiSerializerFieldExtension):
    """A decimal sent as text: its pattern needs at least one digit (drf-spectacular's admits
    ``""``, ``"-"`` and ``"."``) and no minus sign where the field has a minimum of 0 or more."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        whole, places = field.max_whole_digits, field.decimal_places
        if isinstance(schema, dict) and "pattern" in schema and whole and places:
            minimum = field.min_value
            sign = "" if minimum is not None and minimum >= 0 else "-?"
            # A minimum above zero (amounts of at least 0.01): no all-zero text either.
            positive = "(?![0.]*$)" if minimum is not None and minimum > 0 else ""
            schema["pattern"] = (
                rf"^{positive}{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"
            )
        return schema


RULES_KEY = "x-omnihub-rules"


class SerializerRulesExtension(OpenApiSerializerExtension):
    """Rules across fields that a serializer's ``validate`` enforces, stated in its request
    schema: a serializer sets ``openapi_request_rules`` (JSON Schema keywords such as
    ``anyOf`` or ``minProperties``) and they are merged into its request component."""

    target_class = "rest_framework.serializers.Serializer"
    match_subclasses = True
    priority = -1  # any more specific extension wins

    @classmethod
    def _matches(cls, target: Any) -> bool:
        return super()._matches(target) and hasattr(target, "openapi_request_rules")

    def get_name(self, auto_schema: Any, direction: str) -> str | None:
        return None

    def map_serializer(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        rules = getattr(self.target, "openapi_request_rules", None)
        if rules and direction == "request":
            # Parked under an extension key until ``add_problem_responses`` (which runs after
            # drf-spectacular's enum hook, which would take their ``enum``s for fields) merges them.
            schema = {**schema, RULES_KEY: rules}
        return schema


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


def _body_required_when_rules_need_it(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body whose schema needs at least one member (``minProperties``) cannot be left out."""
    body = operation.get("requestBody")
    if not body:
        return
    for media in body.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        if schemas.get(ref.rsplit("/", 1)[-1], {}).get("minProperties"):
            body["required"] = True


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: document the problem+json errors of every operation, and merge the
    serializers' cross-field rules (``SerializerRulesExtension``) into their components."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for component in schemas.values():
        component.update(component.pop(RULES_KEY, {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            _body_required_when_rules_need_it(operation, schemas)
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
