"""The report counts the incidents whose personal data was erased in its period, on
request (an administrator) and by retention (the worker), on memory, SQLite and
PostgreSQL: the count equals the erasures done, by when each was made (not when the
incident opened), filtered by property and playbook like the rest of the report; a group
with erasures but no incident opened in the period has a row of its own. The count is one
grouped read of a partial index, and the migration fills it in for earlier erasures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import text

from recovery import Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import over_engine
from recovery.domain.commands import Actor
from recovery.service import worker
from recovery.service.reports import report_csv
from recovery.storage.database import alembic_config, create_db_engine, upgrade
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import sql

ADMIN = Actor(id="root", role="admin")


def open_at(rec: Recovery, site: str, key: str) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site=site,
        customer=CustomerProfile(name="Karoline Vestergaard", contact=f"{key}@x.dk", key=key),
    )
    return rec.open(command, actor=FRONT_DESK).id


def erasures_done(rec: Recovery, incidents: list[str]) -> tuple[int, int]:
    """(on request, by retention) as the incidents' timelines record them."""
    erased = [e for i in incidents for e in rec.timeline(i) if e.type == "erased"]
    return (
        sum(e.actor_role != "system" for e in erased),
        sum(e.actor_role == "system" for e in erased),
    )


def story(rec: Recovery, clock: Clock) -> list[str]:
    """Three incidents at Ribe erased on request on day 2, one at Vejle on day 3, one at
    Vejle released on day 0 and erased by the retention worker after 24 months, and two
    kept."""
    ribe = [open_at(rec, "ribe", "LOY-A") for _ in range(3)]
    vejle = open_at(rec, "vejle", "LOY-B")
    ended = open_at(rec, "vejle", "LOY-C")
    kept = [open_at(rec, "ribe", "LOY-D"), open_at(rec, "vejle", "LOY-D")]
    rec.release(ended, "fully booked", "Hotel Dagmar", actor=MANAGER)
    clock.advance(days=2)
    rec.erase_customer("LOY-A", actor=ADMIN, reason="asked by e-mail")
    clock.advance(days=1)
    rec.erase_incident(vejle, actor=ADMIN, reason="asked at the desk")
    clock.advance(days=740)
    assert worker.run(rec, [], once=True, retention="24 months").erased == 1
    return [*ribe, vejle, ended, *kept]


def totals(rows: list) -> tuple[int, int]:  # type: ignore[type-arg]
    return sum(r.erased_on_request for r in rows), sum(r.erased_by_retention for r in rows)


def test_the_report_counts_the_erasures_done_in_its_period(rec: Recovery, clock: Clock) -> None:
    start = clock()
    incidents = story(rec, clock)
    assert erasures_done(rec, incidents) == (4, 1)

    everything = rec.report(by="all")
    assert totals(everything) == (4, 1)
    [row] = everything
    assert (row.incidents, row.erased_on_request, row.erased_by_retention) == (7, 4, 1)
    by_site = {r.group: (r.erased_on_request, r.erased_by_retention) for r in rec.report(by="site")}
    assert by_site == {"ribe": (3, 0), "vejle": (1, 1)}
    assert totals(rec.report(site="vejle")) == (1, 1)
    assert totals(rec.report(sites=["ribe"])) == (3, 0)
    assert totals(rec.report(playbook="no-such-playbook")) == (0, 0)
    # by when they were erased: day 2 only, then days 2 and 3
    day2 = start + timedelta(days=2)
    assert totals(rec.report(since=day2, until=day2 + timedelta(days=1))) == (3, 0)
    assert totals(rec.report(since=day2, until=day2 + timedelta(days=2))) == (4, 0)
    assert totals(rec.report(until=day2)) == (0, 0)
    # the retention erasure's month: no incident opened then, yet the group has a row
    late = rec.report(by="site", since=clock() - timedelta(hours=1), until=clock() + timedelta(1))
    assert [(r.group, r.incidents, r.recovery_score, r.erased_by_retention) for r in late] == [
        ("vejle", 0, None, 1)
    ]
    header, line = report_csv(late).splitlines()
    assert header.endswith(",erased_on_request,erased_by_retention")
    assert line.startswith("vejle,0,0,0,0,,") and line.endswith(",0,1")


@pytest.mark.sql
def test_the_count_reads_the_partial_index_of_erased_incidents(
    rec: Recovery, clock: Clock, backend: str
) -> None:
    story(rec, clock)
    with sql(rec) as conn:
        if backend == "sqlite":
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT site, playbook_id, count(*) FROM incidents "
                        "WHERE erased_at IS NOT NULL AND erased_at >= '2026-07-01' "
                        "AND erased_at < '2026-08-01' GROUP BY site, playbook_id"
                    )
                )
            )
            assert "COVERING INDEX ix_incidents_erased" in plan, plan
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(
                str(r[0])
                for r in conn.execute(
                    text(
                        "EXPLAIN SELECT site, playbook_id, count(*) FROM incidents "
                        "WHERE erased_at IS NOT NULL AND erased_at >= '2026-07-01' "
                        "AND erased_at < '2026-08-01' GROUP BY site, playbook_id"
                    )
                )
            )
            assert "ix_incidents_erased" in plan, plan


def test_the_migration_counts_the_erasures_made_before_it(
    db_url: str, catalog: Catalog, clock: Clock
) -> None:
    engine = create_db_engine(db_url)
    rec = over_engine(engine, catalog, clock=clock)
    story(rec, clock)
    expected = rec.report(by="site")
    config = alembic_config()
    with engine.begin() as conn:  # back to before the erasure columns existed
        config.attributes["connection"] = conn
        command.downgrade(config, "0018")
    upgrade(engine)  # and forward again: filled in from the `erased` events
    fresh = over_engine(create_db_engine(db_url), catalog, clock=clock)
    assert fresh.report(by="site") == expected
    assert totals(expected) == (4, 1)
    fresh.dispose()
    rec.dispose()
