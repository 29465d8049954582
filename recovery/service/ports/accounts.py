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
    """Idempotency keys per caller: claimed before a command runs, so that a second claimer
    (any process, any server) is told at once; completed with the response to replay."""

    def claim_key(
        self,
        principal: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        stale_before: datetime,
    ) -> Claim:
        """Claim the key, or say what holds it: the first response (replay), a request in
        flight, or another request's fingerprint (mismatch). An expired key, or a claim
        still in flight since before `stale_before`, is forgotten and claimed anew."""
        ...

    def complete_key(self, principal: str, key: str, response: StoredResponse) -> None: ...

    def release_key(self, principal: str, key: str) -> None:
        """Forget a claim whose request recorded nothing, so that a retry runs it again."""
        ...

    def purge_keys(self, now: datetime) -> int:
        """Forget every expired key; how many there were."""
        ...
