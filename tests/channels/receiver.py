"""A local HTTP receiver for sync tests: records what it accepted and injects failures.

``script`` is a list of behaviours consumed one per request (then ``default``): an int status
(200, 400, 500...), ``("429", seconds)`` for a 429 with Retry-After, ``("slow", seconds)`` to
answer 200 late, ``("hang", seconds)`` to answer only after the client gave up (a timeout).
Accepted changes are applied as a channel would: per object and stream, only a higher sequence
replaces what it has; duplicates and stale updates are counted, not applied.

The receiver listens on 127.0.0.1, which outbound URLs may only reach with
``OUTBOUND_ALLOW_PRIVATE_URLS``: ``running_receiver`` turns it on while it runs, in this process's
settings and in the environment that worker processes started meanwhile inherit.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.test import override_settings

from channels.connectors import signature_verify

Behaviour = int | tuple[str, float]


@dataclass
class Receiver:
    url: str
    secret: str = ""
    script: list[Behaviour] = field(default_factory=list)
    default: Behaviour = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    state: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    stale: int = 0
    change_count: int = 0
    arrivals: dict[tuple[str, str, str], float] = field(default_factory=dict)
    bad_signatures: int = 0
    in_flight: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_behaviour(self) -> Behaviour:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def apply(self, body: dict[str, Any], headers: dict[str, str], ticket: int = 0) -> None:
        with self.lock:
            self.accepted.append({"body": body, "headers": headers, "ticket": ticket})
            for change in _changes(body):
                self.change_count += 1
                stream = str(change["type"]).split(".")[0]
                key = (stream, change["object"]["type"], str(change["object"]["id"]))
                current = self.state.get(key)
                if current is not None and current["sequence"] >= change["sequence"]:
                    self.stale += 1
                    continue
                self.state[key] = change
                self.arrivals.setdefault(key, time.time())

    def changes(self) -> list[dict[str, Any]]:
        """Accepted changes in the order their requests arrived (a slow request that a killed
        sender left behind is answered late, but it was sent first)."""
        with self.lock:
            ordered = sorted(self.accepted, key=lambda a: a["ticket"])
            return [change for a in ordered for change in _changes(a["body"])]

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return bool(predicate())


def _changes(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A channel push carries ``changes``; a webhook message is one event: same shape for both."""
    if "changes" in body:
        return list(body["changes"])
    data = body["data"]
    return [
        {"type": body["type"], "object": data["object"], "sequence": data["sequence"], "data": data}
    ]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            behaviour = receiver.next_behaviour()
            with receiver.lock:
                receiver.requests.append({"headers": headers, "behaviour": behaviour})
                ticket = len(receiver.requests)
            receiver.in_flight.set()
            if receiver.secret and not signature_verify(
                secret=receiver.secret, headers=headers, body=raw
            ):
                receiver.bad_signatures += 1
                self._answer(401, {"detail": "bad signature"})
                return
            if isinstance(behaviour, tuple):
                kind, seconds = behaviour
                if kind == "429":
                    self._answer(429, {"detail": "slow down"}, {"Retry-After": str(int(seconds))})
                    return
                time.sleep(seconds)
                if kind == "hang":
                    self._answer(504, {"detail": "too late"})
                    return
                behaviour = 200
            if behaviour >= 300:
                message = "price must be positive" if behaviour == 400 else "boom"
                self._answer(behaviour, {"detail": message})
                return
            receiver.apply(json.loads(raw), headers, ticket)
            self._answer(200, {"ok": True})

        def _answer(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def running_receiver(secret: str = "") -> Iterator[Receiver]:
    receiver = Receiver(url="", secret=secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/push"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    previous = os.environ.get("OUTBOUND_ALLOW_PRIVATE_URLS")
    os.environ["OUTBOUND_ALLOW_PRIVATE_URLS"] = "true"
    try:
        with override_settings(OUTBOUND_ALLOW_PRIVATE_URLS=True):
            yield receiver
    finally:
        if previous is None:
            os.environ.pop("OUTBOUND_ALLOW_PRIVATE_URLS", None)
        else:
            os.environ["OUTBOUND_ALLOW_PRIVATE_URLS"] = previous
        server.shutdown()
        server.server_close()
