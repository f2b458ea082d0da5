"""Property-based checks of the API against its own OpenAPI schema (schemathesis).

Generated requests, valid and invalid, must never produce a 500, and every response must match the
documented status codes, content types and schemas (problem+json included).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import checks

pytestmark = pytest.mark.django_db


# The schema view needs no database, so the schema can be loaded at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_honours_its_schema(case, api_client):
    # DRF coerces scalars (0 -> "0") and validates URLs beyond what JSON Schema can say, so the
    # two "data acceptance" checks are left out; every response-side check stays on.
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {api_client.raw_key}"},
        excluded_checks=[checks.negative_data_rejection, checks.positive_data_acceptance],
    )
