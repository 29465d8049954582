"""Access storage: users, API tokens, login sessions and idempotency keys (SQLAlchemy Core).

This module stores and finds rows; it never sees a secret in clear. Hashing (argon2 for
passwords, SHA-256 for high-entropy tokens) happens in `recovery.service.secrets`.

Idempotency keys are claimed by INSERTing their row in its own transaction before the
command runs: the primary key `(principal, key)` makes a second claimer (any process, any
server) fail at once, so a request still in flight is told so instead of running twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, Engine, and_, bindparam, delete, select, update
from sqlalchemy import exc as sa_exc

from recovery.errors import CommandRejectedError, RecoveryError, StorageError
from recovery.storage.database import first_line, reading
from recovery.storage.tables import api_tokens, idempotency_keys, incidents, sessions, users

ALL_SITES = "*"


# Built once: the per-command idempotency statements reuse SQLAlchemy's compiled cache.
_CLAIM = idempotency_keys.insert()
_COMPLETE = update(idempotency_keys).where(
    idempotency_keys.c.principal == bindparam("p"), idempotency_keys.c.key == bindparam("k")
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive (they were stored as UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sites_out(raw: str) -> tuple[str, ...]:
    return tuple(orjson.loads(raw))


def _sites_in(sites: Sequence[str]) -> str:
    return orjson.dumps(list(sites)).decode()


@dataclass(frozen=True)
class UserRow:
    username: str
    password_hash: str
    role: str
    sites: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class TokenRow:
    id: str
    name: str
    role: str
    sites: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


ClaimOutcome = Literal["claimed", "replay", "in_flight", "mismatch"]


@dataclass(frozen=True)
class Claim:
    """What claiming an idempotency key found: a fresh claim, or the first request's trace."""

    outcome: ClaimOutcome
    response: StoredResponse | None = None


def _user(row: Any) -> UserRow:
    return UserRow(
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        sites=_sites_out(row.sites),
        created_at=_aware(row.created_at) or datetime.min.replace(tzinfo=UTC),
        disabled_at=_aware(row.disabled_at),
    )


def _token(row: Any) -> TokenRow:
    return TokenRow(
        id=row.id,
        name=row.name,
        role=row.role,
        sites=_sites_out(row.sites),
        created_at=_aware(row.created_at) or datetime.min.replace(tzinfo=UTC),
        revoked_at=_aware(row.revoked_at),
    )


class AuthStore:
    """Queries on the access tables; every driver error becomes a `StorageError`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except (RecoveryError, sa_exc.IntegrityError):
            raise
        except sa_exc.DBAPIError as exc:
            raise StorageError(f"database error: {first_line(exc)}") from exc

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    # ------------------------------------------------------------------ users

    def add_user(
        self, username: str, password_hash: str, role: str, sites: Sequence[str], now: datetime
    ) -> UserRow:
        try:
            with self._begin() as conn:
                conn.execute(
                    users.insert().values(
                        username=username,
                        password_hash=password_hash,
                        role=role,
                        sites=_sites_in(sites),
                        created_at=now,
                        disabled_at=None,
                    )
                )
        except sa_exc.IntegrityError:
            raise CommandRejectedError(
                f"a user named {username!r} already exists", field="username"
            ) from None
        user = self.user(username)
        assert user is not None
        return user

    def user(self, username: str) -> UserRow | None:
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).one_or_none()
        return None if row is None else _user(row)

    def list_users(self) -> list[UserRow]:
        with self._read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def set_user_disabled(self, username: str, when: datetime | None) -> bool:
        """Disable (`when` set) or enable (`when` None) a user; also ends their sessions."""
        with self._begin() as conn:
            changed = conn.execute(
                update(users).where(users.c.username == username).values(disabled_at=when)
            ).rowcount
            if when is not None:
                conn.execute(
                    update(sessions)
                    .where(sessions.c.username == username, sessions.c.revoked_at.is_(None))
                    .values(revoked_at=when)
                )
        return bool(changed)

    def set_password(self, username: str, password_hash: str) -> bool:
        with self._begin() as conn:
            changed = conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=password_hash)
            ).rowcount
        return bool(changed)

    # ------------------------------------------------------------------ API tokens

    def add_token(
        self,
        token_id: str,
        name: str,
        token_hash: str,
        role: str,
        sites: Sequence[str],
        now: datetime,
    ) -> TokenRow:
        try:
            with self._begin() as conn:
                conn.execute(
                    api_tokens.insert().values(
                        id=token_id,
                        name=name,
                        token_hash=token_hash,
                        role=role,
                        sites=_sites_in(sites),
                        created_at=now,
                        revoked_at=None,
                    )
                )
        except sa_exc.IntegrityError:
            raise CommandRejectedError(
                f"a token named {name!r} already exists (revoked tokens keep their name)",
                field="name",
            ) from None
        return TokenRow(token_id, name, role, tuple(sites), now, None)

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        """The active token with this hash, if any."""
        with self._read() as conn:
            row = conn.execute(
                select(api_tokens).where(
                    api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                )
            ).one_or_none()
        return None if row is None else _token(row)

    def list_tokens(self) -> list[TokenRow]:
        with self._read() as conn:
            query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
            return [_token(r) for r in conn.execute(query)]

    def revoke_token(self, id_or_name: str, now: datetime) -> TokenRow | None:
        """Revoke the token with this id or name; None when there is no such active token."""
        with self._begin() as conn:
            row = conn.execute(
                select(api_tokens).where(
                    (api_tokens.c.id == id_or_name) | (api_tokens.c.name == id_or_name),
                    api_tokens.c.revoked_at.is_(None),
                )
            ).first()
            if row is None:
                return None
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(revoked_at=now))
        token = _token(row)
        return TokenRow(token.id, token.name, token.role, token.sites, token.created_at, now)

    def token_hash_of(self, token_id: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(
                select(api_tokens.c.token_hash).where(api_tokens.c.id == token_id)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    # ------------------------------------------------------------------ sessions

    def add_session(
        self, token_hash: str, username: str, now: datetime, expires_at: datetime
    ) -> None:
        with self._begin() as conn:
            conn.execute(
                sessions.insert().values(
                    token_hash=token_hash,
                    username=username,
                    created_at=now,
                    expires_at=expires_at,
                    revoked_at=None,
                )
            )

    def session_user(self, token_hash: str, now: datetime) -> tuple[UserRow, datetime] | None:
        """The active user of a live session, and when the session expires."""
        query = (
            select(users, sessions.c.expires_at.label("session_expires_at"))
            .join(sessions, sessions.c.username == users.c.username)
            .where(
                sessions.c.token_hash == token_hash,
                sessions.c.revoked_at.is_(None),
                users.c.disabled_at.is_(None),
            )
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        expires_at = _aware(row.session_expires_at)
        if expires_at is None or expires_at <= now:
            return None
        return _user(row), expires_at

    def revoke_session(self, token_hash: str, now: datetime) -> bool:
        with self._begin() as conn:
            changed = conn.execute(
                update(sessions)
                .where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
        return bool(changed)

    # ------------------------------------------------------------------ scope

    def incident_site(self, incident_id: str) -> str | None:
        """The property of an incident (it never changes), to check a caller's scope."""
        with self._read() as conn:
            value = conn.execute(
                select(incidents.c.site).where(incidents.c.id == incident_id)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    # ------------------------------------------------------------------ idempotency

    def claim_key(
        self,
        principal: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        stale_before: datetime,
    ) -> Claim:
        """Claim `key` for one request, or say what the first request with it left behind.

        An expired key is free again; a claim still `in_flight` since before `stale_before`
        belonged to a process that died mid-request and is taken over.
        """
        for _attempt in range(3):
            try:
                with self._begin() as conn:
                    conn.execute(
                        _CLAIM,
                        {
                            "principal": principal,
                            "key": key,
                            "fingerprint": fingerprint,
                            "status": "in_flight",
                            "created_at": now,
                            "expires_at": expires_at,
                        },
                    )
                return Claim("claimed")
            except sa_exc.IntegrityError:
                pass
            where = and_(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
            with self._read() as conn:
                row = conn.execute(select(idempotency_keys).where(where)).one_or_none()
            if row is None:
                continue  # released meanwhile: try to claim again
            created_at = _aware(row.created_at) or now
            expired = (_aware(row.expires_at) or now) <= now
            stale = row.status == "in_flight" and created_at < stale_before
            if expired or stale:
                with self._begin() as conn:
                    conn.execute(
                        delete(idempotency_keys).where(
                            where, idempotency_keys.c.created_at == row.created_at
                        )
                    )
                continue
            if row.fingerprint != fingerprint:
                return Claim("mismatch")
            if row.status == "in_flight":
                return Claim("in_flight")
            headers = orjson.loads(row.response_headers) if row.response_headers else {}
            body = (row.response_body or "").encode()
            return Claim("replay", StoredResponse(int(row.response_status), body, headers))
        return Claim("in_flight")

    def complete_key(self, principal: str, key: str, response: StoredResponse) -> None:
        with self._begin() as conn:
            conn.execute(
                _COMPLETE,
                {
                    "p": principal,
                    "k": key,
                    "status": "done",
                    "response_status": response.status,
                    "response_body": response.body.decode(),
                    "response_headers": orjson.dumps(response.headers).decode(),
                },
            )

    def release_key(self, principal: str, key: str) -> None:
        """Forget a claim whose request recorded nothing, so that a retry runs it again."""
        with self._begin() as conn:
            conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.principal == principal,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.status == "in_flight",
                )
            )

    def purge_keys(self, now: datetime) -> int:
        with self._begin() as conn:
            return int(
                conn.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
                ).rowcount
            )
