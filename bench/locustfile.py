"""The whole-stack load mix for Locust, driven by ``bench/load_stack.py`` (not a test).

    LOAD_FIXTURE=var/load/fixture.json .venv/bin/locust -f bench/locustfile.py --headless \\
        -u 12 -r 12 --run-time 60s --host http://127.0.0.1:8000

``bench/load_stack.py`` writes the fixture (keys, SKUs, products, stores, the back-office users,
where to log price edits) and runs this file; it can be run by hand against any server seeded
with the small demo, given such a fixture. Three kinds of users:

* ``Shopper`` (all users but two): the partner API with the demo webshop key, no think time:
  catalog reads (products list and detail), availability, a cart (create, add a line, check out),
  orders shipped and picked up, and till sales at a store with a POS key.
* ``Merchandiser`` (one): edits one variant's price on every channel (webshop, app, marketplace,
  POS) through the back office's variant change form, as a merchandiser's browser does (the form
  is read, its price rows changed, posted back), every ``LOAD_PRICE_EDIT_SECONDS``; each edit is
  logged (SKU, amount, time the save answered) to ``edits_path`` so that the channel lag can be
  measured at the fake channel endpoint.
* ``StockFeeder`` (one): uploads an ERP stock feed (CSV of SKU, location, count) through the back
  office's stock feed page every ``LOAD_STOCK_FEED_SECONDS``.

Every request has a stable name (``NAMES``); an answer other than the expected status is a
failure with the status and the start of the body.
"""

from __future__ import annotations

import html.parser
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from functools import cache
from typing import Any

from locust import HttpUser, between, constant_pacing, task
from locust.contrib.fasthttp import FastHttpUser

# operation -> request name in the report
NAMES = {
    "products": "catalog: products list",
    "product": "catalog: product detail",
    "availability": "availability (3 SKUs)",
    "cart_create": "cart: create",
    "cart_line": "cart: add line",
    "cart_checkout": "cart: checkout",
    "order_ship": "order: ship",
    "order_pickup": "order: pickup",
    "order_till": "order: till sale",
    "login": "back office: login",
    "price_form": "price edit: open form",
    "price_save": "price edit: save (4 channels)",
    "feed_form": "stock feed: open form",
    "feed_upload": "stock feed: upload",
}

# Shopper task weights (relative): reads dominate, as on a shop's API
WEIGHTS = {
    "products": 20,
    "product": 30,
    "availability": 25,
    "cart": 4,
    "order_ship": 3,
    "order_pickup": 2,
    "order_till": 3,
}

ADDRESS = {
    "name": "Load Test",
    "line1": "Kade 1",
    "postal_code": "1011AA",
    "city": "Amsterdam",
    "country": "NL",
}


@cache
def fixture() -> dict[str, Any]:
    path = os.environ.get("LOAD_FIXTURE", "")
    if not path:
        raise RuntimeError("Set LOAD_FIXTURE to the fixture written by bench/load_stack.py.")
    with open(path) as handle:
        return dict(json.load(handle))


def _uid() -> str:
    return uuid.uuid4().hex[:16]


def _check(response: Any, expected: int) -> None:
    if response.status_code != expected:
        body = (response.text or "")[:300].replace("\n", " ")
        response.failure(f"HTTP {response.status_code} (expected {expected}): {body}")
    else:
        response.success()


class Shopper(FastHttpUser):
    """A webshop front-end (and a store's till) on the partner API; no think time."""

    weight = 1
    wait_time = between(0, float(os.environ.get("LOAD_THINK_SECONDS", "0")))

    def on_start(self) -> None:
        data = fixture()
        self.skus: list[str] = data["skus"]
        self.product_ids: list[int] = data["product_ids"]
        self.categories: list[int] = data["categories"]
        self.web = {"Authorization": f"Api-Key {data['api_key']}"}
        self.pos = {"Authorization": f"Api-Key {data['pos_key']}"}
        self.channel: str = data["channel"]

    def _post(self, path: str, body: dict[str, Any], name: str, expected: int, **headers: str):
        with self.client.post(
            path,
            json=body,
            headers={**self.web, **headers},
            name=NAMES[name],
            catch_response=True,
        ) as response:
            _check(response, expected)
            return response

    @task(WEIGHTS["products"])
    def products(self) -> None:
        page = random.choice(["", "", f"&category={random.choice(self.categories)}"])
        with self.client.get(
            f"/api/v1/products/?channel={self.channel}&limit=24{page}",
            headers=self.web,
            name=NAMES["products"],
            catch_response=True,
        ) as response:
            _check(response, 200)

    @task(WEIGHTS["product"])
    def product(self) -> None:
        product_id = random.choice(self.product_ids)
        with self.client.get(
            f"/api/v1/products/{product_id}/?channel={self.channel}",
            headers=self.web,
            name=NAMES["product"],
            catch_response=True,
        ) as response:
            _check(response, 200)

    @task(WEIGHTS["availability"])
    def availability(self) -> None:
        skus = ",".join(random.sample(self.skus, 3))
        with self.client.get(
            f"/api/v1/availability/?channel={self.channel}&sku={skus}",
            headers=self.web,
            name=NAMES["availability"],
            catch_response=True,
        ) as response:
            _check(response, 200)

    @task(WEIGHTS["cart"])
    def cart(self) -> None:
        email = f"cart-{_uid()}@load.example"
        first, second = random.sample(self.skus, 2)
        created = self._post(
            "/api/v1/carts/",
            {
                "channel": self.channel,
                "customer_email": email,
                "lines": [{"sku": first, "quantity": 1}],
            },
            "cart_create",
            201,
        )
        if created.status_code != 201:
            return
        token = created.json()["token"]
        added = self._post(
            f"/api/v1/carts/{token}/lines/", {"sku": second, "quantity": 1}, "cart_line", 200
        )
        if added.status_code != 200:
            return
        self._post(
            f"/api/v1/carts/{token}/checkout/",
            {"fulfillment": {"method": "ship", "address": ADDRESS}, "shipping_total": "4.95"},
            "cart_checkout",
            201,
            **{"Idempotency-Key": _uid()},
        )

    @task(WEIGHTS["order_ship"])
    def order_ship(self) -> None:
        self._post(
            "/api/v1/orders/",
            {
                "channel": self.channel,
                "lines": [{"sku": random.choice(self.skus), "quantity": 1}],
                "fulfillment": {"method": "ship", "address": ADDRESS},
                "shipping_total": "4.95",
                "customer": {"email": f"ship-{_uid()}@load.example"},
            },
            "order_ship",
            201,
        )

    @task(WEIGHTS["order_pickup"])
    def order_pickup(self) -> None:
        self._post(
            "/api/v1/orders/",
            {
                "channel": self.channel,
                "lines": [{"sku": random.choice(self.skus), "quantity": 1}],
                "fulfillment": {"method": "pickup", "location": fixture()["pickup_store"]},
                "customer": {"email": f"pickup-{_uid()}@load.example"},
            },
            "order_pickup",
            201,
        )

    @task(WEIGHTS["order_till"])
    def order_till(self) -> None:
        with self.client.post(
            "/api/v1/orders/",
            json={
                "channel": fixture()["pos_channel"],
                "lines": [{"sku": random.choice(self.skus), "quantity": 1}],
                "fulfillment": {"method": "carry_out", "location": fixture()["till_store"]},
                # cash may exceed the total (the rest is change): no price lookup needed
                "payments": [{"tender": "cash", "amount": "5000.00"}],
            },
            headers={**self.pos, "Idempotency-Key": _uid()},
            name=NAMES["order_till"],
            catch_response=True,
        ) as response:
            _check(response, 201)


# --- the back office --------------------------------------------------------------------------


class FormReader(html.parser.HTMLParser):
    """The fields a browser would submit for the form with ``form_id`` (or the first form):
    inputs (checked boxes only, no buttons or files), selected options and textareas."""

    def __init__(self, form_id: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and not self.done:
            self.inside = self.form_id is None or a.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._select_value, self._select_first = name, None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        elif tag == "select" and self._select is not None:
            value = self._select_value if self._select_value is not None else self._select_first
            self.fields.append((self._select, value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def form_fields(page: str, form_id: str | None = None) -> list[tuple[str, str]]:
    reader = FormReader(form_id)
    reader.feed(page)
    return reader.fields


def _errors(page: str) -> str:
    found = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    text = " | ".join(re.sub(r"<[^>]+>", " ", item) for item in found)
    return re.sub(r"\s+", " ", text).strip()[:300] or "no error text"


class BackOfficeUser(HttpUser):
    """A staff member in the Django admin. The project's session and CSRF cookies are ``Secure``
    (production settings) and the load runs on plain HTTP on loopback, so the cookies are sent
    by hand, as a browser behind the TLS proxy would."""

    abstract = True
    username = ""

    def cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in self.client.cookies)}

    def on_start(self) -> None:
        data = fixture()
        self.client.get("/admin/login/", name=NAMES["login"])
        with self.client.post(
            "/admin/login/",
            data={
                "username": self.username,
                "password": data["password"],
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
                "next": "/admin/",
            },
            headers=self.cookie_header(),
            name=NAMES["login"],
            allow_redirects=False,
            catch_response=True,
        ) as response:
            _check(response, 302)

    def open_form(self, path: str, name: str, form_id: str | None) -> list[tuple[str, str]] | None:
        with self.client.get(
            path, headers=self.cookie_header(), name=NAMES[name], catch_response=True
        ) as response:
            _check(response, 200)
            if response.status_code != 200:
                return None
            return form_fields(response.text, form_id)


_edit_lock = threading.Lock()
_edit_counter = itertools.count()


class Merchandiser(BackOfficeUser):
    fixed_count = 1
    wait_time = constant_pacing(float(os.environ.get("LOAD_PRICE_EDIT_SECONDS", "2")))
    username = "merchandiser"

    @task
    def price_edit(self) -> None:
        data = fixture()
        variant = random.choice(data["price_variants"])
        path = f"/admin/catalog/variant/{variant['id']}/change/"
        fields = self.open_form(path, "price_form", "variant_form")
        if fields is None:
            return
        with _edit_lock:
            n = next(_edit_counter) + int(os.environ.get("LOAD_PRICE_BASE", "0"))
        # unique in the run: the fake channel endpoint tells edits apart by amount
        amount = f"{100 + n / 100:.2f}"
        channel_codes = {str(k): v for k, v in data["channel_ids"].items()}
        edited: list[str] = []
        rows: dict[str, str] = {}
        for name, value in fields:
            match = re.fullmatch(r"(prices-\d+)-channel", name)
            if match and channel_codes.get(value) in data["price_channels"]:
                rows[match.group(1)] = channel_codes[value]
        posted = []
        for name, value in fields:
            prefix, _, field = name.rpartition("-")
            if field == "amount" and prefix in rows:
                posted.append((name, amount))
                edited.append(rows[prefix])
            else:
                posted.append((name, value))
        posted.append(("_save", "Save"))
        started = time.time()
        with self.client.post(
            path,
            data=posted,
            headers={**self.cookie_header(), "Referer": path},
            name=NAMES["price_save"],
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code}: {_errors(response.text)}")
                return
            if sorted(edited) != sorted(data["price_channels"]):
                response.failure(f"the form had price rows for {sorted(edited)} only")
                return
            response.success()
        saved = time.time()
        with _edit_lock, open(data["edits_path"], "a") as log:
            log.write(
                json.dumps(
                    {
                        "sku": variant["sku"],
                        "amount": amount,
                        "channels": edited,
                        "started": started,
                        "saved": saved,
                    }
                )
                + "\n"
            )


class StockFeeder(BackOfficeUser):
    fixed_count = 1
    wait_time = constant_pacing(float(os.environ.get("LOAD_STOCK_FEED_SECONDS", "5")))
    username = "inventory"

    @task
    def stock_feed(self) -> None:
        data = fixture()
        path = "/admin/inventory/stocklevel/feed/"
        fields = self.open_form(path, "feed_form", None)
        if fields is None:
            return
        lines = ["sku,location,on_hand"]
        rows = int(os.environ.get("LOAD_STOCK_FEED_ROWS", "20"))
        for sku in random.sample(data["skus"], min(rows, len(data["skus"]))):
            location = random.choice(data["feed_locations"])
            # counts far above what the run sells: the feed never starves the orders
            lines.append(f"{sku},{location},{random.randint(200_000, 300_000)}")
        with self.client.post(
            path,
            data=[(k, v) for k, v in fields if k != "file"],
            files={"file": ("feed.csv", "\n".join(lines).encode(), "text/csv")},
            headers={**self.cookie_header(), "Referer": path},
            name=NAMES["feed_upload"],
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code}: {_errors(response.text)}")
            else:
                response.success()
