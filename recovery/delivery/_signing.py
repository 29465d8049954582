"""Signing: `X-Recovery-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

During a secret's rotation grace period the header carries one signature per secret,
comma-separated (`sha256=<new>, sha256=<old>`); a receiver accepts the request when any
of them matches the secret it holds."""

from __future__ import annotations

import hashlib
import hmac

EVENT_HEADER = "X-Recovery-Event"
DELIVERY_HEADER = "X-Recovery-Delivery"
SIGNATURE_HEADER = "X-Recovery-Signature"
TIMESTAMP_HEADER = "X-Recovery-Timestamp"
ATTEMPT_HEADER = "X-Recovery-Attempt"


def sign(body: bytes, secret: str, *more: str) -> str:
    """The signature header value for `body`: one signature per secret given."""
    return ", ".join(
        "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        for key in (secret, *more)
    )


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the signature of the raw `body` with `secret` (constant time);
    what a receiver runs before trusting a delivery."""
    if not header:
        return False
    expected = sign(body, secret)
    found = False
    for part in header.split(",")[:8]:  # bounded: a rotation adds one signature
        found |= hmac.compare_digest(expected, part.strip())
    return found
