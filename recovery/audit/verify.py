"""Verify many incidents in one streamed pass: every hash chain, then a strict replay.

    for result in verify_stream(rows, resolve):     # rows: AuditRows (storage.audit)
        ...                                          # resolve(playbook_id, version)

The whole database is read in ONE statement ordered by (incident_id, seq) (see
`ports.AuditRows`), folded one incident at a time, so memory holds one incident's events,
never the log. Each incident gets the checks of `incident.verify_incident`, the reference:
the chain is recomputed, the state row must point at the newest event, and replaying the
events through the incident's pinned playbook must rebuild the stored state. The fast path
(`check`) only decides "verifies"; whenever it does not, the reference runs on the same
rows, so a broken incident is reported exactly as `Recovery.verify` reports it.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import operator
import pickle
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from multiprocessing.process import BaseProcess
from typing import IO

from recovery.audit.check import AuditResult, Playbooks, Resolver, check_incident
from recovery.audit.ports import INCIDENT, KIND, KIND_STATE, AuditRows, IdRange
from recovery.errors import StorageError


def verify_stream(
    rows: AuditRows,
    resolve: Resolver,
    *,
    incident_ids: Sequence[str] | None = None,
    pins: Mapping[str, int] | None = None,
    batch: int | None = None,
    jobs: int = 1,
) -> Iterator[AuditResult]:
    """One result per incident (in id order), reading the log in one streamed statement.

    `incident_ids` limits the pass to those incidents; `pins` asks, per incident, for the
    stored hash of the event at that seq (`AuditResult.pinned_hash`, for checkpoints).
    `jobs` > 1 splits a whole-database pass into that many id ranges, verified at once by
    forked worker processes (see `_verify_in_parallel`). `batch`: rows per round trip
    (None: the adapter's default)."""
    if jobs > 1 and incident_ids is None:
        yield from _verify_in_parallel(rows, resolve, pins, batch, jobs)
    else:
        yield from _verify_range(rows, resolve, incident_ids, pins, batch, None)


def _verify_range(
    rows: AuditRows,
    resolve: Resolver,
    incident_ids: Sequence[str] | None,
    pins: Mapping[str, int] | None,
    batch: int | None,
    id_range: IdRange | None,
) -> Iterator[AuditResult]:
    playbooks = Playbooks(resolve)
    iso_text = rows.iso_text
    stream = rows.verification_rows(incident_ids, id_range, batch)
    for incident_id, group in itertools.groupby(stream, key=operator.itemgetter(INCIDENT)):
        events = list(group)
        state_row = events[0] if events[0][KIND] == KIND_STATE else None
        if state_row is not None:  # sorted by seq, the state row (seq 0) comes first
            del events[0]
        yield check_incident(incident_id, state_row, events, playbooks, pins, iso_text)


_RESULTS_PER_CHUNK = 500


def _verify_in_parallel(
    rows: AuditRows,
    resolve: Resolver,
    pins: Mapping[str, int] | None,
    batch: int | None,
    jobs: int,
) -> Iterator[AuditResult]:
    """The pass split into id ranges: this process verifies the first while forked
    workers verify the others, each with its own connection (every incident is read in
    one statement, so each is checked against one consistent view of itself). A worker
    writes its results to a temporary file (so it never waits for this process, and
    memory stays bounded); they are read back in range order, so the whole stays in id
    order. Fork, not spawn: the workers inherit the resolver (the engine's playbooks)."""
    points = rows.split_points(jobs)
    ranges: list[IdRange] = list(zip([None, *points], [*points, None], strict=True))
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
                args=(rows, resolve, pins, batch, id_range, spool),
                name=f"recovery-audit-{len(workers) + 1}",
                daemon=True,
            )
            workers.append((process, spool))
            process.start()
        yield from _verify_range(rows, resolve, None, pins, batch, ranges[0])
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
    rows: AuditRows,
    resolve: Resolver,
    pins: Mapping[str, int] | None,
    batch: int | None,
    id_range: IdRange,
    spool: IO[bytes],
) -> None:
    """A forked worker: verify one id range, writing the results in chunks, then None
    (or the error as text: the library's errors need not survive pickling)."""
    own_rows = rows.forked()
    try:
        chunk: list[AuditResult] = []
        for result in _verify_range(own_rows, resolve, None, pins, batch, id_range):
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
    """Streamed verification passes over one database's rows, each incident replayed
    through its pinned playbook (`resolve`, e.g. `Recovery.pinned_playbook`)."""

    def __init__(self, rows: AuditRows, resolve: Resolver) -> None:
        self.rows = rows
        self.resolve = resolve

    def count_events(self, incident_ids: Sequence[str] | None = None) -> int:
        """How many events a pass over these incidents (all by default) reads: for progress."""
        return self.rows.count_events(incident_ids)

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
            self.rows, self.resolve, incident_ids=incident_ids, pins=pins, jobs=jobs
        )
