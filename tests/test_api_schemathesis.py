"""Property-based checks of the API against its own OpenAPI schema (schemathesis).

Generated requests, valid and invalid, must never produce a 500, and every response must match the
documented status codes, content types and schemas (problem+json included). Both data checks run
too: a schema-valid request must not be refused as malformed, and a schema-violating one must not
be accepted, so the schema states the API's real limits (lengths, patterns, enumerations).

What no schema can know is the database: a valid-looking SKU that does not exist, a cursor from
another listing, a channel the key does not own, a phone number that no numbering plan has. A 400
whose code (or every error's code) is in ``BEYOND_SCHEMA_CODES`` is such an answer and not a schema
gap; any other 400 to valid data fails.

The run is deterministic (``derandomize``) and counts its cases: ``tests/fuzz_count.py`` prints
the total and, where ``OMNIHUB_FUZZ_MIN_CASES`` is set (CI: 5000), fails a full run below it.
Explore further with ``OMNIHUB_FUZZ_EXAMPLES=500 ./test tests/test_api_schemathesis.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, assume, settings
from schemathesis import checks
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData

from inventory.models import RESERVED_LOCATION_CODES
from tests.fuzz_count import FUZZ_CASES

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("OMNIHUB_FUZZ_EXAMPLES", "40"))

BEYOND_SCHEMA_CODES = frozenset(
    {
        "does_not_exist",  # a referenced location, SKU, order, customer... is not in the database
        "not_found",  # a line that is not in this fulfilment
        "unknown_sku",  # a SKU the channel does not sell
        "invalid_cursor",  # a cursor this listing did not hand out
        "unresolvable",  # a webhook host name with no address (DNS)
        "in_future",  # a consent time after now
        "not_yours",  # a channel or partner that is not the key's
        # Not stored data, but a rule no schema states either: whether a phone number exists in
        # its region (the numbering plans of the phonenumbers library).
        "invalid_identifier",
        # Nor whether a postcode has its country's shape (NL 1011 AB, DE 10115), or comes with a
        # country: two query parameters a schema cannot tie together (orders.shipping).
        "invalid_address",
        # Nor that a compare-at ("was") price is above the price: two body fields a schema
        # cannot tie together either (catalog.api.price_serializers).
        "not_above_amount",
        # Nor which languages a channel sells in (its locale and its countries' languages, in
        # the database): a well-formed ``?locale=`` the channel does not sell in.
        "unsupported_locale",
        # Nor that a report's end is not before its start and at most 1,096 days after it: two
        # query parameters a schema cannot tie together either (reports.api.views).
        "invalid_range",
        # A handle or SKU that another product or variant already has, and an attribute code
        # that the product's type (stored data) does not define (catalog.api.product_views).
        "unique",
        "unknown_attribute",
        # A NUL character is refused everywhere (below); the generator leaves it out of strings
        # but not out of the names of the extra properties an object may carry.
        "null_character",
    }
)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Django closes "old" connections at the end of each request; inside a test transaction that
    would close the test's own connection. Django's test client switches this off while it runs
    a request; schemathesis calls the WSGI app directly, so do the same here."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch):
    """Generated webhook URLs are checked to resolve to public addresses (core.net): answer every
    name with one public address instead of sending generated names to a real DNS server."""
    monkeypatch.setattr("core.net.host_resolve", lambda host, port: ["93.184.215.14"])


@pytest.fixture
def cases(request):
    """Counts the requests this operation's test sent (reported to ``tests/fuzz_count.py``)."""
    counter: dict[str, Any] = {"n": 0, "operation": ""}
    yield counter
    request.node.user_properties.append((FUZZ_CASES, (counter["operation"], counter["n"])))


def _beyond_schema(response: Any) -> bool:
    """A 400 whose problem code, or every one of whose errors, names data or rules beyond the
    schema (``BEYOND_SCHEMA_CODES``, ``_stricter_url``)."""
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return False
    if response.status_code != 400 or not isinstance(body, dict):
        return False
    if body.get("code") in BEYOND_SCHEMA_CODES:
        return True
    errors = [item for item in body.get("errors") or [] if isinstance(item, dict)]
    return bool(errors) and all(
        item.get("code") in BEYOND_SCHEMA_CODES or _stricter_format(item) for item in errors
    )


_STRICTER_FORMATS = {"Enter a valid URL.", "Enter a valid email address."}


def _stricter_format(error: dict[str, Any]) -> bool:
    """The schema says ``format: uri`` or ``format: email`` (the RFCs); the API applies Django's
    stricter validators on top (a host of at most 253 characters in labels of at most 63, a
    top-level domain of two letters or more)."""
    return error.get("code") == "invalid" and error.get("message") in _STRICTER_FORMATS


@schemathesis.check
def positive_data_acceptance_but_data(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive data acceptance, minus refusals that depend on stored data."""
    try:
        return checks.positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _beyond_schema(response):
            return None
        raise


def _number_for_text(failure: AcceptedNegativeData, case: Any) -> bool:
    """The one schema violation the API accepts on purpose: a JSON number where the body has
    text (``"external_id": 12345``), read as its decimal text like DRF does (``docs/api.md``)."""
    found = re.search(r"in body - ([\w.]+): Incorrect type", failure.message) or re.search(
        r"in body - violates `type` at ([\w/]+) \(was string, became (?:number|integer)\)",
        failure.message,
    )
    if not found:
        return False
    name = re.split(r"[./]", found.group(1))[-1]

    def numbers(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == name and isinstance(item, int | float) and not isinstance(item, bool):
                    yield item
                yield from numbers(item)
        elif isinstance(value, list):
            for item in value:
                yield from numbers(item)

    return any(True for _ in numbers(case.body))


@schemathesis.check
def negative_data_rejection_but_numbers(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's negative data rejection, minus numbers sent as text (``_number_for_text``)."""
    try:
        return checks.negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData as failure:
        if _number_for_text(failure, case):
            return None
        raise


# The schema view needs no database, so the schema can be loaded at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# A NUL character is refused in every string (400 null_character, tests/test_bad_input.py); the
# schema does not repeat that on each string, so the generator leaves NUL out.
schema.config.generation.update(allow_x00=False)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run: CI must not flake; raise locally to explore
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_honours_its_schema(case, api_client, cases):
    # /stock/holds/{reference}/ and /stock/{location_code}/{sku}/ overlap for a location coded
    # "holds", a code no location may have (``inventory.models.RESERVED_LOCATION_CODES``).
    assume((case.path_parameters or {}).get("location_code") not in RESERVED_LOCATION_CODES)
    cases["n"] += 1
    cases["operation"] = case.operation.label
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {api_client.raw_key}"},
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
        additional_checks=[positive_data_acceptance_but_data, negative_data_rejection_but_numbers],
    )
