"""Migration 0018 on SQLite and PostgreSQL: a database written before personal data was
sealed (events in the clear) is upgraded; every chain that verified still verifies (chained
again, old and new heads recorded in `chain_rewrites`), one that was tampered with stays
broken and is not rewritten, the names are no longer in the events, and the upgraded
incidents can be erased (the broken one cannot: it is named, never claimed erased)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from recovery.bootstrap import over_engine
from recovery.domain.commands import Actor
from recovery.service.privacy import UnsealedError
from recovery.storage.database import alembic_config, create_db_engine, upgrade
from tests.conftest import FRONT_DESK
from tests.contract.support import open_hotel

ADMIN = Actor(id="root", role="admin")


def test_upgrading_seals_existing_events_and_keeps_every_chain_verifiable(db_url: str) -> None:
    engine = create_db_engine(db_url)
    rec = over_engine(engine)
    kept = open_hotel(rec, key="LOY-1", contact="mette@example.com").id
    rec.add_note(kept, "prefers a quiet room", actor=FRONT_DESK)
    rec.complete_step(kept, "pay_room", {"amount": 180}, actor=FRONT_DESK)
    tampered = open_hotel(rec, key="LOY-2").id
    rec.add_note(tampered, "100 EUR agreed", actor=FRONT_DESK)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0017")  # as written before personal data was sealed
    rec.dispose()
    with engine.begin() as conn:
        stored = conn.execute(
            text("SELECT data FROM events WHERE incident_id = :id AND seq = 2"), {"id": kept}
        ).scalar_one()
        assert "prefers a quiet room" in stored, "in the clear, as before 0018"
        conn.execute(
            text(
                "UPDATE events SET data = replace(data, '100 EUR', '900 EUR') "
                "WHERE incident_id = :id AND seq = 2"
            ),
            {"id": tampered},
        )
        heads_before = dict(conn.execute(text("SELECT id, head_hash FROM incidents")).all())

    upgrade(engine)
    rec = over_engine(engine)

    results = {r.incident_id: r for r in rec.verify_all()}
    assert results[kept].ok
    assert not results[tampered].ok and results[tampered].broken_seq == 2, "not laundered"
    with engine.connect() as conn:
        events = " ".join(
            conn.execute(
                text("SELECT data FROM events WHERE incident_id = :id"), {"id": kept}
            ).scalars()
        )
        rewrites = {
            row[0]: row[1:]
            for row in conn.execute(
                text("SELECT incident_id, seq, old_head, new_head FROM chain_rewrites")
            )
        }
        heads_after = dict(conn.execute(text("SELECT id, head_hash FROM incidents")).all())
    assert "prefers a quiet room" not in events and "Mette Jensen" not in events
    assert rewrites[kept] == (3, heads_before[kept], heads_after[kept])
    assert rewrites[tampered] == (2, heads_before[tampered], None)
    assert heads_after[tampered] == heads_before[tampered]
    assert rec.timeline(kept)[1].data["text"] == "prefers a quiet room", "opens with its key"
    assert rec.get(kept).state.steps["pay_room"].evidence == {"amount": 180}

    rec.erase_customer("LOY-1", actor=ADMIN, reason="asked")
    assert rec.verify(kept).ok and rec.verify(kept).erased_at is not None
    # the chain broken before the upgrade was never sealed: no key to destroy, so it is
    # not erased (said so, never claimed) and stays reported broken
    done = rec.erase_customer("LOY-2", actor=ADMIN, reason="asked")
    assert (done.erased, done.unsealed) == ([], [tampered])
    with pytest.raises(UnsealedError, match="migration 0018"):
        rec.erase_incident(tampered, actor=ADMIN, reason="asked")
    assert rec.timeline(tampered)[-1].type != "erased"
    assert not rec.verify(tampered).ok and rec.verify(tampered).broken_seq == 2
    rec.dispose()
