"""The database schema, as SQLAlchemy Core tables (alembic migrations mirror it), by area.

`log`: the incidents, their append-only events and what they are found by; `access`: people,
systems, sessions and customer links; `delivery`: the outbox and webhooks; `follow_up`:
letters and vouchers; `inbox`: notifications. Every table is in the one `metadata`, which
importing this package fills (alembic and the schema checks read it from here).
"""

from __future__ import annotations

from recovery.storage.tables import access, delivery, follow_up, inbox, log
from recovery.storage.tables.base import metadata

__all__ = ["access", "delivery", "follow_up", "inbox", "log", "metadata"]
