"""Search: a returning customer is found by name, contact, incident id or external
reference, open and closed alike, only at the caller's properties."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.domain.search import incident_terms, query_keys
from tests.conftest import FRONT_DESK, MANAGER


def _open(
    rec: Recovery,
    name: str,
    *,
    site: str = "ribe",
    contact: str | None = None,
    ref: str | None = None,
) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site=site,
        customer=CustomerProfile(name=name, contact=contact),
        external_ref=ref,
    )
    return rec.open(command, actor=FRONT_DESK, channel="desk").id


def _found(rec: Recovery, query: str, sites: list[str] | None = None) -> list[str]:
    return [view.id for view in rec.search(query, sites=sites)]


def test_found_by_name_word_contact_id_and_reference(rec: Recovery) -> None:
    mette = _open(rec, "Mette Jensen", contact="mette@example.com", ref="RES-104233")
    jonas = _open(rec, "Jonas Holm", contact="+45 20 30 40 50")
    assert _found(rec, "mette") == [mette]
    assert _found(rec, "JENSEN") == [mette]  # any word of the name, case ignored
    assert _found(rec, "mette jen") == [mette]
    assert _found(rec, "mette@exa") == [mette]
    assert _found(rec, "RES-104233") == [mette]
    assert _found(rec, "res 104233") == [mette]  # retyped without the dash
    assert _found(rec, mette) == [mette]
    assert _found(rec, "20304050") == [jonas]  # the phone without its country code
    assert _found(rec, "+45 2030") == [jonas]
    assert _found(rec, "holmes") == []
    assert _found(rec, "j") == []  # too short to mean anything
    assert rec.get(mette).state.external_ref == "RES-104233"
    assert rec.get(jonas).state.external_ref is None


def test_closed_incidents_are_found_too(rec: Recovery) -> None:
    closed = _open(rec, "Mette Jensen", ref="RES-1")
    view = rec.get(closed)
    rec.release(closed, "guest chose another hotel", "Hotel Dagmar", actor=MANAGER)
    assert rec.get(closed).status != view.status
    assert rec.list_incidents(active_only=True) == []
    assert _found(rec, "res-1") == [closed]


def test_scoped_to_the_callers_properties(rec: Recovery) -> None:
    here = _open(rec, "Mette Jensen", site="ribe")
    _open(rec, "Mette Hansen", site="bali")
    assert _found(rec, "mette", sites=["ribe"]) == [here]
    assert len(_found(rec, "mette")) == 2
    assert _found(rec, "mette", sites=[]) == []


def test_newest_first(rec: Recovery, clock: object) -> None:
    first = _open(rec, "Mette Jensen")
    clock.advance(minutes=5)  # type: ignore[attr-defined]
    second = _open(rec, "Mette Jensen")
    assert _found(rec, "jensen") == [second, first]


def test_a_bad_reference_is_refused_by_field() -> None:
    with pytest.raises(ValueError, match="external_ref"):
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="M"),
            external_ref="x" * 101,
        )


def test_terms_and_keys() -> None:
    terms = incident_terms("inc_1", {"name": "Mette  Jensen", "contact": "+45 20-30"}, "R 1")
    assert {"inc_1", "mette jensen", "mette", "jensen", "r 1", "r1", "452030"} <= terms
    assert query_keys(" J ") == []
    assert query_keys("Res-1") == ["res-1", "res1"]


@pytest.mark.sql
def test_search_reads_an_index_not_the_states(rec: Recovery, db_url: str) -> None:
    """The query plan uses the term index; it never reads the state column to match."""
    _open(rec, "Mette Jensen", ref="RES-9")
    engine = create_engine(db_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT incident_id FROM search_terms "
                        "WHERE term >= 'res' AND term < 'res\U0010ffff'"
                    )
                )
            )
            assert "ix_search_terms_term" in plan, plan
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(
                str(row[0])
                for row in conn.execute(
                    text("EXPLAIN SELECT incident_id FROM search_terms WHERE term LIKE 'res%'")
                )
            )
            assert "ix_search_terms_term" in plan, plan
    engine.dispose()


@pytest.mark.sql
def test_the_migration_makes_incidents_opened_before_it_searchable(
    rec: Recovery, db_url: str
) -> None:
    """Incidents opened before migration 0011 are found by id and customer after it."""
    from alembic import command

    from recovery.storage.database import alembic_config

    before = _open(rec, "Mette Jensen", contact="mette@example.com", ref="RES-1")
    config = alembic_config(db_url)
    command.downgrade(config, "0010")  # as if it had been opened before search existed
    command.upgrade(config, "head")
    assert _found(rec, "jensen") == [before]
    assert _found(rec, "mette@") == [before]
    assert _found(rec, "res-1") == []  # the reference was not stored before: none
