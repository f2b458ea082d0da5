"""Journey 1, consistent product everywhere: a merchandiser edits a price and a description once
in the admin; once a catalog approver approves, a real Celery worker brings the change to every
channel the product is published on (two pushed channels, the Google and Meta feeds, the store
POS), each with its own title rule, and no channel ever gets an older value after a newer one.

Needs PostgreSQL, Redis (a real worker) and Chromium."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from catalog import services as catalog
from catalog.models import Attribute, ChannelContentRule, Product, ProductTypeAttribute
from channels.models import webhook_secret_generate
from channels.tasks import dispatch
from core.models import Channel
from tests.browser import save_screenshot
from tests.catalog.factories import complete_product
from tests.channels.receiver import Receiver, running_receiver
from tests.channels.syncing import FAST, assert_in_order
from tests.factories import ChannelFactory, LocationFactory
from tests.journeys.steps import admin_action, admin_login, staff_user, wait_until
from tests.workers import Worker, running_worker

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SKU = "ORGANIC-TEE-M"
OLD_TEXT = "Soft organic cotton."
NEW_TEXT = "Soft organic cotton, now with a longer hem."
G = "{http://base.google.com/ns/1.0}"


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    """Media on disk, shared by this process (the live server) and the worker: the feed files the
    worker writes are the ones served."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    settings.OMNIHUB_PUBLIC_URL = "https://hub.example.com"
    return tmp_path


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    with (
        running_receiver(secret=webhook_secret_generate()) as webshop,
        running_receiver(secret=webhook_secret_generate()) as marketplace,
    ):
        yield webshop, marketplace


@pytest.fixture
def worker(media: Path, monkeypatch: pytest.MonkeyPatch, transactional_db: Any) -> Iterator[Worker]:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CHANNELS_FEED_MIN_SECONDS", "0")
    monkeypatch.setenv("OMNIHUB_JOURNEY_MEDIA", str(media))
    with running_worker(settings_module="tests.journeys.worker_settings") as running:
        yield running


# The feeds are rendered by the worker after the relay: on a loaded 2-core CI machine (the
# suite's other worker busy beside it) that has taken over 30 s once; what is checked is that
# they follow, not how fast (docs/benchmarks.md has the propagation figures).
FEED_WAIT = 90.0


def _published_everywhere(webshop: Receiver, marketplace: Receiver) -> tuple[Product, list[str]]:
    """A tee in size M at 24.95 on five channels, approved and published on all of them."""
    store = LocationFactory(code="ams-central", name="Amsterdam Central")
    channels = [
        ChannelFactory(
            code="webshop",
            kind=Channel.Kind.WEBSHOP,
            endpoint_url=webshop.url,
            signing_secret=webshop.secret,
            rate_limit_per_second=1000,
        ),
        ChannelFactory(
            code="bol",
            kind=Channel.Kind.MARKETPLACE,
            endpoint_url=marketplace.url,
            signing_secret=marketplace.secret,
            rate_limit_per_second=1000,
        ),
        ChannelFactory(code="google", kind=Channel.Kind.GOOGLE_FEED),
        ChannelFactory(code="meta", kind=Channel.Kind.META_FEED),
        ChannelFactory(code="pos-nl", kind=Channel.Kind.POS),
    ]
    for channel in channels:
        channel.product_url_template = "https://shop.example.com/products/{handle}"
        channel.save()
        channel.locations.set([store])
    # the marketplace titles products its own way, within its own limit
    ChannelContentRule.objects.create(
        channel=channels[1], title_template="{brand} {name}", title_max_length=40
    )
    product = complete_product(channels[0], sizes=("m",), price="24.95")
    for code, name in (("gender", "Gender"), ("age_group", "Age group")):  # Google's apparel
        attribute, _ = Attribute.objects.get_or_create(
            code=code, defaults={"name": name, "kind": Attribute.Kind.TEXT}
        )
        ProductTypeAttribute.objects.get_or_create(
            product_type=product.product_type, attribute=attribute, defaults={"level": "product"}
        )
    catalog.product_update(
        product=product,
        attributes={**product.attributes, "gender": "Unisex", "age_group": "Adult"},
    )
    variant = product.variants.get()
    for channel in channels[1:]:
        catalog.price_set(variant_id=variant.pk, channel_code=channel.code, amount="24.95")
    catalog.product_submit(product_ids=[product.pk])
    catalog.product_approve(product_ids=[product.pk])
    for channel in channels:
        catalog.product_publish(product_ids=[product.pk], channel_code=channel.code)
    return product, [channel.code for channel in channels]


def _pushed(receiver: Receiver, product_id: int) -> tuple[str, str] | None:
    """(price of the SKU, description) as the receiver last applied them."""
    price = receiver.state.get(("price", "product", str(product_id)))
    content = receiver.state.get(("product", "product", str(product_id)))
    if price is None or content is None:
        return None
    return price["data"]["prices"][SKU]["amount"], content["data"]["snapshot"]["description"]


def _feed(client: Client, path: str) -> bytes | None:
    """The feed file, or None while there is none yet. A request that meets the worker swapping
    the file in can fail (the old file is deleted under it): it is read again on the next poll."""
    response = client.get(path)
    if response.status_code != 200:
        return None
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def _google(client: Client) -> tuple[str, str, str] | None:
    body = _feed(client, "/channels/google/feed.xml")
    if body is None:
        return None
    root = ET.fromstring(body)
    items = [
        {element.tag[len(G) :]: element.text for element in item} for item in root.iter("item")
    ]
    if len(items) != 1:  # not rendered with the product yet: poll again
        return None
    (item,) = items
    return item["price"], item["description"], item["title"]


def _meta(client: Client) -> tuple[str, str] | None:
    body = _feed(client, "/channels/meta/feed.csv")
    if body is None:
        return None
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    if len(rows) != 1:  # not rendered with the product yet: poll again
        return None
    (row,) = rows
    return row["price"], row["description"]


def _pos(pos_client: Any, product_id: int) -> tuple[str, str] | None:
    """The till's view after applying every change it was served, as a till does."""
    response = pos_client.get("/api/v1/pos/pos-nl/changes/", {"location": "ams-central"})
    assert response.status_code == 200, response.json()
    state: dict[str, Any] = {}
    for change in response.json()["changes"]:
        if change["object"] == {"type": "product", "id": str(product_id)}:
            state[change["stream"]] = change["data"]
    if "price" not in state or "product" not in state:
        return None
    return state["price"]["prices"][SKU]["amount"], state["product"]["snapshot"]["description"]


def test_a_price_and_description_edited_once_reach_every_channel_after_approval(
    live_server: Any,
    page: Any,
    receivers: tuple[Receiver, Receiver],
    worker: Worker,
    api_client_for: Any,
) -> None:
    webshop, marketplace = receivers
    product, codes = _published_everywhere(webshop, marketplace)
    staff_user("mara", "Merchandiser")
    staff_user("ahmed", "Catalog approver")
    feeds = Client()
    pos_client = api_client_for(scopes=["catalog:read", "stock:read"], channels=["pos-nl"])
    mkt_client = api_client_for(scopes=["catalog:read"], channels=["bol"])

    # given every channel shows 24.95 and the old text
    for receiver in (webshop, marketplace):
        wait_until(
            lambda r=receiver: _pushed(r, product.pk) == ("24.95", OLD_TEXT),  # type: ignore[misc]
            kick=dispatch.delay,
            what="the first push",
        )
    wait_until(
        lambda: _google(feeds) == ("24.95 EUR", OLD_TEXT, "Organic Tee - M / Navy"),
        what="the Google feed",
        timeout=FEED_WAIT,
    )
    wait_until(
        lambda: _meta(feeds) == ("24.95 EUR", OLD_TEXT), what="the Meta feed", timeout=FEED_WAIT
    )
    assert _pos(pos_client, product.pk) == ("24.95", OLD_TEXT)

    # when the merchandiser edits the description and the price of every channel in the admin
    base = live_server.url
    admin_login(page, base, "mara")
    page.goto(f"{base}/admin/catalog/product/{product.pk}/change/")
    page.fill("#id_description", NEW_TEXT)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    variant = product.variants.get()
    page.goto(f"{base}/admin/catalog/variant/{variant.pk}/change/")
    rows = page.locator("#prices-group tr.form-row.has_original").count()
    assert rows == len(codes)
    for index in range(rows):
        page.fill(f"#id_prices-{index}-amount", "21.50")
    save_screenshot(page, "journey-01-prices-edited")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW

    # then the price is live everywhere, but the text waits for approval
    for receiver in (webshop, marketplace):
        wait_until(
            lambda r=receiver: _pushed(r, product.pk) == ("21.50", OLD_TEXT),  # type: ignore[misc]
            kick=dispatch.delay,
            what="the new price",
        )

    # when the catalog approver approves
    admin_login(page, base, "ahmed")
    assert "1 product(s) approved" in admin_action(
        page, base, "/admin/catalog/product/", product.pk, "approve"
    )

    # then every channel gets the new text and price, within seconds
    for receiver in (webshop, marketplace):
        wait_until(
            lambda r=receiver: _pushed(r, product.pk) == ("21.50", NEW_TEXT),  # type: ignore[misc]
            kick=dispatch.delay,
            what="the approved text",
        )
    wait_until(
        lambda: _google(feeds) == ("21.50 EUR", NEW_TEXT, "Organic Tee - M / Navy"),
        what="the Google feed to follow",
        timeout=FEED_WAIT,
    )
    wait_until(
        lambda: _meta(feeds) == ("21.50 EUR", NEW_TEXT),
        what="the Meta feed to follow",
        timeout=FEED_WAIT,
    )
    wait_until(lambda: _pos(pos_client, product.pk) == ("21.50", NEW_TEXT), what="the POS")
    listed = mkt_client.get("/api/v1/products/", {"channel": "bol"}).json()["results"]
    assert [(p["title"], p["description"]) for p in listed] == [("Acme Organic Tee", NEW_TEXT)]
    assert listed[0]["variants"][0]["price"]["amount"] == "21.50"
    # never an older value after a newer one, and signed for each channel
    for receiver in (webshop, marketplace):
        assert_in_order(receiver)
        assert receiver.bad_signatures == 0
