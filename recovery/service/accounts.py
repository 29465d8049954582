"""Accounts: create and check users, API tokens and login sessions (shared by CLI and HTTP).

Secrets are returned in clear exactly once, when created; only their hashes are stored.
Lookups of a presented token are cached in process for `cache_ttl` seconds (keyed by the
token's hash; 0.9 s by default), so a busy caller costs one indexed read a second, not one
per request: a revocation (logout, a disabled user, a revoked token) made through another
process takes effect here within a second, counting the read itself; through this process
at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from recovery.errors import CommandRejectedError
from recovery.letters.i18n import LOCALES
from recovery.service import secrets
from recovery.service.ports.accounts import AccountStore, TokenRow, UserRow
from recovery.service.principal import ALL_SITES, ROLES, Principal

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$"
SITE_PATTERN = r"^[^\x00-\x1f,*][^\x00-\x1f,]{0,199}$"
_NAME = re.compile(NAME_PATTERN)
_SITE = re.compile(SITE_PATTERN)
MIN_PASSWORD = 8
MAX_EMAIL = 320
SESSION_LIFETIME = timedelta(hours=12)

Clock = Callable[[], datetime]


def check_name(value: str, field: str) -> str:
    if not _NAME.match(value):
        raise CommandRejectedError(
            f"{field} {value!r} must be 1-100 letters, digits or _ . @ - "
            "(starting with a letter or digit)",
            field=field,
        )
    return value


def check_role(role: str) -> str:
    if role not in ROLES:
        raise CommandRejectedError(f"role {role!r} is not one of: {', '.join(ROLES)}", field="role")
    return role


def check_sites(sites: Iterable[str]) -> tuple[str, ...]:
    """A list of properties, or `*` alone for every property."""
    cleaned = tuple(dict.fromkeys(s.strip() for s in sites if s.strip()))
    if not cleaned:
        raise CommandRejectedError(
            "give the properties this account may act on (e.g. ribe,vejle) or * for all",
            field="sites",
        )
    if ALL_SITES in cleaned:
        if len(cleaned) > 1:
            raise CommandRejectedError(
                "* (every property) cannot be mixed with names", field="sites"
            )
        return cleaned
    for site in cleaned:
        if not _SITE.match(site):
            raise CommandRejectedError(
                f"property {site!r} must be 1-200 characters without commas or control characters",
                field="sites",
            )
    return cleaned


def check_email(value: str) -> str | None:
    """An address (None for ""): one @, no spaces, at most 320 characters."""
    address = value.strip()
    if not address:
        return None
    local, at, domain = address.rpartition("@")
    if (
        len(address) > MAX_EMAIL
        or not at
        or not local
        or "." not in domain
        or any(c.isspace() or c in '<>,;"' for c in address)
    ):
        raise CommandRejectedError(
            f"{address[:60]!r} is not an e-mail address (like name@example.com, at most "
            f"{MAX_EMAIL} characters)",
            field="email",
        )
    return address


def parse_sites(text: str) -> tuple[str, ...]:
    """`ribe,vejle` or `*` as given on a command line."""
    return check_sites(text.split(","))


class _Cache:
    """A small TTL cache of principals by token hash (thread-safe, bounded)."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        found = self._entries.get(key)
        if found is None:
            return None
        principal, until = found
        if until < time.monotonic():
            self._entries.pop(key, None)
            return None
        return principal

    def put(self, key: str, principal: Principal, ttl: float | None = None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (principal, time.monotonic() + min(self.ttl, ttl or self.ttl))

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_where(self, match: Callable[[Principal], bool]) -> None:
        with self._lock:
            for key in [k for k, (p, _) in self._entries.items() if match(p)]:
                del self._entries[key]


class SignInThrottled(Exception):
    """Too many failed sign-ins lately for this username, from this address, or both;
    `retry_after` says how long until the next attempt is heard."""

    def __init__(self, retry_after: timedelta, reason: str) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
        super().__init__(f"too many failed sign-ins {reason}: try again in {minutes} minute(s)")


@dataclass(frozen=True)
class SignInLimits:
    """Failed sign-ins heard within `window`: per username from one address (a person
    mistyping), per username from anywhere (guesses at one account from many addresses)
    and per address (one client trying many usernames, known or not)."""

    per_user_and_address: int = 5
    per_user: int = 20
    per_address: int = 30
    window: timedelta = timedelta(minutes=15)


class _SignInThrottle:
    """Failed sign-ins recorded in the database, so every server process shares them and a
    restart forgets nothing: one read before the password check, one write after a
    failure. A key whose failures within the window reach its limit is refused until the
    oldest of them leaves the window; refused attempts are not checked, so not counted.

    Unknown usernames are counted like known ones (and cost the same password check), so
    answers tell nothing about which exist. The per-username limit lets a stranger hold a
    username's sign-ins up for one window at a time; it is higher than the per-address
    one, so that a single client is stopped long before it gets there."""

    def __init__(self, store: AccountStore, limits: SignInLimits) -> None:
        self.store = store
        self.limits = limits

    def _keys(self, username: str, client: str) -> dict[str, tuple[int, str]]:
        name, address = username[:150], client[:150]
        limits = self.limits
        return {
            f"ua:{name}\x1f{address}": (
                limits.per_user_and_address,
                "for this username from this address",
            ),
            f"u:{name}": (limits.per_user, "for this username"),
            f"a:{address}": (limits.per_address, "from this address"),
        }

    def check(self, username: str, client: str, now: datetime) -> None:
        keys = self._keys(username, client)
        window = self.limits.window
        found = self.store.sign_in_failures(list(keys), now - window)
        waits = [
            (oldest + window - now, keys[key][1])
            for key, (count, oldest) in found.items()
            if count >= keys[key][0]
        ]
        if waits:
            wait, reason = max(waits)
            raise SignInThrottled(max(wait, timedelta(seconds=1)), reason)

    def failed(self, username: str, client: str, now: datetime) -> None:
        keys = list(self._keys(username, client))
        self.store.record_sign_in_failure(keys, now, now - self.limits.window)

    def succeeded(self, username: str, client: str) -> None:
        self.store.clear_sign_in_failures(next(iter(self._keys(username, client))))


class Accounts:
    def __init__(
        self,
        store: AccountStore,
        clock: Clock,
        *,
        cache_ttl: float = 0.9,
        sign_in_limits: SignInLimits | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self._cache = _Cache(cache_ttl)
        self._sign_ins = _SignInThrottle(store, sign_in_limits or SignInLimits())
        # One password check at a time per process: each already keeps a core busy, and
        # more at once would leave the server's event loop none (a storm then waits here,
        # on worker threads, while everything else is served).
        self._hashing = threading.Lock()

    # ------------------------------------------------------------------ users

    def add_user(self, username: str, password: str, role: str, sites: Sequence[str]) -> UserRow:
        check_name(username, "username")
        check_role(role)
        scope = check_sites(sites)
        if len(password) < MIN_PASSWORD:
            raise CommandRejectedError(
                f"the password must have at least {MIN_PASSWORD} characters", field="password"
            )
        return self.store.add_user(
            username, secrets.hash_password(password), role, scope, self.clock()
        )

    def list_users(self) -> list[UserRow]:
        return self.store.list_users()

    def user(self, username: str) -> UserRow | None:
        return self.store.user(username)

    def set_user_disabled(self, username: str, disabled: bool = True) -> bool:
        changed = self.store.set_user_disabled(username, self.clock() if disabled else None)
        self._cache.drop_where(lambda p: p.kind == "user" and p.name == username)
        return changed

    def set_password(self, username: str, password: str) -> bool:
        if len(password) < MIN_PASSWORD:
            raise CommandRejectedError(
                f"the password must have at least {MIN_PASSWORD} characters", field="password"
            )
        return self.store.set_password(username, secrets.hash_password(password))

    def set_email(self, username: str, email: str, notify_by_email: bool) -> bool:
        """The user's address ("" : none) and whether their notifications are mailed to
        it: from now on (notices made before asking are not mailed); asked again while
        on, the start stays. False if there is no such user."""
        address = check_email(email)
        if notify_by_email and address is None:
            raise CommandRejectedError(
                "an e-mail address is needed to mail the notifications", field="email"
            )
        user = self.store.user(username)
        if user is None:
            return False
        since = None
        if notify_by_email:
            since = user.notify_by_email_since or self.clock()
        return self.store.set_email(username, address, since)

    def set_locale(self, username: str, locale: str | None) -> bool:
        """The language of the user's staff pages: one of LOCALES, or None (their browser's)."""
        if locale is not None and locale not in LOCALES:
            raise CommandRejectedError(
                f"no staff pages in {locale[:20]!r}; choose one of: {', '.join(LOCALES)}",
                field="locale",
            )
        changed = self.store.set_locale(username, locale)
        self._cache.drop_where(lambda p: p.kind == "user" and p.name == username)
        return changed

    # ------------------------------------------------------------------ tokens

    def create_token(self, name: str, role: str, sites: Sequence[str]) -> tuple[TokenRow, str]:
        """A new API token; the secret is returned here and never again."""
        check_name(name, "name")
        check_role(role)
        scope = check_sites(sites)
        secret = secrets.new_token(secrets.API_TOKEN_PREFIX)
        row = self.store.add_token(
            secrets.new_token_id(), name, secrets.token_hash(secret), role, scope, self.clock()
        )
        return row, secret

    def list_tokens(self) -> list[TokenRow]:
        return self.store.list_tokens()

    def revoke_token(self, id_or_name: str) -> TokenRow | None:
        row = self.store.revoke_token(id_or_name, self.clock())
        if row is not None:
            self._cache.drop_where(lambda p: p.kind == "token" and p.name == row.name)
        return row

    # ------------------------------------------------------------------ sessions

    def login(
        self, username: str, password: str, client: str = ""
    ) -> tuple[str, datetime, UserRow] | None:
        """A new session token for a valid, enabled user; None otherwise (same cost).
        `SignInThrottled` after too many failures for this username from `client`."""
        user = self.check_sign_in(username, password, client)
        if user is None:
            return None
        secret, expires_at = self.open_session(user)
        return secret, expires_at, user

    def check_sign_in(self, username: str, password: str, client: str = "") -> UserRow | None:
        """The valid, enabled user a username and password stand for; None otherwise, at
        the same cost. Slow on purpose (the password hash): a server runs it on a worker
        thread, never on its event loop. `SignInThrottled` after too many failures for
        this username from `client`."""
        self._sign_ins.check(username, client, self.clock())
        user = self.store.user(username)
        with self._hashing:
            ok = secrets.verify_password(user.password_hash if user else None, password)
        if user is None or not ok or not user.active:
            self._sign_ins.failed(username, client, self.clock())
            return None
        self._sign_ins.succeeded(username, client)
        if secrets.needs_rehash(user.password_hash):
            self.store.set_password(username, secrets.hash_password(password))
        return user

    def open_session(self, user: UserRow) -> tuple[str, datetime]:
        """A new session of a user `check_sign_in` accepted: its token and expiry."""
        now = self.clock()
        secret = secrets.new_token(secrets.SESSION_PREFIX)
        expires_at = now + SESSION_LIFETIME
        self.store.add_session(secrets.token_hash(secret), user.username, now, expires_at)
        return secret, expires_at

    def logout(self, secret: str) -> bool:
        digest = secrets.token_hash(secret)
        self._cache.drop(digest)
        return self.store.revoke_session(digest, self.clock())

    # ------------------------------------------------------------------ checking

    def authenticate(self, secret: str) -> Principal | None:
        """The principal a presented token stands for, or None (unknown, revoked, expired)."""
        digest = secrets.token_hash(secret)
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        if secret.startswith(secrets.API_TOKEN_PREFIX):
            token = self.store.token_by_hash(digest)
            if token is None:
                return None
            principal = Principal("token", token.name, token.role, token.sites)
            self._cache.put(digest, principal)
            return principal
        if secret.startswith(secrets.SESSION_PREFIX):
            now = self.clock()
            found = self.store.session_user(digest, now)
            if found is None:
                return None
            user, expires_at = found
            principal = Principal("user", user.username, user.role, user.sites, user.locale)
            self._cache.put(digest, principal, (expires_at - now).total_seconds())
            return principal
        return None

    def cached(self, secret: str) -> Principal | None:
        """The principal from the in-process cache only (no database round trip)."""
        return self._cache.get(secrets.token_hash(secret))
