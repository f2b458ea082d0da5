"""``/metrics`` (Operations issue): Prometheus text, protected by a bearer token or a staff
session with ``core.view_metrics``; request rate, latency, status and query count per URL pattern;
Celery task outcomes and queue depths; outbox backlog and channel sync lag; stock drift; orders
placed per channel.

Counters live for the whole test process, so tests compare a scrape after with one before."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from celery import shared_task
from celery.signals import task_retry
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.utils import timezone
from kombu import Queue
from prometheus_client.parser import text_string_to_metric_families

from channels.models import Delivery
from config import metrics as config_metrics
from core.events import EventType
from core.models import ChangeEvent
from core.outbox.services import event_record
from inventory.models import StockLevel
from inventory.tasks import stock_drift_check
from orders import services as order_services
from orders.exceptions import OrderInvalid
from orders.services import CustomerInput, LineInput
from tests.factories import ChannelFactory, UserFactory
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-for-tests-0123456789"
NL = {"country": "NL", "city": "Amsterdam", "line1": "Damrak 1", "postal_code": "1012"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape(client: Any) -> Samples:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return _parse(response.content.decode())


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


def _staff(*, permitted: bool) -> User:
    user: User = UserFactory(is_staff=True)  # type: ignore[assignment]
    if permitted:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="core", codename="view_metrics")
        )
    return user


# --- protection ---------------------------------------------------------------------------------


def test_anonymous_gets_401_with_a_bearer_challenge(client: Any) -> None:
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"omnihub_" not in response.content


def test_a_wrong_token_gets_401(client: Any) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert b"omnihub_" not in response.content


def test_no_token_is_accepted_when_none_is_configured(client: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer x").status_code == 401


def test_staff_without_the_permission_gets_403(client: Any) -> None:
    client.force_login(_staff(permitted=False))

    response = client.get("/metrics")

    assert response.status_code == 403
    assert b"omnihub_" not in response.content


def test_a_user_who_is_not_staff_gets_403_even_with_the_permission(client: Any) -> None:
    user = _staff(permitted=True)
    user.is_staff = False
    user.save()
    client.force_login(user)

    assert client.get("/metrics").status_code == 403


def test_the_token_gets_the_prometheus_text_format(client: Any) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"omnihub_http_requests", "omnihub_outbox_backlog"} <= names


def test_staff_with_the_permission_gets_200(client: Any) -> None:
    client.force_login(_staff(permitted=True))

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"omnihub_http_requests_total" in response.content


def test_metrics_is_not_part_of_the_partner_api_schema(client: Any) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    schema = client.get("/api/schema/?format=json").json()

    assert not any("metrics" in path for path in schema["paths"])


# --- per request --------------------------------------------------------------------------------


def test_requests_are_counted_by_url_pattern_method_and_status(
    client: Any, api_client: Any
) -> None:
    before = _scrape(client)

    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert api_client.get("/api/v1/orders/").status_code == 200
        assert api_client.get("/api/v1/orders/").status_code == 200
        assert api_client.get("/api/v1/orders/O-NOPE-1/").status_code == 404
        assert api_client.get("/api/v1/orders/O-NOPE-2/").status_code == 404
    assert client.get("/no/such/page/").status_code == 404

    after = _scrape(client)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    listing = {"route": "api/v1/orders/"}
    detail = {"route": "api/v1/orders/<str:number>/"}
    requests = "omnihub_http_requests_total"
    assert delta(requests, **listing, method="GET", status="200") == 2
    assert delta(requests, **detail, method="GET", status="404") == 2
    assert delta(requests, route="<unmatched>", method="GET", status="404") == 1
    # the path itself never becomes a label value
    assert not any("O-NOPE" in value for _name, labels in after for _key, value in labels)
    durations = "omnihub_http_request_duration_seconds"
    assert delta(f"{durations}_count", **listing, method="GET") == 2
    assert delta(f"{durations}_bucket", **listing, method="GET", le="+Inf") == 2
    assert delta(f"{durations}_sum", **listing, method="GET") > 0
    # the query histogram counts exactly the queries the API requests ran (seen from outside)
    db = "omnihub_http_request_db_queries"
    assert delta(f"{db}_count", **listing) == 2
    assert delta(f"{db}_count", **detail) == 2
    assert delta(f"{db}_sum", **listing) + delta(f"{db}_sum", **detail) == len(queries)
    assert len(queries) > 0


def test_an_unusual_method_is_counted_as_other(client: Any) -> None:
    before = _scrape(client)

    client.generic("BREW", "/healthz")

    after = _scrape(client)
    labels = {"route": "healthz", "method": "other", "status": "405"}
    assert (
        _value(after, "omnihub_http_requests_total", **labels)
        - _value(before, "omnihub_http_requests_total", **labels)
        == 1
    )


# --- read at scrape time ------------------------------------------------------------------------


def test_outbox_backlog_and_channel_sync_lag_are_read_at_scrape_time(client: Any) -> None:
    # given two change events not yet relayed, one relayed, and a pending delivery for "shop"
    # created two minutes ago, and an idle channel
    shop = ChannelFactory(code="shop")
    ChannelFactory(code="idle")
    with transaction.atomic():
        for product_id in (1, 2, 3):
            event_record(
                topic=EventType.PRICE_CHANGED,
                aggregate="product",
                aggregate_id=product_id,
                channel_code="shop",
                payload={"product_id": product_id},
            )
    ChangeEvent.objects.filter(aggregate_id="3").update(relayed_at=timezone.now())
    ChangeEvent.objects.filter(aggregate_id="1").update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    for aggregate_id, state in (("1", Delivery.State.PENDING), ("2", Delivery.State.DELIVERED)):
        Delivery.objects.create(
            channel=shop,
            stream="price",
            topic="price.changed",
            aggregate="product",
            aggregate_id=aggregate_id,
            event_id=1,
            sequence=1,
            state=state,
        )
    Delivery.objects.filter(aggregate_id="1").update(
        created_at=timezone.now() - timedelta(minutes=2)
    )

    samples = _scrape(client)

    assert _value(samples, "omnihub_outbox_backlog") == 2
    assert 90 <= _value(samples, "omnihub_outbox_oldest_seconds") < 120
    assert _value(samples, "omnihub_channel_sync_backlog", channel="shop") == 1
    assert 120 <= _value(samples, "omnihub_channel_sync_lag_seconds", channel="shop") < 150
    assert ("omnihub_channel_sync_backlog", frozenset({("channel", "idle")})) in samples
    assert _value(samples, "omnihub_channel_sync_lag_seconds", channel="idle") == 0
    assert _value(samples, "omnihub_metrics_source_up", source="outbox") == 1
    assert _value(samples, "omnihub_metrics_source_up", source="channel_sync") == 1


def test_a_source_that_fails_is_reported_down_and_the_rest_is_still_served(
    client: Any, settings: Any
) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    samples = _scrape(client)

    assert _value(samples, "omnihub_metrics_source_up", source="celery_queues") == 0
    assert _value(samples, "omnihub_metrics_source_up", source="outbox") == 1
    assert ("omnihub_outbox_backlog", frozenset()) in samples


def test_celery_queue_depths_are_the_broker_list_lengths(client: Any, settings: Any) -> None:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("needs Redis as the broker: set REDIS_URL")
    import redis

    # given a queue of this test's own, holding three messages (one of them at priority 3)
    name = f"metrics-test-{os.getpid()}"
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_QUEUES = [Queue(name), Queue(f"{name}-empty")]
    broker = redis.Redis.from_url(url)
    broker.rpush(name, b"a", b"b")
    broker.rpush(f"{name}\x06\x163", b"c")
    try:
        samples = _scrape(client)
    finally:
        broker.delete(name, f"{name}\x06\x163")

    assert _value(samples, "omnihub_celery_queue_depth", queue=name) == 3
    assert ("omnihub_celery_queue_depth", frozenset({("queue", f"{name}-empty")})) in samples
    assert _value(samples, "omnihub_celery_queue_depth", queue=f"{name}-empty") == 0


def test_an_eager_broker_has_no_queue_depths(client: Any, settings: Any) -> None:
    settings.CELERY_BROKER_URL = ""

    samples = _scrape(client)

    assert not any(name == "omnihub_celery_queue_depth" for name, _labels in samples)
    assert _value(samples, "omnihub_metrics_source_up", source="celery_queues") == 1


# --- orders and tasks ---------------------------------------------------------------------------


def _place(shop: Shop, external_id: str) -> Any:
    return order_services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address=NL,
        customer=CustomerInput(email="ann@example.com"),
        external_id=external_id,
    )


def test_an_order_placed_counts_once_for_its_channel_after_commit(
    client: Any, shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    before = _scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        placed = _place(shop, "WEB-METRICS-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = _place(shop, "WEB-METRICS-1")  # the same external id: no new order
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OrderInvalid):
        order_services.order_place(
            channel_code="webshop", lines=[LineInput("NO-SUCH-SKU", 1)], method="ship", address=NL
        )

    after = _scrape(client)
    assert (placed.created, again.created) == (True, False)
    name = "omnihub_orders_placed_total"
    assert _value(after, name, channel="webshop") - _value(before, name, channel="webshop") == 1


def test_a_till_sale_counts_for_its_pos_channel(
    client: Any, shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    pos_channel_add(shop)
    shop.receive(shop.amsterdam, shop.m, 3)
    before = _scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        order_services.sale_record(
            channel_code="pos",
            location_code="ams-central",
            lines=[LineInput("ORGANIC-TEE-M", 1)],
            payments=[order_services.PaymentInput("card", Decimal("19.99"), "TERM-1")],
            sale_key="till-metrics-1",
        )

    after = _scrape(client)
    name = "omnihub_orders_placed_total"
    assert _value(after, name, channel="pos") - _value(before, name, channel="pos") == 1
    assert _value(after, name, channel="webshop") == _value(before, name, channel="webshop")


@shared_task(name="tests.metrics_fails")
def _fails() -> None:
    raise RuntimeError("boom")


def test_task_outcomes_are_counted_by_task_name(client: Any, shop: Shop) -> None:
    # given a level whose on hand was changed behind the ledger's back
    shop.receive(shop.warehouse, shop.s, 5)
    StockLevel.objects.filter(location=shop.warehouse, variant=shop.s).update(on_hand=7)
    before = _scrape(client)

    found = stock_drift_check.delay().get()
    # as a worker runs it: the error is recorded, not raised (eager tasks here re-raise first)
    assert _fails.apply(throw=False).failed()
    task_retry.send(sender=_fails, request=None, reason="later")

    after = _scrape(client)

    def delta(task: str, outcome: str) -> float:
        labels = {"task": task, "outcome": outcome}
        name = "omnihub_celery_tasks_total"
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("inventory.stock_drift_check", "success") == 1
    assert delta("inventory.stock_drift_check", "failure") == 0
    assert delta("tests.metrics_fails", "failure") == 1
    assert delta("tests.metrics_fails", "retry") == 1
    # the drift check's finding is kept for every web process to report
    assert found == 1
    assert _value(after, "omnihub_stock_drift_levels") == 1
    assert after[("omnihub_stock_drift_checked_timestamp_seconds", frozenset())] > 0


def test_no_drift_gauge_before_any_check_ran(client: Any) -> None:
    samples = _scrape(client)

    assert ("omnihub_stock_drift_levels", frozenset()) not in samples
    assert _value(samples, "omnihub_metrics_source_up", source="stock_drift") == 1


# --- several processes, tracing -----------------------------------------------------------------


def test_processes_sharing_a_multiprocess_directory_are_added_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from core.metrics import orders_placed; orders_placed.labels(channel='pos').inc()"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True)
    read = (
        "from prometheus_client import generate_latest; from core.metrics import scrape_registry;"
        "import sys; sys.stdout.write(generate_latest(scrape_registry()).decode())"
    )

    text = subprocess.run(
        [sys.executable, "-c", read], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout

    assert _value(_parse(text), "omnihub_orders_placed_total", channel="pos") == 2


class _Log:
    def __init__(self) -> None:
        self.events: list[str] = []

    def warning(self, event: str, **_: Any) -> None:
        self.events.append(event)


def test_tracing_is_off_by_default_and_warns_once_when_enabled_without_the_packages(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _Log()
    monkeypatch.setattr(config_metrics, "log", log)
    monkeypatch.setattr(config_metrics, "_tracing_warned", False)
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.auto_instrumentation", None)

    assert config_metrics.tracing_setup() is False
    assert log.events == []

    settings.OTEL_ENABLED = True
    assert config_metrics.tracing_setup() is False
    assert config_metrics.tracing_setup() is False
    assert log.events == ["otel.not_installed"]


def test_the_sample_dashboard_only_queries_metrics_that_are_exported(client: Any) -> None:
    import json
    import re

    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"omnihub_[a-z0-9_]+", target["expr"])
    }
    config_metrics.stock_drift_record(0)  # the drift gauges appear once a check has run

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    exported = {
        family.name + suffix
        for family in text_string_to_metric_families(response.content.decode())
        for suffix in ("", "_total", "_bucket", "_sum", "_count")
    }
    if not os.environ.get("REDIS_URL"):
        exported.add("omnihub_celery_queue_depth")  # served with a Redis broker only
    assert len(used) >= 10
    assert used - exported == set()
