"""Signed checkpoints, and the streamed verification pass they rest on, on SQLite and
PostgreSQL.

A hash chain shows an edit but not what is gone: deleting a whole incident, or cutting its
newest events and rewriting its state row to match, leaves rows that verify. A checkpoint
signed with a key the database does not hold catches both, and names the incident and the
position. The tampering is done as an insider would: plain SQL against the tables.
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from recovery import IntegrityError, Recovery
from recovery.audit import (
    Auditor,
    Checkpoint,
    CheckpointError,
    CheckpointReport,
    Verification,
    check_signature,
    generate_key,
    read_checkpoint,
    verify_checkpoint,
    verify_stream,
    write_checkpoint,
)
from recovery.audit.checkpoints import heads_digest, signed_bytes
from recovery.domain.chain import canonical, event_hash
from recovery.storage.moments import from_column
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import execute_sql, open_hotel, sql

KEY = generate_key()

# ---------------------------------------------------------------------------- histories


def record_history(rec: Recovery, clock: Clock, site: str = "ribe") -> str:
    """An incident of seven events, ten minutes apart."""
    incident = open_hotel(rec).id
    if site != "ribe":
        execute_sql(rec, "UPDATE incidents SET site = :site WHERE id = :id", site=site, id=incident)
    steps = [
        lambda: rec.add_note(incident, "refund 100 EUR agreed", actor=FRONT_DESK),
        lambda: rec.complete_step(incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK),
        lambda: rec.record_push(incident, "a room in town", "rebook_local", actor=FRONT_DESK),
        lambda: rec.complete_step(
            incident, "rebook_local", {"hotel": "Dagmar", "distance_km": 3}, actor=FRONT_DESK
        ),
        lambda: rec.waive_step(incident, "dinner", "guest ate at the wedding", actor=MANAGER),
        lambda: rec.add_note(incident, "guest thanked the desk", actor=FRONT_DESK),
    ]
    for step in steps:
        clock.advance(minutes=10)
        step()
    assert rec.verify(incident).ok
    return incident


def stored_events(rec: Recovery, incident: str) -> list[dict[str, Any]]:
    with sql(rec) as conn:
        rows = conn.execute(
            text("SELECT * FROM events WHERE incident_id = :id ORDER BY seq"), {"id": incident}
        )
        return [dict(r) for r in rows.mappings()]


def point_state_at(rec: Recovery, incident: str, seq: int) -> None:
    """Rewrite the state row as it would be after event `seq` (what an insider cutting the
    newest events would do so that the plain chain verification still passes)."""
    state = rec.replay(incident, at_seq=seq)
    head = stored_events(rec, incident)[seq - 1]["hash"]
    execute_sql(
        rec,
        "UPDATE incidents SET version = :v, head_hash = :h, state = :s WHERE id = :id",
        v=seq,
        h=head,
        s=state.to_json().decode(),
        id=incident,
    )


def truncate(rec: Recovery, incident: str, keep: int, *, fix_state: bool) -> None:
    execute_sql(rec, "DELETE FROM outbox WHERE incident_id = :id AND seq > :k", id=incident, k=keep)
    execute_sql(rec, "DELETE FROM events WHERE incident_id = :id AND seq > :k", id=incident, k=keep)
    if fix_state:
        point_state_at(rec, incident, keep)


def delete_incident(rec: Recovery, incident: str) -> None:
    for table, column in (
        ("outbox", "incident_id"),
        ("events", "incident_id"),
        ("search_terms", "incident_id"),
        ("incidents", "id"),
    ):
        execute_sql(rec, f"DELETE FROM {table} WHERE {column} = :id", id=incident)


def rewrite_from(rec: Recovery, incident: str, seq: int, old: str, new: str) -> None:
    """Edit event `seq` and re-chain every event after it, then fix the state row: a
    history rewritten with valid hashes, which only a checkpoint can tell from the truth."""
    rows = stored_events(rec, incident)
    prev = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
    for row in rows[seq - 1 :]:
        data = row["data"].replace(old, new) if row["seq"] == seq else row["data"]
        digest = event_hash(
            prev,
            incident,
            row["seq"],
            row["type"],
            row["schema_version"],
            row["playbook_id"],
            row["playbook_version"],
            row["actor"],
            row["actor_role"],
            row["channel"],
            from_column(row["recorded_at"]) or "",
            data.encode(),
        )
        execute_sql(
            rec,
            "UPDATE events SET data = :d, prev_hash = :p, hash = :h "
            "WHERE incident_id = :id AND seq = :s",
            d=data,
            p=prev,
            h=digest,
            id=incident,
            s=row["seq"],
        )
        prev = digest
    point_state_at(rec, incident, len(rows))


def auditor(rec: Recovery) -> Auditor:
    return rec.auditor()


def take_checkpoint(rec: Recovery) -> Checkpoint:
    out = io.BytesIO()
    write_checkpoint(auditor(rec), KEY, out, now=rec.clock(), database="test")
    out.seek(0)
    checkpoint = read_checkpoint(out)
    check_signature(checkpoint, KEY.public_key())
    return checkpoint


def against(rec: Recovery, checkpoint: Checkpoint) -> CheckpointReport:
    return verify_checkpoint(auditor(rec), checkpoint)


@pytest.fixture
def three(rec: Recovery, clock: Clock) -> list[str]:
    return sorted(record_history(rec, clock) for _ in range(3))


# ---------------------------------------------------------------------------- signing


@pytest.mark.sql
def test_a_checkpoint_lists_every_head_and_verifies(rec: Recovery, three: list[str]) -> None:
    checkpoint = take_checkpoint(rec)
    report = against(rec, checkpoint)

    assert checkpoint.heads == [
        (incident, 7, stored_events(rec, incident)[-1]["hash"]) for incident in three
    ]
    assert checkpoint.document["digest"] == heads_digest(checkpoint.heads)
    assert (
        heads_digest(checkpoint.heads)
        == hashlib.sha256(canonical([list(h) for h in checkpoint.heads])).hexdigest()
    )
    assert (checkpoint.count, checkpoint.document["events"]) == (3, 21)
    assert report.ok and report.findings == []
    assert (report.incidents, report.events, report.new_incidents) == (3, 21, 0)


def test_history_recorded_after_the_checkpoint_is_fine(
    rec: Recovery, clock: Clock, three: list[str]
) -> None:
    checkpoint = take_checkpoint(rec)
    rec.add_note(three[0], "the guest called again", actor=FRONT_DESK)
    newer = record_history(rec, clock)

    report = against(rec, checkpoint)

    assert report.ok, report.findings
    assert (report.incidents, report.events, report.new_incidents) == (4, 29, 1)
    assert newer not in {incident for incident, _, _ in checkpoint.heads}


def test_an_empty_database_checkpoints_and_verifies(rec: Recovery) -> None:
    checkpoint = take_checkpoint(rec)
    assert checkpoint.heads == [] and checkpoint.count == 0
    assert against(rec, checkpoint).ok


@pytest.mark.sql
def test_no_checkpoint_is_written_for_a_history_that_does_not_verify(
    rec: Recovery, three: list[str]
) -> None:
    execute_sql(
        rec,
        "UPDATE events SET data = replace(data, '[redacted]', '[REDACTED]') "
        "WHERE incident_id = :id AND seq = 2",
        id=three[1],
    )
    out = io.BytesIO()
    with pytest.raises(IntegrityError) as caught:
        write_checkpoint(auditor(rec), KEY, out, now=rec.clock(), database="test")
    assert (caught.value.incident_id, caught.value.seq) == (three[1], 2)
    assert "no checkpoint written" in str(caught.value)


# ---------------------------------------------------------------------------- what it catches


@pytest.mark.sql
def test_a_deleted_incident_is_reported(rec: Recovery, three: list[str]) -> None:
    checkpoint = take_checkpoint(rec)
    delete_incident(rec, three[1])

    assert all(r.ok for r in verify_stream(rec.storage.audit, rec.pinned_playbook))  # chains: fine
    report = against(rec, checkpoint)

    assert not report.ok
    assert [(f.incident_id, f.kind, f.seq) for f in report.findings] == [(three[1], "deleted", 1)]
    assert "missing" in report.findings[0].problem


@pytest.mark.sql
def test_truncated_newest_events_are_reported_even_with_the_state_row_rewritten(
    rec: Recovery, three: list[str]
) -> None:
    checkpoint = take_checkpoint(rec)
    truncate(rec, three[2], keep=4, fix_state=True)

    assert rec.verify(three[2]).ok  # the cut is invisible to the chain alone
    report = against(rec, checkpoint)

    assert [(f.incident_id, f.kind, f.seq) for f in report.findings] == [(three[2], "truncated", 5)]
    assert "has 4 event(s), the checkpoint recorded 7" in report.findings[0].problem


@pytest.mark.sql
def test_truncation_that_left_the_state_row_is_reported_once(
    rec: Recovery, three: list[str]
) -> None:
    checkpoint = take_checkpoint(rec)
    truncate(rec, three[0], keep=6, fix_state=False)

    report = against(rec, checkpoint)

    assert [(f.incident_id, f.kind, f.seq) for f in report.findings] == [(three[0], "truncated", 7)]
    assert "also does not verify" in report.findings[0].problem


@pytest.mark.sql
def test_a_history_rewritten_with_valid_hashes_is_reported(rec: Recovery, three: list[str]) -> None:
    checkpoint = take_checkpoint(rec)
    rewrite_from(rec, three[1], 2, "[redacted]", "[REDACTED]")

    assert rec.verify(three[1]).ok  # re-chained: every hash is valid again
    report = against(rec, checkpoint)

    assert [(f.incident_id, f.kind, f.seq) for f in report.findings] == [(three[1], "rewritten", 7)]


@pytest.mark.sql
def test_an_edit_that_leaves_the_head_is_reported_at_its_position(
    rec: Recovery, three: list[str]
) -> None:
    checkpoint = take_checkpoint(rec)
    execute_sql(
        rec,
        "UPDATE events SET actor = 'mads' WHERE incident_id = :id AND seq = 3",
        id=three[0],
    )

    report = against(rec, checkpoint)

    assert [(f.incident_id, f.kind, f.seq) for f in report.findings] == [(three[0], "broken", 3)]


@pytest.mark.sql
def test_findings_cover_every_incident_touched(rec: Recovery, three: list[str]) -> None:
    checkpoint = take_checkpoint(rec)
    delete_incident(rec, three[0])
    truncate(rec, three[1], keep=2, fix_state=True)
    rewrite_from(rec, three[2], 5, '"distance_km":3', '"distance_km":8')

    kinds = {f.incident_id: (f.kind, f.seq) for f in against(rec, checkpoint).findings}

    assert kinds == {
        three[0]: ("deleted", 1),
        three[1]: ("truncated", 3),
        three[2]: ("rewritten", 7),
    }


# ---------------------------------------------------------------------------- the file itself


def checkpoint_bytes(rec: Recovery) -> bytes:
    out = io.BytesIO()
    write_checkpoint(auditor(rec), KEY, out, now=rec.clock(), database="test")
    return out.getvalue()


def reread(document: dict[str, Any]) -> Checkpoint:
    return read_checkpoint(io.BytesIO(orjson.dumps(document)))


def test_the_file_is_json_with_one_head_per_line(rec: Recovery, three: list[str]) -> None:
    raw = checkpoint_bytes(rec)
    document = orjson.loads(raw)

    assert document["format"] == "recovery-checkpoint/1"
    assert document["heads"] == [list(h) for h in reread(document).heads]
    assert sum(1 for line in raw.splitlines() if line.strip().startswith(b'["inc_')) == 3
    assert base64.b64decode(document["public_key"]) and len(document["signature"]) == 88


def test_a_changed_head_is_rejected(rec: Recovery, three: list[str]) -> None:
    document = orjson.loads(checkpoint_bytes(rec))
    document["heads"][1][2] = "0" * 64
    with pytest.raises(CheckpointError, match="digest"):
        reread(document)


def test_heads_and_digest_changed_together_break_the_signature(
    rec: Recovery, three: list[str]
) -> None:
    document = orjson.loads(checkpoint_bytes(rec))
    del document["heads"][1]  # hide an incident the insider is about to delete
    document["count"] = 2
    document["digest"] = heads_digest(document["heads"])

    forged = reread(document)  # the shape is fine...
    with pytest.raises(CheckpointError, match="signature does not verify"):
        check_signature(forged, KEY.public_key())  # ...but not the signature


@pytest.mark.parametrize(
    ("field", "value"),
    [("created_at", "2030-01-01T00:00:00.000000Z"), ("database", "elsewhere"), ("events", 1)],
)
def test_any_signed_field_changed_breaks_the_signature(
    rec: Recovery, three: list[str], field: str, value: object
) -> None:
    document = orjson.loads(checkpoint_bytes(rec))
    document[field] = value
    with pytest.raises(CheckpointError, match="signature"):
        check_signature(reread(document), KEY.public_key())


def test_a_checkpoint_signed_by_another_key_is_rejected(rec: Recovery, three: list[str]) -> None:
    checkpoint = reread(orjson.loads(checkpoint_bytes(rec)))
    other = generate_key()

    with pytest.raises(CheckpointError, match="another key"):
        check_signature(checkpoint, other.public_key())

    # re-signed by the insider's own key: valid for that key, not for the auditors' one
    document = dict(checkpoint.document)
    document["public_key"] = base64.b64encode(other.public_key().public_bytes_raw()).decode()
    document["signature"] = base64.b64encode(other.sign(signed_bytes(document))).decode()
    with pytest.raises(CheckpointError, match="another key"):
        check_signature(reread(document), KEY.public_key())
    check_signature(reread(document), other.public_key())


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"format": "something-else"}',
        b'{"format": "recovery-checkpoint/1"}',
    ],
)
def test_what_is_not_a_checkpoint_is_rejected(raw: bytes) -> None:
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        read_checkpoint(io.BytesIO(raw))


def test_malformed_heads_are_rejected(rec: Recovery, three: list[str]) -> None:
    document = orjson.loads(checkpoint_bytes(rec))
    document["heads"][0] = [document["heads"][0][0], "7", document["heads"][0][2]]
    with pytest.raises(CheckpointError, match="head 0"):
        reread(document)
    document = orjson.loads(checkpoint_bytes(rec))
    document["count"] = 4
    with pytest.raises(CheckpointError, match="says 4 incidents"):
        reread(document)


# ---------------------------------------------------------------------------- the streamed pass


def reference(rec: Recovery, incident: str) -> Verification:
    return rec.verify(incident)


def streamed(rec: Recovery) -> dict[str, Verification]:
    return {
        r.incident_id: Verification(r.incident_id, r.ok, r.events, r.broken_seq, r.problem)
        for r in verify_stream(rec.storage.audit, rec.pinned_playbook)
    }


def forge_after(rec: Recovery, incident: str) -> None:
    newest = stored_events(rec, incident)[-1]
    forged = {**newest, "seq": newest["seq"] + 1, "prev_hash": newest["hash"]}
    forged["data"] = '{"text":"the guest agreed to pay for everything"}'
    forged["type"] = "note_added"
    forged["hash"] = event_hash(
        newest["hash"],
        incident,
        forged["seq"],
        "note_added",
        forged["schema_version"],
        forged["playbook_id"],
        forged["playbook_version"],
        forged["actor"],
        forged["actor_role"],
        forged["channel"],
        from_column(forged["recorded_at"]) or "",
        forged["data"].encode(),
    )
    columns = ", ".join(forged)
    values = ", ".join(f":{name}" for name in forged)
    with sql(rec) as conn:
        conn.execute(text(f"INSERT INTO events ({columns}) VALUES ({values})"), forged)


def swap(rec: Recovery, incident: str, first: int, second: int) -> None:
    move = "UPDATE events SET seq = :to WHERE incident_id = :id AND seq = :seq"
    execute_sql(rec, move, to=-1, id=incident, seq=first)
    execute_sql(rec, move, to=first, id=incident, seq=second)
    execute_sql(rec, move, to=second, id=incident, seq=-1)


TAMPERING = {
    "edit": (
        lambda rec, i: execute_sql(
            rec,
            "UPDATE events SET data = replace(data, '[redacted]', '[REDACTED]') "
            "WHERE incident_id = :id AND seq = 2",
            id=i,
        ),
        2,
    ),
    "delete": (
        lambda rec, i: execute_sql(
            rec, "DELETE FROM events WHERE incident_id = :id AND seq = 4", id=i
        ),
        4,
    ),
    "insert": (forge_after, 8),
    "reorder": (lambda rec, i: swap(rec, i, 3, 6), 3),
    "truncate": (lambda rec, i: truncate(rec, i, keep=5, fix_state=False), 6),
    "state-row": (
        lambda rec, i: execute_sql(
            rec,
            "UPDATE incidents SET state = replace(state, 'Mette', 'Metta') WHERE id = :id",
            id=i,
        ),
        None,
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
@pytest.mark.sql
def test_the_streamed_pass_locates_tampering_exactly_as_verify_does(
    rec: Recovery, three: list[str], kind: str
) -> None:
    tamper, position = TAMPERING[kind]
    tamper(rec, three[1])

    found = streamed(rec)

    assert found[three[1]] == reference(rec, three[1])
    assert (found[three[1]].ok, found[three[1]].broken_seq) == (False, position)
    assert found[three[0]].ok and found[three[2]].ok
    assert list(found) == three


@pytest.mark.sql
def test_the_streamed_pass_reports_events_whose_state_row_is_gone(
    rec: Recovery, three: list[str]
) -> None:
    raw = rec.storage.engine.raw_connection()  # foreign keys off, as an insider with the file would
    try:
        cursor = raw.cursor()
        if rec.storage.engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("DELETE FROM incidents WHERE id = ?", (three[2],))
        else:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("DELETE FROM incidents WHERE id = %s", (three[2],))
            cursor.execute("SET session_replication_role = DEFAULT")
        raw.commit()
    finally:
        raw.close()

    found = streamed(rec)

    assert not found[three[2]].ok
    assert "state row is missing" in (found[three[2]].problem or "")


@pytest.mark.sql
def test_named_incidents_and_small_batches_give_the_same_results(
    rec: Recovery, three: list[str]
) -> None:
    TAMPERING["edit"][0](rec, three[0])
    every = list(verify_stream(rec.storage.audit, rec.pinned_playbook))
    in_twos = list(verify_stream(rec.storage.audit, rec.pinned_playbook, batch=2))
    named = list(verify_stream(rec.storage.audit, rec.pinned_playbook, incident_ids=three[:2]))

    assert every == in_twos
    assert named == every[:2]
    assert [r.head_hash for r in every] == [stored_events(rec, i)[-1]["hash"] for i in three]
