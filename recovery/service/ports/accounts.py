"""The accounts port (filled in as its statements move into `recovery.storage`)."""

from __future__ import annotations

from typing import Protocol


class Placeholder(Protocol):
    """Replaced by the real protocol."""
