"""The incident row's figure columns (`domain.figures`) in the write path's statements."""

from __future__ import annotations

import functools
from typing import Any

from recovery.domain.figures import Figures
from recovery.service.ports import Head, Record

FIGURES = "".join(f", {name}" for name in Figures._fields)
SET_FIGURES = "".join(f", {name} = ?" for name in Figures._fields)
# Columns an index holds (the report's, the medians', the approvals'): SQLite rewrites an
# index entry whenever its UPDATE sets one of the index's columns, changed or not.
_TRACKED = ("status", "pushes", "handoffs", *Figures._fields)
_ALWAYS = (
    "UPDATE incidents SET tier = ?, owner = ?, updated_at = ?, ended_at = ?, next_due_at = ?, "
    "version = ?, head_hash = ?, state = ?"
)


@functools.cache
def _update(changed: tuple[str, ...]) -> str:
    sets = "".join(f", {name} = ?" for name in changed)
    return f"{_ALWAYS}{sets} WHERE id = ? AND version = ? AND head_hash = ?"


def row_update(head: Head, record: Record, update: tuple[Any, ...]) -> tuple[str | None, Any]:
    """SQLite's UPDATE of the incident row setting, of the indexed columns, only those that
    changed since `head` (when its figures are known; else None: the whole row's statement)
    and its parameters. `update` is the row's SET values in order (status, tier, owner,
    updated_at, ended_at, next_due_at, pushes, handoffs, version, head_hash, state,
    figures..., id)."""
    where = (head.version, head.head_hash)
    if head.figures is None:
        return None, (*update, *where)
    old, new = head.state, record.state
    before = (old.status, old.pushes, old.handoffs, *head.figures)
    after = (new.status, new.pushes, new.handoffs, *record.figures)
    changed = [
        (name, value)
        for name, was, value in zip(_TRACKED, before, after, strict=True)
        if was != value
    ]
    statement = _update(tuple(name for name, _value in changed))
    return statement, (*update[1:6], *update[8:11], *(v for _n, v in changed), update[-1], *where)
