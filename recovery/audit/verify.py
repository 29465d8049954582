"""Verify many incidents in one streamed pass: every hash chain, then a strict replay.

    for result in verify_stream(engine, resolve):   # resolve(playbook_id, version)
        ...                                          # one AuditResult per incident

The whole database is read in ONE statement ordered by (incident_id, seq) (see `_rows`),
folded one incident at a time, so memory holds one incident's events, never the log.
Each incident gets the checks of `recovery.service.audit.verify_incident`, the reference:
the chain is recomputed, the state row must point at the newest event, and replaying the
events through the incident's pinned playbook must rebuild the stored state. The fast path
here only decides "verifies"; whenever it does not, the reference runs on the same rows,
so a broken incident is reported exactly as `Recovery.verify` reports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import multiprocessing
import operator
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import IO, Any

import orjson
from sqlalchemy import Engine

from recovery.audit import _rows
from recovery.domain.apply import apply, apply_change
from recovery.domain.chain import GENESIS
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import EVENT_FIELDS, EVENT_SCHEMA_VERSION, Event, IncidentState
from recovery.domain.upcast import upcast
from recovery.errors import IntegrityError, RecoveryError, StorageError
from recovery.service.audit import Verification, check_chain, verify_incident
from recovery.service.engine import Recovery
from recovery.storage.database import reading

Resolver = Callable[[str, int], CompiledPlaybook]
"""The compiled playbook an incident is pinned to, by (playbook_id, version)."""


@dataclass(frozen=True)
class AuditResult(Verification):
    """A verification, plus the chain's stored head and (if asked) the hash at one seq."""

    head_hash: str | None = None
    pinned_hash: str | None = None


class _Playbooks:
    """Compiled playbooks by (id, version), each resolved once per pass."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._cache: dict[tuple[str, int], CompiledPlaybook] = {}

    def get(self, playbook_id: str, version: int) -> CompiledPlaybook:
        key = (playbook_id, version)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(playbook_id, version)
        return found


def verify_stream(
    engine: Engine,
    resolve: Resolver,
    *,
    incident_ids: Sequence[str] | None = None,
    pins: Mapping[str, int] | None = None,
    batch: int = _rows.BATCH,
    jobs: int = 1,
) -> Iterator[AuditResult]:
    """One result per incident (in id order), reading the log in one streamed statement.

    `incident_ids` limits the pass to those incidents; `pins` asks, per incident, for the
    stored hash of the event at that seq (`AuditResult.pinned_hash`, for checkpoints).
    `jobs` > 1 splits a whole-database pass into that many id ranges, verified at once by
    forked worker processes (see `_verify_in_parallel`)."""
    if jobs > 1 and incident_ids is None:
        yield from _verify_in_parallel(engine, resolve, pins, batch, jobs)
    else:
        yield from _verify_range(engine, resolve, incident_ids, pins, batch, None)


def _verify_range(
    engine: Engine,
    resolve: Resolver,
    incident_ids: Sequence[str] | None,
    pins: Mapping[str, int] | None,
    batch: int,
    id_range: _rows.IdRange | None,
) -> Iterator[AuditResult]:
    playbooks = _Playbooks(resolve)
    dialect = engine.dialect.name
    sql, params = _rows.verification_sql(dialect, incident_ids, id_range)
    with reading(engine) as conn:
        rows = _rows.stream(conn, sql, params, batch)
        for incident_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            events = list(group)
            state_row = events[0] if events[0][1] == _rows.KIND_STATE else None
            if state_row is not None:  # sorted by seq, the state row (seq 0) comes first
                del events[0]
            yield _check(incident_id, state_row, events, playbooks, pins)


_RESULTS_PER_CHUNK = 500


def _verify_in_parallel(
    engine: Engine,
    resolve: Resolver,
    pins: Mapping[str, int] | None,
    batch: int,
    jobs: int,
) -> Iterator[AuditResult]:
    """The pass split into id ranges: this process verifies the first while forked
    workers verify the others, each with its own connection (every incident is read in
    one statement, so each is checked against one consistent view of itself). A worker
    writes its results to a temporary file (so it never waits for this process, and
    memory stays bounded); they are read back in range order, so the whole stays in id
    order. Fork, not spawn: the workers inherit the resolver (the engine's playbooks)."""
    with reading(engine) as conn:
        points = _rows.split_points(conn, jobs)
    ranges: list[_rows.IdRange] = list(zip([None, *points], [*points, None], strict=True))
    context = multiprocessing.get_context("fork")
    workers: list[tuple[BaseProcess, IO[bytes]]] = []
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(_stop_all, workers)
        for id_range in ranges[1:]:
            spool: IO[bytes] = cleanup.enter_context(
                tempfile.TemporaryFile(prefix="recovery-audit-")
            )
            process = context.Process(
                target=_verify_in_worker,
                args=(engine, resolve, pins, batch, id_range, spool),
                name=f"recovery-audit-{len(workers) + 1}",
                daemon=True,
            )
            workers.append((process, spool))
            process.start()
        yield from _verify_range(engine, resolve, None, pins, batch, ranges[0])
        for started, written in workers:
            yield from _read_back(started, written)


def _stop_all(workers: list[tuple[BaseProcess, IO[bytes]]]) -> None:
    """Workers still running when the pass ends early (an error, or a caller that stopped
    reading) are stopped; every one is waited for."""
    for process, _ in workers:
        if process.is_alive():
            process.terminate()
        process.join()


def _read_back(worker: BaseProcess, spool: IO[bytes]) -> Iterator[AuditResult]:
    worker.join()
    spool.seek(0)
    while True:
        try:
            chunk = pickle.load(spool)  # written by our own worker, just now
        except EOFError:
            raise StorageError(
                f"audit {worker.name} stopped (exit code {worker.exitcode}) before it "
                "finished; run again with one job to see why"
            ) from None
        if chunk is None:
            return
        if isinstance(chunk, str):
            raise StorageError(f"audit {worker.name} failed: {chunk}")
        yield from chunk


def _verify_in_worker(
    engine: Engine,
    resolve: Resolver,
    pins: Mapping[str, int] | None,
    batch: int,
    id_range: _rows.IdRange,
    spool: IO[bytes],
) -> None:
    """A forked worker: verify one id range, writing the results in chunks, then None
    (or the error as text: the library's errors need not survive pickling)."""
    engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    try:
        chunk: list[AuditResult] = []
        for result in _verify_range(engine, resolve, None, pins, batch, id_range):
            chunk.append(result)
            if len(chunk) == _RESULTS_PER_CHUNK:
                pickle.dump(chunk, spool)
                chunk = []
        pickle.dump(chunk, spool)
        pickle.dump(None, spool)
    except Exception as exc:
        pickle.dump(f"{type(exc).__name__}: {exc}", spool)
    finally:
        spool.flush()


class Auditor:
    """Streamed verification passes over one database, with the engine's playbooks."""

    def __init__(self, engine: Engine, resolve: Resolver) -> None:
        self.engine = engine
        self.resolve = resolve

    @classmethod
    def of(cls, rec: Recovery) -> Auditor:
        return cls(rec.engine, pinned_playbooks(rec))

    def count_events(self, incident_ids: Sequence[str] | None = None) -> int:
        return count_events(self.engine, incident_ids)

    def results(
        self,
        incident_ids: Sequence[str] | None = None,
        *,
        pins: Mapping[str, int] | None = None,
        jobs: int = 1,
    ) -> Iterator[AuditResult]:
        """One result per incident, in id order (every incident, or those named); `jobs`
        processes share a whole-database pass."""
        return verify_stream(
            self.engine, self.resolve, incident_ids=incident_ids, pins=pins, jobs=jobs
        )


def pinned_playbooks(rec: Recovery) -> Resolver:
    """The engine's own lookup of an incident's pinned playbook version: the catalog's, else
    the definition stored when the first incident used it (as `Recovery.verify` does)."""
    return rec.pinned_playbook


def count_events(engine: Engine, incident_ids: Sequence[str] | None = None) -> int:
    """How many events a pass over these incidents (all by default) reads: for progress."""
    sql, params = _rows.count_sql(engine.dialect.name, incident_ids)
    with reading(engine) as conn:
        return int(_rows.scalar(conn, sql, params) or 0)


def _check(
    incident_id: str,
    state_row: Sequence[Any] | None,
    events: list[Sequence[Any]],
    playbooks: _Playbooks,
    pins: Mapping[str, int] | None,
) -> AuditResult:
    head = events[-1][_rows.HASH] if events else None
    pinned = None
    if pins is not None and incident_id in pins:
        at = pins[incident_id]
        pinned = next((e[_rows.HASH] for e in events if e[_rows.SEQ] == at), None)
    if state_row is None:
        problem = "events are recorded for an incident whose state row is missing"
        return AuditResult(incident_id, False, len(events), None, problem, head, pinned)
    try:
        compiled = playbooks.get(state_row[_rows.PLAYBOOK], state_row[_rows.PLAYBOOK_VERSION])
    except StorageError:
        raise
    except (RecoveryError, LookupError, ValueError, TypeError) as exc:  # an unusable playbook
        problem = f"cannot replay: {exc}"
        return AuditResult(incident_id, False, len(events), None, problem, head, pinned)
    if _verifies(incident_id, state_row, events, compiled):
        return AuditResult(incident_id, True, len(events), None, None, head, pinned)
    found = _reference(incident_id, state_row, events, compiled)
    return AuditResult(
        incident_id, found.ok, found.events, found.broken_seq, found.problem, head, pinned
    )


def _verifies(
    incident_id: str,
    state_row: Sequence[Any],
    events: list[Sequence[Any]],
    compiled: CompiledPlaybook,
) -> bool:
    """The fast path: True only if the reference would find nothing wrong either."""
    sha256, dumps, loads, iso_text = hashlib.sha256, orjson.dumps, orjson.loads, _rows.iso_text
    make_event = _make_event
    prev = GENESIS
    state: IncidentState | None = None
    expected = 0
    try:
        for _, _, seq, type_, schema, pb, pb_v, actor, role, channel, at, data, link, h in events:
            expected += 1
            if seq != expected or link != prev:
                return False
            if len(at) == 26 and at[10] == " ":  # SQLite's stored form, as `iso_text` does
                at = f"{at[:10]}T{at[11:]}Z"
            elif len(at) != 27 or at[10] != "T" or at[26] != "Z":
                at = iso_text(at)
            header = dumps(
                [prev, incident_id, seq, type_, schema, pb, pb_v, actor, role, channel, at]
            )
            if sha256(header + b"\n" + data.encode()).hexdigest() != h:
                return False
            prev = h
            if schema == EVENT_SCHEMA_VERSION and type_ != "opened":  # no Event needed
                state = apply_change(
                    compiled, state, incident_id, seq, type_, actor, at, loads(data), owned=True
                )
                continue
            event = make_event(
                {
                    "incident_id": incident_id,
                    "seq": seq,
                    "type": type_,
                    "schema_version": schema,
                    "playbook_id": pb,
                    "playbook_version": pb_v,
                    "actor": actor,
                    "actor_role": role,
                    "channel": channel,
                    "recorded_at": at,
                    "data": loads(data),
                    "prev_hash": link,
                    "hash": h,
                }
            )
            state = apply(compiled, state, upcast(event), owned=True)
    except (RecoveryError, LookupError, ValueError, TypeError, AttributeError):
        return False
    if state is None or prev != state_row[_rows.HASH] or state_row[_rows.SCHEMA] != len(events):
        return False
    return _same_state(state, state_row[_rows.DATA])


def _same_state(state: IncidentState, stored_text: str | bytes) -> bool:
    """`state` equals the stored JSON as the reference compares them (both as JSON values).
    Usually the stored bytes are exactly what `state.to_json()` writes (the engine wrote
    them with it); otherwise its fields are compared in place with the parsed JSON
    (`to_json` writes exactly each dataclass's __dict__). Anything unexpected is False,
    and the reference decides."""
    stored_bytes = stored_text.encode() if isinstance(stored_text, str) else stored_text
    if state.to_json() == stored_bytes:
        return True
    try:
        stored = orjson.loads(stored_text)
        mine = vars(state)
        if type(stored) is not dict or mine.keys() != stored.keys():
            return False
        steps, stored_steps = mine["steps"], stored["steps"]
        if type(stored_steps) is not dict or steps.keys() != stored_steps.keys():
            return False
        for name, value in mine.items():
            if name != "steps" and value != stored[name]:
                return False
        return all(vars(step) == stored_steps[name] for name, step in steps.items())
    except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
        return False


def _event_maker() -> Callable[[dict[str, Any]], Event]:
    """Build an `Event` from its fields' dict without running the frozen dataclass's
    __init__ (a third of replay's cost per event), as `IncidentState.from_json` restores
    its dataclasses; the plain constructor if `Event` ever stops keeping a __dict__."""
    if "__dict__" not in dir(Event) or hasattr(Event, "__slots__"):
        return lambda fields: Event(**fields)
    new, set_attr = object.__new__, object.__setattr__

    def make(fields: dict[str, Any]) -> Event:
        event = new(Event)
        set_attr(event, "__dict__", fields)
        return event

    return make


_make_event = _event_maker()


def _reference(
    incident_id: str,
    state_row: Sequence[Any],
    events: list[Sequence[Any]],
    compiled: CompiledPlaybook,
) -> Verification:
    """`verify_incident` on the same rows: the exact first broken position and problem."""
    rows = [dict(zip(EVENT_FIELDS, (r[0], *r[2:]), strict=True)) for r in events]
    for row in rows:  # the chain hashes the ISO text form; an unreadable one fails its hash
        with contextlib.suppress(ValueError, TypeError):
            row["recorded_at"] = _rows.iso_text(row["recorded_at"])
    try:
        stored = IncidentState.from_json(state_row[_rows.DATA])
    except (ValueError, KeyError, TypeError) as exc:
        found = _chain_only(incident_id, rows)
        if not found.ok:
            return found
        return Verification(
            incident_id, False, len(rows), None, f"the state row cannot be read: {exc}"
        )
    try:
        found = verify_incident(incident_id, rows, stored, state_row[_rows.HASH], compiled)
    except (RecoveryError, LookupError, ValueError, TypeError, AttributeError) as exc:
        seq = exc.seq if isinstance(exc, IntegrityError) else None
        return Verification(incident_id, False, len(rows), seq, f"replay failed: {exc!r}")
    return found


def _chain_only(incident_id: str, rows: list[dict[str, Any]]) -> Verification:
    try:
        return check_chain(incident_id, rows)
    except (ValueError, TypeError) as exc:
        return Verification(incident_id, False, len(rows), None, f"unreadable event: {exc}")
