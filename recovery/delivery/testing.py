"""A real webhook receiver on 127.0.0.1, for tests and as a template for back offices.

It verifies each request's signature, records what arrived and notices when one delivery
arrives again while an earlier request for it is still being answered:

    with WebhookReceiver(secret="s3cr3t", responses=[500, 500]) as hooks:
        deliver_due(rec.storage.outbox, [WebhookTarget(hooks.url, "s3cr3t")])
        assert hooks.delivery_ids() == [...]
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson

from recovery.delivery._signing import DELIVERY_HEADER, SIGNATURE_HEADER, verify_signature

Response = int | tuple[int, Mapping[str, str]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) or closed a kept-alive connection is normal here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def delivery_id(self) -> str | None:
        return self.header(DELIVERY_HEADER)

    def json(self) -> Any:
        return orjson.loads(self.body)


class WebhookReceiver:
    """Answers `responses` in order (a status, or a status and headers), then
    `default_status`; a request with a bad signature always gets 401. `delay` seconds
    are spent on each request before answering."""

    def __init__(
        self,
        secret: str,
        *,
        responses: Iterable[Response] = (),
        default_status: int = 200,
        delay: float = 0.0,
    ) -> None:
        self.secret = secret
        self.default_status = default_status
        self.delay = delay
        self._script = list(responses)
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._in_flight: Counter[str] = Counter()
        self.overlaps = 0
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def delivery_ids(self) -> list[str]:
        return [r.delivery_id or "" for r in self.requests]

    def accepted(self) -> list[ReceivedRequest]:
        """Requests answered 2xx: the deliveries the back office carried out."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str]]:
        signature_ok = verify_signature(body, self.secret, headers.get(SIGNATURE_HEADER.lower()))
        delivery = headers.get(DELIVERY_HEADER.lower(), "")
        with self._lock:
            if self._in_flight[delivery]:
                self.overlaps += 1
            self._in_flight[delivery] += 1
        try:
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                scripted = self._script.pop(0) if self._script else self.default_status
                status, extra = scripted if isinstance(scripted, tuple) else (scripted, {})
                if not signature_ok:
                    status, extra = 401, {}
                self._requests.append(ReceivedRequest(path, headers, body, signature_ok, status))
            return status, dict(extra)
        finally:
            with self._lock:
                self._in_flight[delivery] -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra = receiver._answer(self.path, headers, body)
                reply = b"ok" if status < 300 else f"error {status}".encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
