"""The baseline for the HTTP benchmark: a bare FastAPI endpoint doing one insert of the same
event row into the same (engine-migrated) SQLite table, WAL + synchronous=FULL, one commit."""

from __future__ import annotations

import itertools
import os
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import Response

DB_PATH = os.environ["BARE_DB"]
INCIDENT = os.environ["BARE_INCIDENT"]

conn = sqlite3.connect(DB_PATH, isolation_level=None, check_same_thread=False)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
seq = itertools.count(1_000_000)
app = FastAPI()


@app.post("/notes")
async def add_note(request: Request) -> Response:
    body = await request.body()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO events (incident_id, seq, type, schema_version, playbook_id, "
        "playbook_version, actor, actor_role, channel, recorded_at, data, prev_hash, hash) "
        "VALUES (?, ?, 'note_added', 1, 'hotel-walked-guest', 1, 'bench', 'front_desk', 'api', "
        "'2026-01-01 00:00:00.000000', ?, ?, ?)",
        (INCIDENT, next(seq), body.decode(), "0" * 64, "1" * 64),
    )
    conn.execute("COMMIT")
    return Response(b'{"ok":true}', status_code=201, media_type="application/json")
