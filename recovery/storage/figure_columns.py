"""The incident row's figure columns (`domain.figures`) in the write path's statements."""

from __future__ import annotations

from typing import Any

from recovery.domain.figures import Figures
from recovery.service.ports import Head, Record

FIGURES = "".join(f", {name}" for name in Figures._fields)
SET_FIGURES = "".join(f", {name} = ?" for name in Figures._fields)
# A command that changes no figure (a note, a contact) leaves out the figures and what the
# report's indexes hold, so SQLite does not rewrite those index entries.
UPDATE_STATE = (
    "UPDATE incidents SET tier = ?, owner = ?, updated_at = ?, ended_at = ?, "
    "next_due_at = ?, version = ?, head_hash = ?, state = ? "
    "WHERE id = ? AND version = ? AND head_hash = ?"
)


def same_figures(head: Head, record: Record) -> bool:
    """The figures and the indexed counts are those of the row at `head` (known to be)."""
    before, after = head.state, record.state
    return (
        head.figures == record.figures
        and before.status == after.status
        and before.pushes == after.pushes
        and before.handoffs == after.handoffs
    )


def row_update(head: Head, record: Record, update: tuple[Any, ...]) -> tuple[bool, tuple[Any, ...]]:
    """Whether the shorter UPDATE_STATE does, and its parameters (else the whole row's):
    `update` is the row's SET values in order (status, tier, owner, updated_at, ended_at,
    next_due_at, pushes, handoffs, version, head_hash, state, figures..., id)."""
    where = (head.version, head.head_hash)
    if same_figures(head, record):
        return True, (*update[1:6], *update[8:11], update[-1], *where)
    return False, (*update, *where)
