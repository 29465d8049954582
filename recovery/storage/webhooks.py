"""`SqlWebhookEndpoints`: registered webhook endpoints and their delivery log
(`delivery.endpoints.EndpointStore`). Every method is one transaction or one read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, and_, delete, exists, func, literal, select, update

from recovery.delivery.endpoints import Attempt, Endpoint, LoggedAttempt, endpoint_key
from recovery.delivery.ports import DELIVERING, PENDING
from recovery.storage.database import reading, writing
from recovery.storage.leases import clip
from recovery.storage.moments import aware, utc
from recovery.storage.outcomes import targets_text
from recovery.storage.tables.access import api_tokens
from recovery.storage.tables.delivery import outbox, webhook_deliveries, webhook_endpoints

E = webhook_endpoints.c
D = webhook_deliveries.c


def _list_text(values: Sequence[str] | None) -> str | None:
    return None if values is None else orjson.dumps(list(values)).decode()


def _list_of(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(orjson.loads(text))


def endpoint_of(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        owner=row.owner,
        url=row.url,
        kinds=_list_of(row.kinds),
        sites=_list_of(row.sites),
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_until=aware(row.previous_until),
        created_at=utc(row.created_at),
        deleted_at=aware(row.deleted_at),
    )


class SqlWebhookEndpoints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, endpoint: Endpoint) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                webhook_endpoints.insert().values(
                    id=endpoint.id,
                    owner=endpoint.owner,
                    url=endpoint.url,
                    kinds=_list_text(endpoint.kinds),
                    sites=_list_text(endpoint.sites),
                    secret=endpoint.secret,
                    previous_secret=endpoint.previous_secret,
                    previous_until=endpoint.previous_until,
                    created_at=utc(endpoint.created_at),
                    deleted_at=None,
                )
            )

    def get(self, endpoint_id: str) -> Endpoint | None:
        with reading(self.engine) as conn:
            row = conn.execute(select(webhook_endpoints).where(E.id == endpoint_id)).first()
        return None if row is None else endpoint_of(row)

    def list_endpoints(self, owner: str | None = None) -> list[Endpoint]:
        query = select(webhook_endpoints).where(E.deleted_at.is_(None)).order_by(E.created_at, E.id)
        if owner is not None:
            query = query.where(E.owner == owner)
        with reading(self.engine) as conn:
            return [endpoint_of(r) for r in conn.execute(query)]

    def count(self, owner: str) -> int:
        query = select(func.count()).where(E.owner == owner, E.deleted_at.is_(None))
        with reading(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def rotate(
        self, endpoint_id: str, secret: str, previous_until: datetime | None
    ) -> Endpoint | None:
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(webhook_endpoints)
                .where(E.id == endpoint_id, E.deleted_at.is_(None))
                .values(
                    previous_secret=E.secret if previous_until is not None else None,
                    previous_until=previous_until,
                    secret=secret,
                )
            )
            if changed.rowcount != 1:
                return None
            row = conn.execute(select(webhook_endpoints).where(E.id == endpoint_id)).one()
        return endpoint_of(row)

    def delete(self, endpoint_id: str, now: datetime) -> Endpoint | None:
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(webhook_endpoints)
                .where(E.id == endpoint_id, E.deleted_at.is_(None))
                .values(deleted_at=utc(now))
            )
            if changed.rowcount != 1:
                return None
            row = conn.execute(select(webhook_endpoints).where(E.id == endpoint_id)).one()
        return endpoint_of(row)

    def active(self) -> list[Endpoint]:
        revoked = exists().where(
            api_tokens.c.revoked_at.is_not(None),
            E.owner == literal("token:") + api_tokens.c.name,
        )
        query = (
            select(webhook_endpoints)
            .where(E.deleted_at.is_(None), ~revoked)
            .order_by(E.created_at, E.id)
        )
        with reading(self.engine) as conn:
            return [endpoint_of(r) for r in conn.execute(query)]

    def log(self, attempts: Sequence[Attempt], prune_before: datetime | None = None) -> None:
        with writing(self.engine) as conn:
            if attempts:
                conn.execute(
                    webhook_deliveries.insert(),
                    [
                        {
                            "endpoint_id": a.endpoint_id,
                            "message_id": a.message_id,
                            "attempt": a.attempt,
                            "status_code": a.status_code,
                            "error": clip(a.error) if a.error else None,
                            "duration_ms": a.duration_ms,
                            "at": utc(a.at),
                        }
                        for a in attempts
                    ],
                )
            if prune_before is not None:
                conn.execute(delete(webhook_deliveries).where(D.at < utc(prune_before)))

    def deliveries(
        self, endpoint_id: str, *, before: int | None = None, limit: int = 50
    ) -> list[LoggedAttempt]:
        query = (
            select(webhook_deliveries, outbox.c.incident_id, outbox.c.seq, outbox.c.kind)
            .join(outbox, outbox.c.id == D.message_id)
            .where(D.endpoint_id == endpoint_id)
            .order_by(D.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(D.id < before)
        with reading(self.engine) as conn:
            rows = conn.execute(query).all()
        return [
            LoggedAttempt(
                endpoint_id=r.endpoint_id,
                message_id=r.message_id,
                attempt=r.attempt,
                status_code=r.status_code,
                error=r.error,
                duration_ms=r.duration_ms,
                at=utc(r.at),
                id=r.id,
                event=f"{r.incident_id}:{r.seq}",
                kind=r.kind,
            )
            for r in rows
        ]

    def redeliver(self, endpoint_id: str, message_id: int, now: datetime) -> str:
        sent = exists().where(D.endpoint_id == endpoint_id, D.message_id == message_id)
        with writing(self.engine) as conn:
            row = conn.execute(
                select(outbox.c.status, outbox.c.accepted_by)
                .where(and_(outbox.c.id == message_id, sent))
                .with_for_update()
            ).first()
            if row is None:
                return "unknown"
            if row.status == DELIVERING:
                return "busy"
            accepted = set(orjson.loads(row.accepted_by)) if row.accepted_by else set()
            accepted.discard(endpoint_key(endpoint_id))
            conn.execute(
                update(outbox)
                .where(outbox.c.id == message_id, outbox.c.status != DELIVERING)
                .values(
                    status=PENDING, next_attempt_at=utc(now), accepted_by=targets_text(accepted)
                )
            )
        return "queued"
