"""The request body cap: a body over `max_bytes` is refused with 413 as it arrives.

A pure ASGI middleware, so that it sees the body before anything buffers it: a declared
`Content-Length` over the cap is refused before a byte is read, and a body without one
(chunked) is counted as it streams and refused at the chunk that crosses the cap. The
app then sees the client as gone, and whatever it would answer is dropped: the 413 was
the answer. The server holds at most the cap plus one chunk per request, whatever is sent.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)  # the body is never read
            return
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:  # the app's own failure; a refused body's aftermath is not
                raise

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps(
            {
                "error": "payload_too_large",
                "message": f"the request body is over the limit of {self.max_bytes:,} bytes "
                "(RECOVERY_MAX_BODY_BYTES)",
                "limit": self.max_bytes,
            }
        )
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the rest of the body is not read
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers") or ()
    for name, value in headers:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


def document_body_limit(schema: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Every operation that takes a body may answer 413 (an `ErrorRead`)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(
                    "413",
                    {
                        "description": f"the body is over {max_bytes:,} bytes "
                        "(RECOVERY_MAX_BODY_BYTES)",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorRead"}
                            }
                        },
                    },
                )
    return schema
