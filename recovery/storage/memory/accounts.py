"""`MemoryAccountStore`: users, API tokens and login sessions (`service.ports.AccountStore`)
in memory, with the SQL adapters' rules (unique names, expiry), for tests and demos that need
no database. (The idempotency keys are in `memory.idempotency`.)"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from recovery.errors import CommandRejectedError, StorageError
from recovery.service.ports.accounts import TokenRow, UserRow
from recovery.storage.moments import aware, utc


@dataclass
class _Session:
    username: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class MemoryAccountStore:
    """Gone when the process ends; safe to share between threads. Rows are frozen, so a
    reader may keep what it was given."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, UserRow] = {}
        self._tokens: dict[str, TokenRow] = {}  # by id, in the order they were added
        self._token_hashes: dict[str, str] = {}  # token hash -> token id
        self._sessions: dict[str, _Session] = {}  # by token hash
        self._failures: dict[str, list[datetime]] = {}  # key -> failed sign-ins

    # ------------------------------------------------------------------ users

    def add_user(
        self, username: str, password_hash: str, role: str, sites: Sequence[str], now: datetime
    ) -> UserRow:
        with self._lock:
            if username in self._users:
                raise CommandRejectedError(
                    f"a user named {username!r} already exists", field="username"
                )
            user = UserRow(username, password_hash, role, tuple(sites), utc(now), None)
            self._users[username] = user
            return user

    def user(self, username: str) -> UserRow | None:
        with self._lock:
            return self._users.get(username)

    def list_users(self) -> list[UserRow]:
        with self._lock:
            return [self._users[name] for name in sorted(self._users)]

    def set_email(self, username: str, email: str | None, notify_since: datetime | None) -> bool:
        with self._lock:
            user = self._users.get(username)
            if user is None:
                return False
            self._users[username] = replace(
                user, email=email, notify_by_email_since=aware(notify_since)
            )
            return True

    def mail_recipients(self) -> list[UserRow]:
        with self._lock:
            return [
                self._users[name]
                for name in sorted(self._users)
                if self._users[name].notify_by_email_since is not None
                and self._users[name].email
                and self._users[name].active
            ]

    def set_user_disabled(self, username: str, when: datetime | None) -> bool:
        """Disable (`when` set) or enable (`when` None) a user; disabling ends their sessions."""
        when = aware(when)
        with self._lock:
            user = self._users.get(username)
            if user is not None:
                self._users[username] = replace(user, disabled_at=when)
            if when is not None:
                for session in self._sessions.values():
                    if session.username == username and session.revoked_at is None:
                        session.revoked_at = when
            return user is not None

    def set_password(self, username: str, password_hash: str) -> bool:
        with self._lock:
            user = self._users.get(username)
            if user is None:
                return False
            self._users[username] = replace(user, password_hash=password_hash)
            return True

    def set_locale(self, username: str, locale: str | None) -> bool:
        with self._lock:
            user = self._users.get(username)
            if user is None:
                return False
            self._users[username] = replace(user, locale=locale)
            return True

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
        with self._lock:
            # The table's id, name and hash are each unique; the SQL adapter reports any
            # clash as the name's, the only one a caller chooses.
            if (
                token_id in self._tokens
                or token_hash in self._token_hashes
                or any(token.name == name for token in self._tokens.values())
            ):
                raise CommandRejectedError(
                    f"a token named {name!r} already exists (revoked tokens keep their name)",
                    field="name",
                )
            token = TokenRow(token_id, name, role, tuple(sites), utc(now), None)
            self._tokens[token_id] = token
            self._token_hashes[token_hash] = token_id
            return token

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        """The active token with this hash, if any."""
        with self._lock:
            token_id = self._token_hashes.get(token_hash)
            token = None if token_id is None else self._tokens[token_id]
            return token if token is not None and token.active else None

    def list_tokens(self) -> list[TokenRow]:
        with self._lock:
            return sorted(self._tokens.values(), key=lambda token: (token.created_at, token.id))

    def revoke_token(self, id_or_name: str, now: datetime) -> TokenRow | None:
        """Revoke the active token with this id or name; None when there is none."""
        with self._lock:
            token = next(
                (
                    token
                    for token in self._tokens.values()
                    if token.active and id_or_name in (token.id, token.name)
                ),
                None,
            )
            if token is None:
                return None
            revoked = replace(token, revoked_at=utc(now))
            self._tokens[token.id] = revoked
            return revoked

    # ------------------------------------------------------------------ sessions

    def add_session(
        self, token_hash: str, username: str, now: datetime, expires_at: datetime
    ) -> None:
        with self._lock:
            # What the table's primary key and its foreign key to `users` refuse.
            if token_hash in self._sessions:
                raise StorageError("sessions: a session with this token exists already")
            if username not in self._users:
                raise StorageError(f"sessions: there is no user named {username!r}")
            self._sessions[token_hash] = _Session(username, utc(now), utc(expires_at))

    def session_user(self, token_hash: str, now: datetime) -> tuple[UserRow, datetime] | None:
        """The active user of a live session, and when the session expires."""
        with self._lock:
            session = self._sessions.get(token_hash)
            if session is None or session.revoked_at is not None:
                return None
            user = self._users[session.username]
            if not user.active or session.expires_at <= now:
                return None
            return user, session.expires_at

    def revoke_session(self, token_hash: str, now: datetime) -> bool:
        with self._lock:
            session = self._sessions.get(token_hash)
            if session is None or session.revoked_at is not None:
                return False
            session.revoked_at = utc(now)
            return True

    # ------------------------------------------------------------------ failed sign-ins

    def sign_in_failures(
        self, keys: Sequence[str], since: datetime
    ) -> dict[str, tuple[int, datetime]]:
        found: dict[str, tuple[int, datetime]] = {}
        with self._lock:
            for key in keys:
                recent = [at for at in self._failures.get(key, ()) if at > since]
                if recent:
                    found[key] = (len(recent), min(recent))
        return found

    def record_sign_in_failure(
        self, keys: Sequence[str], now: datetime, forget_before: datetime
    ) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # bounded: forget the keys with nothing recent
                for stale in [k for k, ats in self._failures.items() if ats[-1] < forget_before]:
                    del self._failures[stale]
            for key in keys:
                kept = [at for at in self._failures.get(key, ()) if at >= forget_before]
                self._failures[key] = [*kept, now]

    def clear_sign_in_failures(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
