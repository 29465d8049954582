"""The accounts ports: users, API tokens and login sessions; idempotency keys of commands.

Adapters store and find rows; they never see a secret in clear. Hashing (argon2 for
passwords, SHA-256 for the high-entropy tokens) is the service's (`service.secrets`).
Moments are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol


@dataclass(frozen=True)
class UserRow:
    username: str
    password_hash: str
    role: str
    sites: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None
    email: str | None = None
    notify_by_email_since: datetime | None = None
    """their notifications from then on are mailed to `email` (None: not mailed)"""
    locale: str | None = None  # the staff pages' language they chose (None: the browser's)

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


@dataclass(frozen=True)
class KeyedReply:
    """An idempotency key's row as a command's own transaction writes it, beside the
    command's event: the caller, the key, what the request was, and the reply to replay."""

    principal: str
    key: str
    fingerprint: str
    created_at: datetime
    expires_at: datetime
    response: StoredResponse


class KeyTaken(Exception):
    """A command's transaction found its idempotency key held by another request that was
    recorded meanwhile: the transaction is rolled back, so nothing of it is kept."""


LookupOutcome = Literal["free", "replay", "mismatch"]


@dataclass(frozen=True)
class Claim:
    """What looking an idempotency key up found: free (never used, or expired), the first
    request's reply, or another request's fingerprint."""

    outcome: LookupOutcome
    response: StoredResponse | None = None


class AccountStore(Protocol):
    """Users (people who sign in), API tokens (systems) and login sessions."""

    def add_user(
        self, username: str, password_hash: str, role: str, sites: Sequence[str], now: datetime
    ) -> UserRow:
        """`CommandRejectedError` when the username is taken."""
        ...

    def user(self, username: str) -> UserRow | None: ...

    def list_users(self) -> list[UserRow]: ...

    def set_user_disabled(self, username: str, when: datetime | None) -> bool:
        """Disable (`when` set) or enable (`when` None) a user; disabling ends their
        sessions. False when there is no such user."""
        ...

    def set_password(self, username: str, password_hash: str) -> bool: ...

    def set_email(self, username: str, email: str | None, notify_since: datetime | None) -> bool:
        """The user's address and since when their notifications are mailed (None: not);
        False if there is no such user."""
        ...

    def mail_recipients(self) -> list[UserRow]:
        """Active users with an address who asked for their notifications by e-mail."""
        ...

    def set_locale(self, username: str, locale: str | None) -> bool:
        """The user's language for the staff pages (None: their browser's). False when
        there is no such user."""
        ...

    def add_token(
        self,
        token_id: str,
        name: str,
        token_hash: str,
        role: str,
        sites: Sequence[str],
        now: datetime,
    ) -> TokenRow:
        """`CommandRejectedError` when the name is taken (revoked tokens keep theirs)."""
        ...

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        """The active token with this hash, if any."""
        ...

    def list_tokens(self) -> list[TokenRow]: ...

    def revoke_token(self, id_or_name: str, now: datetime) -> TokenRow | None:
        """Revoke the active token with this id or name; None when there is none."""
        ...

    def add_session(
        self, token_hash: str, username: str, now: datetime, expires_at: datetime
    ) -> None: ...

    def session_user(self, token_hash: str, now: datetime) -> tuple[UserRow, datetime] | None:
        """The active user of a live session, and when the session expires."""
        ...

    def revoke_session(self, token_hash: str, now: datetime) -> bool: ...

    # Failed sign-ins, one row per key (a username, an address, or both) and failure,
    # shared by every process on the database.

    def sign_in_failures(
        self, keys: Sequence[str], since: datetime
    ) -> dict[str, tuple[int, datetime]]:
        """For each of these keys with failures after `since`: how many, and the oldest
        of them. One read."""
        ...

    def record_sign_in_failure(
        self, keys: Sequence[str], now: datetime, forget_before: datetime
    ) -> None:
        """Record one failure for each key (one statement). Now and then also forgets a
        bounded number of failures from before `forget_before`."""
        ...

    def clear_sign_in_failures(self, key: str) -> None:
        """Forget the failures of one key (its owner signed in)."""
        ...


class IdempotencyKeys(Protocol):
    """Idempotency keys per caller. A key's row is written only by the transaction that
    records its command (`IncidentTransaction.append` with a `KeyedReply`), so the row and
    the event exist together or not at all: no claim is ever left behind by a crash."""

    def find_key(self, principal: str, key: str, fingerprint: str, now: datetime) -> Claim:
        """What the key holds now: free (absent or expired), the first reply (same
        fingerprint), or a mismatch (another request used it)."""
        ...

    def purge_keys(self, now: datetime) -> int:
        """Forget every expired key; how many there were."""
        ...
