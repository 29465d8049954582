"""What waits in the database, for metrics (`Storage.backlog`): each figure one statement
over an index, so a scrape costs three index reads however large the tables grow."""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select

from recovery.delivery import ports as delivery
from recovery.domain.compiler import ACTIVE_STATES
from recovery.letters import ports as letter_ports
from recovery.service.ports import Backlog
from recovery.storage.database import alembic_config, reading
from recovery.storage.moments import aware
from recovery.storage.tables.delivery import outbox
from recovery.storage.tables.follow_up import letters
from recovery.storage.tables.log import incidents

_OUTBOX_WAITING = (delivery.PENDING, delivery.FAILED, delivery.DELIVERING)
_LETTERS_WAITING = (letter_ports.PENDING, letter_ports.FAILED, letter_ports.SENDING)


def backlog(engine: Engine) -> Backlog:
    with reading(engine) as conn:
        pending = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.status.in_(_OUTBOX_WAITING))
        ).scalar_one()
        queued = conn.execute(
            select(func.count()).select_from(letters).where(letters.c.status.in_(_LETTERS_WAITING))
        ).scalar_one()
        oldest = conn.execute(
            select(func.min(incidents.c.next_due_at)).where(incidents.c.status.in_(ACTIVE_STATES))
        ).scalar_one()
    return Backlog(
        outbox_pending=int(pending), letters_queued=int(queued), oldest_due_at=aware(oldest)
    )


@cache  # the migrations shipped with the code do not change while it runs
def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
