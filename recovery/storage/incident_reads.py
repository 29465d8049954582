"""Reads of the incident log: states, events, playbook versions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Engine, and_, func, select, tuple_, union
from sqlalchemy import exc as sa_exc

from recovery.domain.chain import canonical
from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.personal import decode_key, revealed
from recovery.domain.state import Event, IncidentState, parse_iso
from recovery.errors import IncidentNotFoundError
from recovery.storage.database import reading, writing
from recovery.storage.figures import FigureReads
from recovery.storage.moments import from_column
from recovery.storage.tables.log import events, incidents, playbook_versions, search_terms


class IncidentReads(FigureReads):
    """Everything read from the incident tables outside a command's transaction (the
    aggregates of the figure columns in `FigureReads`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register_playbook(
        self, playbook_id: str, version: int, digest: str, definition: dict[str, Any], now: str
    ) -> str | None:
        """Store a playbook version's definition; return the digest already stored, if any."""
        with self._reading() as conn:
            stored = conn.execute(
                select(playbook_versions.c.digest).where(
                    playbook_versions.c.playbook_id == playbook_id,
                    playbook_versions.c.version == version,
                )
            ).scalar_one_or_none()
        if stored is not None:
            return str(stored)
        try:
            with writing(self.engine) as conn:  # driver errors as StorageError
                conn.execute(
                    playbook_versions.insert().values(
                        playbook_id=playbook_id,
                        version=version,
                        digest=digest,
                        definition=canonical(definition).decode(),
                        registered_at=parse_iso(now),
                    )
                )
        except sa_exc.IntegrityError:
            return self.register_playbook(playbook_id, version, digest, definition, now)
        return None

    # ------------------------------------------------------------------ reads

    def _reading(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    def load(self, incident_id: str) -> tuple[IncidentState, str]:
        with self._reading() as conn:
            row = conn.execute(
                select(incidents.c.state, incidents.c.head_hash).where(
                    incidents.c.id == incident_id
                )
            ).one_or_none()
        if row is None:
            raise IncidentNotFoundError(incident_id)
        return IncidentState.from_json(row.state, incident_id), row.head_hash

    def list_states(
        self,
        *,
        statuses: Sequence[str] | None = None,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[IncidentState]:
        conditions = _incident_filters(statuses, site, sites, playbook_id, owner)
        query = (
            select(incidents.c.id, incidents.c.state)
            .where(*conditions)
            .order_by(incidents.c.next_due_at.is_(None), incidents.c.next_due_at, incidents.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [IncidentState.from_json(row.state, row.id) for row in rows]

    def page_states(
        self,
        *,
        statuses: Sequence[str] | None = None,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        owner: str | None = None,
        after: tuple[str | None, str] | None = None,
        limit: int = 50,
    ) -> list[tuple[IncidentState, str | None]]:
        conditions = _incident_filters(statuses, site, sites, playbook_id, owner)
        due, ident = incidents.c.next_due_at, incidents.c.id
        # Two index ranges (ix_incidents_board): rows with a deadline in (deadline, id)
        # order, then, if the page is not full, those without one by id. One ORDER BY with
        # `due IS NULL` would sort every matching row, as NULLs sort differently per database.
        rows: list[Any] = []
        after_due, after_id = after if after is not None else ("", "")
        if after is None or after_due is not None:
            dated = [*conditions, due.is_not(None)]
            if after_due:
                moment = parse_iso(after_due)
                # a row value: one index range on both databases (an OR is a filter)
                dated.append(tuple_(due, ident) > tuple_(moment, after_id))
            query = select(ident, incidents.c.state, due).where(*dated)
            with self._reading() as conn:
                rows += conn.execute(query.order_by(due, ident).limit(limit)).all()
        if len(rows) < limit:
            undated = [*conditions, due.is_(None)]
            if after_due is None:
                undated.append(ident > after_id)
            query = select(ident, incidents.c.state, due).where(*undated)
            with self._reading() as conn:
                rows += conn.execute(query.order_by(ident).limit(limit - len(rows))).all()
        return [
            (IncidentState.from_json(row.state, row.id), from_column(row.next_due_at))
            for row in rows
        ]

    def search(
        self, keys: Sequence[str], *, sites: Sequence[str] | None = None, limit: int = 50
    ) -> list[IncidentState]:
        """Incidents with a search term starting with one of `keys` (lower-cased, see
        `domain.search`), at `sites` (None: all), most recently opened first."""
        if not keys:
            return []
        term = search_terms.c.term
        postgres = self.engine.dialect.name == "postgresql"
        # One index range per key: LIKE 'k%' on PostgreSQL (text_pattern_ops), a >= / <
        # range on SQLite, whose LIKE ignores case and so cannot use a plain index.
        ranges = []
        for key in keys:
            matched = select(search_terms.c.incident_id).where(
                term.startswith(key, autoescape=True)
                if postgres
                else and_(term >= key, term < key + "\U0010ffff")
            )
            if sites is not None:
                matched = matched.where(search_terms.c.site.in_(list(sites)))
            # SQLite admits no LIMIT in a UNION's part unless it is a subquery
            limited = matched.distinct().limit(limit).subquery()
            ranges.append(select(limited.c.incident_id))
        found = ranges[0] if len(ranges) == 1 else union(*ranges)
        ids = select(found.subquery().c.incident_id).distinct().limit(limit).subquery()
        query = (
            select(incidents.c.state)
            .where(incidents.c.id.in_(select(ids.c.incident_id)))
            .order_by(incidents.c.opened_at.desc(), incidents.c.id)
        )
        with self._reading() as conn:
            return [IncidentState.from_json(raw) for raw in conn.execute(query).scalars()]

    def incident_types(self, *, sites: Sequence[str] | None = None) -> dict[str, int]:
        query = select(incidents.c.incident_type, func.count()).group_by(incidents.c.incident_type)
        if sites is not None:
            query = query.where(incidents.c.site.in_(list(sites)))
        with self._reading() as conn:
            return {str(kind): int(count) for kind, count in conn.execute(query).all()}

    def iter_states(
        self,
        *,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        chunk: int = 1000,
    ) -> Iterator[IncidentState]:
        """Every incident's state in id order, read in chunks (bounded memory)."""
        conditions = _incident_filters(None, site, sites, playbook_id, None)
        after = ""
        while True:
            query = select(incidents.c.id, incidents.c.state).where(
                incidents.c.id > after, *conditions
            )
            with self._reading() as conn:
                rows = conn.execute(query.order_by(incidents.c.id).limit(chunk)).all()
            for row in rows:
                yield IncidentState.from_json(row.state, row.id)
            if len(rows) < chunk:
                return
            after = rows[-1].id

    def customer_states(
        self, customer_key: str, *, sites: Sequence[str] | None = None, limit: int = 100
    ) -> list[IncidentState]:
        conditions = _incident_filters(None, None, sites, None, None)
        query = (
            select(incidents.c.state)
            .where(incidents.c.customer_key == customer_key, *conditions)
            .order_by(incidents.c.opened_at.desc(), incidents.c.id)
            .limit(limit)
        )
        with self._reading() as conn:
            return [IncidentState.from_json(raw) for raw in conn.execute(query).scalars()]

    def events(
        self, incident_id: str, *, upto_seq: int | None = None, upto_time: str | None = None
    ) -> list[Event]:
        query = select(events).where(events.c.incident_id == incident_id)
        if upto_seq is not None:
            query = query.where(events.c.seq <= upto_seq)
        query = query.order_by(events.c.seq)
        out = []
        with self._reading() as conn:
            key = decode_key(conn.execute(_key_of(incident_id)).scalar_one_or_none())
            for row in conn.execute(query):
                event = revealed(row_to_event(row._mapping), key)
                if upto_time is not None and event.recorded_at > upto_time:
                    break
                out.append(event)
        return out

    def states_of(self, incident_ids: Sequence[str]) -> list[IncidentState]:
        ids = list(dict.fromkeys(incident_ids))
        if not ids:
            return []
        query = select(incidents.c.id, incidents.c.state).where(incidents.c.id.in_(ids))
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [IncidentState.from_json(row.state, row.id) for row in rows]

    def step_actions(self, incident_ids: Sequence[str], action: str) -> list[Event]:
        """Read by the events' key (incident, seq), the step actions' data filtered here:
        JSON is not searched in SQL the same way on both databases."""
        ids = list(dict.fromkeys(incident_ids))
        if not ids:
            return []
        query = (
            select(events, incidents.c.personal_key)
            .join(incidents, incidents.c.id == events.c.incident_id)
            .where(events.c.incident_id.in_(ids), events.c.type == "step_action")
            .order_by(events.c.incident_id, events.c.seq)
        )
        out = []
        with self._reading() as conn:
            for row in conn.execute(query):
                event = row_to_event(row._mapping)
                if event.data.get("action") == action:  # plain: only personal values are sealed
                    out.append(revealed(event, decode_key(row.personal_key)))
        return out

    def retention_due(self, playbook_id: str, ended_before: str, limit: int) -> list[str]:
        query = (
            select(incidents.c.id)
            .where(
                incidents.c.playbook_id == playbook_id,
                incidents.c.ended_at < parse_iso(ended_before),
                incidents.c.personal_key.is_not(None),
            )
            .order_by(incidents.c.ended_at)
            .limit(limit)
        )
        with self._reading() as conn:
            return list(conn.execute(query).scalars())

    def personal_key(self, incident_id: str) -> bytes | None:
        with self._reading() as conn:
            return decode_key(conn.execute(_key_of(incident_id)).scalar_one_or_none())

    def raw_events(self, incident_id: str) -> list[dict[str, Any]]:
        """Rows as stored (data as text; recorded_at in the ISO text form), for hash
        verification."""
        query = select(events).where(events.c.incident_id == incident_id).order_by(events.c.seq)
        with self._reading() as conn:
            rows = [plain(row._mapping) for row in conn.execute(query)]
        for row in rows:
            row["recorded_at"] = from_column(row["recorded_at"]) or ""
        return rows

    def due_incident_ids(self, now: str, limit: int) -> list[str]:
        """Active incidents with a step past its deadline, the most overdue first."""
        query = (
            select(incidents.c.id)
            .where(
                incidents.c.status.in_(ACTIVE_STATES),
                incidents.c.next_due_at <= parse_iso(now),
            )
            .order_by(incidents.c.next_due_at)
            .limit(limit)
        )
        with self._reading() as conn:
            return list(conn.execute(query).scalars())

    def incident_site(self, incident_id: str) -> str | None:
        """The property of an incident (it never changes), to check a caller's scope."""
        with self._reading() as conn:
            value = conn.execute(
                select(incidents.c.site).where(incidents.c.id == incident_id)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def incident_ids(self) -> list[str]:
        with self._reading() as conn:
            return list(conn.execute(select(incidents.c.id).order_by(incidents.c.id)).scalars())

    def stored_definition(self, playbook_id: str, version: int) -> dict[str, Any] | None:
        with self._reading() as conn:
            raw = conn.execute(
                select(playbook_versions.c.definition).where(
                    playbook_versions.c.playbook_id == playbook_id,
                    playbook_versions.c.version == version,
                )
            ).scalar_one_or_none()
        return None if raw is None else dict(orjson.loads(raw))


def _incident_filters(
    statuses: Sequence[str] | None,
    site: str | None,
    sites: Sequence[str] | None,
    playbook_id: str | None,
    owner: str | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(incidents.c.status.in_(list(statuses)))
    if site is not None:
        conditions.append(incidents.c.site == site)
    if sites is not None:
        conditions.append(incidents.c.site.in_(list(sites)))
    if playbook_id is not None:
        conditions.append(incidents.c.playbook_id == playbook_id)
    if owner is not None:
        conditions.append(incidents.c.owner == owner)
    return conditions


def _key_of(incident_id: str) -> Any:
    return select(incidents.c.personal_key).where(incidents.c.id == incident_id)


def row_to_event(row: Any) -> Event:
    return Event.from_stored({**row, "recorded_at": from_column(row["recorded_at"]) or ""})


def plain(mapping: Any) -> dict[str, Any]:
    """A row as a dict with plain `str` keys (SQLAlchemy's are a str subclass that strict
    JSON encoders refuse)."""
    return {str(key): value for key, value in mapping.items()}
