"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread of its own
(so the simulation's clock waits while a POST is under way, as it would for any
server), recording every request and answering with the statuses it is given."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int                     # what the receiver answered

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-tgmon-signature", ""), expected)


class Receiver:
    """``failures``: statuses answered to the first requests, in order; 200 after them
    (a 3xx points elsewhere on this server). ``delay``: real seconds before answering."""

    def __init__(self, failures: tuple[int, ...] = (), delay: float = 0.0) -> None:
        self.requests: list[Received] = []
        self.failures = list(failures)
        self.delay = delay
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    status = receiver.failures.pop(0) if receiver.failures else 200
                    receiver.requests.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        status))
                time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx, in order of arrival."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]


@contextmanager
def receiving(failures: tuple[int, ...] = (), delay: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(failures, delay)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()


def secret_in(text: str) -> str:
    """The secret /webhook showed once."""
    marker = "shown only now: "
    return text.split(marker, 1)[1].split()[0]
