"""Signing: `X-Recovery-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""

from __future__ import annotations

import hashlib
import hmac

EVENT_HEADER = "X-Recovery-Event"
DELIVERY_HEADER = "X-Recovery-Delivery"
SIGNATURE_HEADER = "X-Recovery-Signature"
TIMESTAMP_HEADER = "X-Recovery-Timestamp"
ATTEMPT_HEADER = "X-Recovery-Attempt"


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the signature of the raw `body` with `secret` (constant time);
    what a receiver runs before trusting a delivery."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())
