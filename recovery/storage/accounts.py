"""Accounts storage: users, API tokens and login sessions (`service.ports.AccountStore`).

This module stores and finds rows; it never sees a secret in clear. Hashing (argon2 for
passwords, SHA-256 for high-entropy tokens) happens in `recovery.service.secrets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy import exc as sa_exc

from recovery.errors import CommandRejectedError, StorageError
from recovery.service.ports.accounts import TokenRow, UserRow
from recovery.storage.database import first_line, reading, writing
from recovery.storage.moments import aware
from recovery.storage.tables.access import api_tokens, sessions, sign_in_failures, users

_LONG_AGO = datetime.min.replace(tzinfo=UTC)
# Old failure rows are forgotten every `_PURGE_EVERY` recorded failures, at most
# `_PURGE_ROWS` at a time: more than the 3 rows a failure can add in between, so the table
# stays bounded under any storm, and no single statement grows with it.
_PURGE_EVERY = 32
_PURGE_ROWS = 500


def _sites_out(raw: str) -> tuple[str, ...]:
    return tuple(orjson.loads(raw))


def _sites_in(sites: Sequence[str]) -> str:
    return orjson.dumps(list(sites)).decode()


def _user(row: Any) -> UserRow:
    return UserRow(
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        sites=_sites_out(row.sites),
        created_at=aware(row.created_at) or _LONG_AGO,
        disabled_at=aware(row.disabled_at),
        email=row.email,
        notify_by_email_since=aware(row.notify_by_email_since),
        locale=row.locale,
    )


def _token(row: Any) -> TokenRow:
    return TokenRow(
        id=row.id,
        name=row.name,
        role=row.role,
        sites=_sites_out(row.sites),
        created_at=aware(row.created_at) or _LONG_AGO,
        revoked_at=aware(row.revoked_at),
    )


class SqlAccountStore:
    """Queries on the access tables; every driver error becomes a `StorageError`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._recorded = 0

    # ------------------------------------------------------------------ users

    def add_user(
        self, username: str, password_hash: str, role: str, sites: Sequence[str], now: datetime
    ) -> UserRow:
        try:
            with writing(self.engine) as conn:
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
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.username == username)).one_or_none()
        return None if row is None else _user(row)

    def list_users(self) -> list[UserRow]:
        with reading(self.engine) as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def set_email(self, username: str, email: str | None, notify_since: datetime | None) -> bool:
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(email=email, notify_by_email_since=notify_since)
            )
        return changed.rowcount == 1

    def mail_recipients(self) -> list[UserRow]:
        query = select(users).where(
            users.c.notify_by_email_since.is_not(None),
            users.c.email.is_not(None),
            users.c.disabled_at.is_(None),
        )
        with reading(self.engine) as conn:
            return [_user(r) for r in conn.execute(query.order_by(users.c.username))]

    def set_user_disabled(self, username: str, when: datetime | None) -> bool:
        """Disable (`when` set) or enable (`when` None) a user; also ends their sessions."""
        with writing(self.engine) as conn:
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
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=password_hash)
            ).rowcount
        return bool(changed)

    def set_locale(self, username: str, locale: str | None) -> bool:
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(users).where(users.c.username == username).values(locale=locale)
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
            with writing(self.engine) as conn:
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
        with reading(self.engine) as conn:
            row = conn.execute(
                select(api_tokens).where(
                    api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                )
            ).one_or_none()
        return None if row is None else _token(row)

    def list_tokens(self) -> list[TokenRow]:
        with reading(self.engine) as conn:
            query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
            return [_token(r) for r in conn.execute(query)]

    def revoke_token(self, id_or_name: str, now: datetime) -> TokenRow | None:
        """Revoke the token with this id or name; None when there is no such active token."""
        with writing(self.engine) as conn:
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

    # ------------------------------------------------------------------ sessions

    def add_session(
        self, token_hash: str, username: str, now: datetime, expires_at: datetime
    ) -> None:
        try:
            with writing(self.engine) as conn:
                conn.execute(
                    sessions.insert().values(
                        token_hash=token_hash,
                        username=username,
                        created_at=now,
                        expires_at=expires_at,
                        revoked_at=None,
                    )
                )
        except sa_exc.IntegrityError as exc:  # a reused token or an unknown user
            raise StorageError(f"sessions: database error: {first_line(exc)}") from exc

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
        with reading(self.engine) as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        expires_at = aware(row.session_expires_at)
        if expires_at is None or expires_at <= now:
            return None
        return _user(row), expires_at

    def revoke_session(self, token_hash: str, now: datetime) -> bool:
        with writing(self.engine) as conn:
            changed = conn.execute(
                update(sessions)
                .where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
        return bool(changed)

    # ------------------------------------------------------------------ failed sign-ins

    def sign_in_failures(
        self, keys: Sequence[str], since: datetime
    ) -> dict[str, tuple[int, datetime]]:
        t = sign_in_failures
        query = (
            select(t.c.key, func.count(), func.min(t.c.failed_at))
            .where(t.c.key.in_(list(keys)), t.c.failed_at > since)
            .group_by(t.c.key)
        )
        with reading(self.engine) as conn:
            rows = conn.execute(query).all()
        return {key: (count, aware(oldest) or since) for key, count, oldest in rows}

    def record_sign_in_failure(
        self, keys: Sequence[str], now: datetime, forget_before: datetime
    ) -> None:
        t = sign_in_failures
        self._recorded += 1
        with writing(self.engine) as conn:
            conn.execute(t.insert().values([{"key": key, "failed_at": now} for key in keys]))
            if self._recorded % _PURGE_EVERY == 0:
                old = select(t.c.id).where(t.c.failed_at < forget_before).limit(_PURGE_ROWS)
                conn.execute(delete(t).where(t.c.id.in_(old.scalar_subquery())))

    def clear_sign_in_failures(self, key: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(delete(sign_in_failures).where(sign_in_failures.c.key == key))
