"""Outbound URLs (webhook subscriptions, channel push endpoints) reach public addresses only:
refused on entry (partner API, admin, services) with a 400 naming the field, and again at
delivery time, where a host that now resolves to a private address (DNS rebinding) fails the
delivery without a request. ``OUTBOUND_ALLOW_PRIVATE_URLS`` lets on-premise receivers through.

No test here reaches the network: host names are resolved by a stub (``network``), and the
connection itself is replaced by one that records the address instead of connecting. Tests of
literal addresses at entry need no stub: nothing is resolved and nothing is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from channels import delivery as delivery_service
from channels.models import Delivery, DeliveryAttempt, WebhookSubscription
from channels.relay import relay_run
from channels.services import channel_upsert, webhook_subscription_create
from core.errors import DomainError
from core.models import Channel
from core.outbox.services import event_record
from tests.factories import ChannelFactory, PartnerFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
PUBLIC = "93.184.215.14"

PRIVATE_LITERALS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "https://[fc00::1]/hook",
    "https://[::1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://100.64.0.1/hook",
]


class Network:
    """The stub network: ``hosts`` maps a name to the answers it gives, one list per lookup (the
    last one repeats); ``connects`` records each address a connection was opened to."""

    def __init__(self) -> None:
        self.hosts: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host == "localhost":
            return ["127.0.0.1", "::1"]
        answers = self.hosts.get(host)
        if not answers:
            import socket

            raise socket.gaierror(-2, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def connect(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        self.connects.append(address)
        raise ConnectionRefusedError(111, "Connection refused (stub network)")


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    from core import net

    stub = Network()
    monkeypatch.setattr(net, "host_resolve", stub.resolve)
    monkeypatch.setattr(net, "address_connect", stub.connect)
    yield stub


def assert_url_refused(response: Any, field: str = "url") -> dict[str, Any]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "url_not_allowed"
    assert [error["field"] for error in body["errors"]] == [field]
    return body


# --- partner API --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PRIVATE_LITERALS)
def test_the_api_refuses_a_subscription_to_a_private_address(api_client, url):
    response = api_client.post("/api/v1/webhooks/", {"url": url, "events": ["order.created"]})

    body = assert_url_refused(response)
    assert "public" in body["detail"]
    assert WebhookSubscription.objects.count() == 0


def test_the_api_refuses_a_host_name_that_resolves_to_a_private_address(api_client, network):
    network.hosts["metadata.attacker.test"] = [[PUBLIC, "169.254.169.254"]]

    response = api_client.post(
        "/api/v1/webhooks/",
        {"url": "https://metadata.attacker.test/x", "events": ["order.created"]},
    )

    body = assert_url_refused(response)
    assert "169.254.169.254" in body["errors"][0]["message"]
    assert WebhookSubscription.objects.count() == 0


def test_the_api_refuses_a_host_name_that_does_not_resolve(api_client, network):
    response = api_client.post(
        "/api/v1/webhooks/", {"url": "https://nowhere.test/x", "events": ["order.created"]}
    )

    body = assert_url_refused(response)
    assert body["errors"][0]["code"] == "unresolvable"
    assert WebhookSubscription.objects.count() == 0


def test_the_api_refuses_a_scheme_other_than_http(api_client, network):
    network.hosts["files.partner.test"] = [[PUBLIC]]

    response = api_client.post(
        "/api/v1/webhooks/", {"url": "ftp://files.partner.test/x", "events": ["order.created"]}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "url"
    assert WebhookSubscription.objects.count() == 0


def test_the_api_accepts_a_public_host(api_client, network):
    network.hosts["hooks.partner.test"] = [[PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]]

    response = api_client.post(
        "/api/v1/webhooks/", {"url": "https://hooks.partner.test/x", "events": ["order.created"]}
    )

    assert response.status_code == 201, response.content
    assert WebhookSubscription.objects.get().url == "https://hooks.partner.test/x"
    assert network.connects == []


def test_a_patch_to_a_private_address_is_refused_and_changes_nothing(api_client):
    subscription = WebhookSubscriptionFactory(
        partner=api_client.partner, url="https://hooks.partner.test/x"
    )

    response = api_client.patch(
        f"/api/v1/webhooks/{subscription.pk}/", {"url": "http://10.0.0.5/steal"}
    )

    assert_url_refused(response)
    subscription.refresh_from_db()
    assert subscription.url == "https://hooks.partner.test/x"


def test_the_setting_allows_private_receivers(api_client, network, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = True

    response = api_client.post(
        "/api/v1/webhooks/", {"url": "http://192.168.1.10/hook", "events": ["order.created"]}
    )

    assert response.status_code == 201, response.content


def test_the_setting_is_off_unless_the_environment_turns_it_on():
    from config.settings import base

    assert base.OUTBOUND_ALLOW_PRIVATE_URLS is False


# --- services and admin -------------------------------------------------------------------------


def test_the_subscription_service_refuses_a_private_address():
    with pytest.raises(DomainError) as refused:
        webhook_subscription_create(
            partner=PartnerFactory(), url="http://169.254.169.254/", events=["order.created"]
        )

    assert refused.value.code == "url_not_allowed"
    assert refused.value.errors[0]["field"] == "url"
    assert WebhookSubscription.objects.count() == 0


def test_channel_upsert_refuses_a_private_push_endpoint():
    with pytest.raises(DomainError) as refused:
        channel_upsert(
            code="shop", name="Shop", kind=Channel.Kind.WEBSHOP, endpoint_url="http://10.0.0.1/"
        )

    assert refused.value.errors[0]["field"] == "endpoint_url"
    assert not Channel.objects.filter(code="shop").exists()


def test_the_admin_refuses_a_private_subscription_url(admin_client):
    partner = PartnerFactory()

    response = admin_client.post(
        "/admin/channels/webhooksubscription/add/",
        {
            "partner": partner.pk,
            "url": "http://169.254.169.254/latest/",
            "events": '["order.created"]',
            "description": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["url"]
    assert "public" in errors["url"][0]
    assert WebhookSubscription.objects.count() == 0


def test_the_admin_refuses_a_private_channel_endpoint(admin_client):
    channel = ChannelFactory(code="shop", endpoint_url="")
    form = {
        field: getattr(channel, field)
        for field in ("code", "name", "kind", "currency", "locale", "stock_buffer_kind")
    }
    form |= {
        "stock_buffer_value": "0",
        "rate_limit_per_second": "10",
        "batch_size": "100",
        "is_active": "on",
        "endpoint_url": "http://127.0.0.1:6379/",
    }

    response = admin_client.post(f"/admin/core/channel/{channel.pk}/change/", form)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["endpoint_url"]
    channel.refresh_from_db()
    assert channel.endpoint_url == ""


# --- delivery time ------------------------------------------------------------------------------


def _order_event() -> None:
    with transaction.atomic():
        event_record(
            topic="order.created", aggregate="order", aggregate_id=9, payload={"status": "new"}
        )
    relay_run()


def _subscription(url: str) -> WebhookSubscription:
    # written directly: the URL was public (or allowed) when it was accepted
    return WebhookSubscriptionFactory(url=url, events=["order.created"])


def test_a_delivery_to_a_host_that_now_resolves_privately_fails_without_a_request(network):
    # given a subscription whose host has since been pointed at the metadata address
    subscription = _subscription("https://hooks.partner.test/x")
    network.hosts["hooks.partner.test"] = [["169.254.169.254"]]
    _order_event()

    # when it is pushed
    outcome = delivery_service.subscription_push(subscription_id=subscription.pk)

    # then nothing was sent, and the delivery failed for good with the reason
    assert (outcome.sent, outcome.delivered) == (1, 0)
    assert network.connects == []
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert "169.254.169.254" in delivery.last_error and "public" in delivery.last_error
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code) == ("refused", None)


def test_dns_rebinding_between_the_check_and_the_connection_is_caught(network):
    # given a host that answers public to the first lookup and private to the next
    subscription = _subscription("https://rebind.attacker.test/x")
    network.hosts["rebind.attacker.test"] = [[PUBLIC], ["127.0.0.1"]]
    _order_event()

    delivery_service.subscription_push(subscription_id=subscription.pk)

    assert network.lookups.count("rebind.attacker.test") == 2
    assert network.connects == []
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert "127.0.0.1" in delivery.last_error


def test_a_public_host_is_connected_to_at_the_address_that_was_checked(network):
    subscription = _subscription("https://hooks.partner.test/x")
    network.hosts["hooks.partner.test"] = [[PUBLIC]]
    _order_event()

    delivery_service.subscription_push(subscription_id=subscription.pk)

    # the stub refuses the connection: an ordinary network error, retried later
    assert network.connects == [(PUBLIC, 443)]
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 1
    assert "network error" in delivery.last_error


def test_a_channel_push_to_a_private_endpoint_fails_without_a_request(network):
    channel = ChannelFactory(
        code="shop", kind=Channel.Kind.WEBSHOP, endpoint_url="http://internal.shop.test/push"
    )
    network.hosts["internal.shop.test"] = [["10.0.0.7"]]
    with transaction.atomic():
        event_record(
            topic="price.changed",
            aggregate="product",
            aggregate_id=7,
            channel_code="shop",
            payload={"product_id": 7, "amount": "5.00"},
        )
    relay_run()

    outcome = delivery_service.channel_push(channel_id=channel.pk)

    assert (outcome.sent, outcome.delivered) == (1, 0)
    assert network.connects == []
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.state == Delivery.State.FAILED
    assert "10.0.0.7" in delivery.last_error


@override_settings(OUTBOUND_ALLOW_PRIVATE_URLS=True)
def test_with_the_setting_a_private_receiver_is_connected_to(network):
    subscription = _subscription("http://192.168.1.10:8080/x")
    _order_event()

    delivery_service.subscription_push(subscription_id=subscription.pk)

    assert network.connects == [("192.168.1.10", 8080)]
    assert Delivery.objects.get().state == Delivery.State.PENDING


def test_the_url_check_names_the_reason(network):
    from core.net import UrlNotAllowed, url_public_check

    network.hosts["mixed.test"] = [[PUBLIC, "fd00::1"]]
    with pytest.raises(UrlNotAllowed) as refused:
        url_public_check("https://mixed.test/", field="endpoint_url")
    assert refused.value.errors == [
        {
            "field": "endpoint_url",
            "code": "not_public",
            "message": "mixed.test resolves to a non-public address (fd00::1); "
            "only public addresses are allowed.",
        }
    ]
    url_public_check("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/")  # a literal: no lookup
    assert network.lookups == ["mixed.test"]
