"""Keyset paging of the board: the opaque `after` cursor names the last row shown.

The key is the board's order, (next deadline, id), so a page read after incidents changed
neither repeats nor skips a row that kept its place; a row whose deadline moved is shown
where its new deadline puts it (once, or not at all if it moved behind the reader)."""

from __future__ import annotations

import base64
import binascii

import orjson

from recovery.domain.state import parse_iso
from recovery.errors import CommandRejectedError

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_MAX_CURSOR = 400

Key = tuple[str | None, str]


def encode_after(key: Key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_after(cursor: str) -> Key:
    """The key in a cursor made by `encode_after`; anything else is refused naming `after`."""
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("too long")
        due, ident = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(ident, str) or not ident or len(ident) > 200:
            raise ValueError("id")
        if due is not None:
            if not isinstance(due, str):
                raise ValueError("due")
            parse_iso(due)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise CommandRejectedError(
            f"after: not a page cursor ({exc}); use the `next` of a previous page",
            field="after",
            plain="The page link is not valid any more; start again from the first page.",
        ) from exc
    return due, ident
