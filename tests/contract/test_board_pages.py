"""The board in pages: keyset paging in the board's order (nearest deadline first, then by
id), the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from recovery import Recovery
from recovery.domain.compiler import ACTIVE_STATES
from recovery.errors import CommandRejectedError
from recovery.service.board import encode_after
from tests.conftest import MANAGER, Clock
from tests.contract.support import open_hotel


def _open_many(rec: Recovery, clock: Clock, count: int) -> list[str]:
    ids = []
    for n in range(count):
        if n % 3:  # every third shares its deadlines with the one before: ties broken by id
            clock.advance(minutes=1)
        ids.append(open_hotel(rec).id)
    return ids


def _all_pages(rec: Recovery, size: int, **filters: object) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(100):
        page, after = rec.board_page(after=after, limit=size, **filters)  # type: ignore[arg-type]
        assert len(page) <= size
        seen += [view.id for view in page]
        if after is None:
            return seen
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("active_only", [True, False])
def test_pages_concatenate_to_the_board(rec: Recovery, clock: Clock, active_only: bool) -> None:
    ids = _open_many(rec, clock, 11)
    for ended in ids[2:5]:  # ended ones have no deadline: they come last, by id
        rec.release(ended, "guest chose another hotel", "Hotel Dagmar", actor=MANAGER)
    whole = [v.id for v in rec.list_incidents(active_only=active_only, limit=500)]
    assert len(whole) == (8 if active_only else 11)
    statuses = ACTIVE_STATES if active_only else None
    for size in (1, 3, 4, 50):
        assert _all_pages(rec, size, statuses=statuses) == whole
    first, nxt = rec.board_page(statuses=statuses)
    assert [v.id for v in first] == whole and nxt is None  # no cursor: the board as it was


def test_filters_apply_to_every_page(rec: Recovery, clock: Clock) -> None:
    _open_many(rec, clock, 7)
    assert _all_pages(rec, 2, site="ribe", sites=["ribe"]) == [
        v.id for v in rec.list_incidents(site="ribe", limit=500)
    ]
    assert _all_pages(rec, 2, site="odense") == []
    assert _all_pages(rec, 2, sites=[]) == []
    assert _all_pages(rec, 2, owner="nobody@example.com") == []


def test_changes_between_pages_neither_repeat_nor_skip(rec: Recovery, clock: Clock) -> None:
    _open_many(rec, clock, 9)
    ids = [v.id for v in rec.list_incidents(limit=500)]  # the board's order
    page, after = rec.board_page(limit=4)
    first = [v.id for v in page]
    assert first == ids[:4]
    rec.release(ids[1], "guest chose another hotel", "Hotel Dagmar", actor=MANAGER)  # seen
    rec.release(ids[6], "guest chose another hotel", "Hotel Dagmar", actor=MANAGER)  # unseen
    clock.advance(minutes=5)
    newest = open_hotel(rec).id  # the latest deadlines of all: on a later page
    rest: list[str] = []
    while after is not None:
        page, after = rec.board_page(after=after, limit=4)
        rest += [v.id for v in page]
    assert rest == [ids[4], ids[5], ids[7], ids[8], newest]
    assert not set(first) & set(rest)


@pytest.mark.parametrize(
    "cursor",
    ["x", "!!!", encode_after((None, "")), "WzEsMl0", "bm90IGpzb24", "A" * 500],
)
def test_a_bad_cursor_is_refused_naming_after(rec: Recovery, cursor: str) -> None:
    with pytest.raises(CommandRejectedError) as refused:
        rec.board_page(after=cursor)
    assert refused.value.field == "after"
