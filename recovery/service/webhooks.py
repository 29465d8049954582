"""Webhook endpoints a back office manages itself: register, list, rotate the secret,
delete, read the delivery log, ask for a redelivery (`delivery.endpoints` says how the
worker delivers to them).

Each endpoint belongs to the principal that registered it (`Principal.scope_key`): an
integration sees and manages its own only, an admin (and an operator at the command line)
every one; another's endpoint is "not found", as an unknown one, so ids do not leak. An
endpoint hears only of the properties its registrant may see. Its secret is made here
(32 random bytes) and shown once, in the answer that made it.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from recovery.catalog import Catalog
from recovery.delivery.endpoints import Endpoint, EndpointStore, LoggedAttempt
from recovery.domain.state import iso
from recovery.errors import CommandRejectedError, NotAllowedNowError, NotFoundError
from recovery.service.principal import Principal

SECRET_PREFIX = "whsec_"
MAX_URL = 2000
MAX_PER_OWNER = 10
MAX_FILTER = 50
GRACE_DEFAULT = timedelta(hours=24)
GRACE_MAX = timedelta(days=7)
PAGE_MAX = 200
OPERATOR = "operator"
BUILT_IN_KINDS = ("escalation", "notify", "notify_customer")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_endpoint_id() -> str:
    return "we_" + secrets.token_hex(8)


def effect_kinds(catalog: Catalog) -> list[str]:
    """Every effect kind the playbooks (any version) can ask for, and the built-in ones."""
    kinds = set(BUILT_IN_KINDS)
    for compiled in catalog.all_versions():
        playbook = compiled.playbook
        for step in [*playbook.steps, *playbook.tier_steps]:
            if step.effect:
                kinds.add(step.effect)
        if playbook.on_deadline_missed.effect:
            kinds.add(playbook.on_deadline_missed.effect)
    return sorted(kinds)


def endpoint_view(endpoint: Endpoint, *, secret: bool = False) -> dict[str, Any]:
    """An endpoint as its owner reads it; the secret only where it was just made."""
    out: dict[str, Any] = {
        "id": endpoint.id,
        "owner": endpoint.owner,
        "url": endpoint.url,
        "kinds": list(endpoint.kinds) if endpoint.kinds is not None else None,
        "sites": list(endpoint.sites) if endpoint.sites is not None else None,
        "created_at": iso(endpoint.created_at),
        "deleted_at": iso(endpoint.deleted_at) if endpoint.deleted_at else None,
        "previous_secret_valid_until": (
            iso(endpoint.previous_until) if endpoint.previous_until else None
        ),
    }
    if secret:
        out["secret"] = endpoint.secret
    return out


def attempt_view(attempt: LoggedAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "message_id": attempt.message_id,
        "event": attempt.event,
        "kind": attempt.kind,
        "attempt": attempt.attempt,
        "status_code": attempt.status_code,
        "ok": attempt.ok,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "at": iso(attempt.at),
    }


@dataclass(frozen=True)
class Page:
    items: list[LoggedAttempt]
    next_before: int | None  # pass as `before` for the next (older) page


def _private(host: str) -> bool:
    """A loopback, private, link-local or otherwise internal address (by its literal IP or
    the name localhost): not a back office's public receiver."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_url(url: str, *, private_hosts: bool = True) -> str:
    url = url.strip()
    if len(url) > MAX_URL:
        raise CommandRejectedError(f"url: at most {MAX_URL} characters", field="url")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise CommandRejectedError("url: no spaces or control characters", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise CommandRejectedError(f"url: {exc}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CommandRejectedError(
            f"url: must be an http:// or https:// address, not {url[:100]!r}",
            field="url",
            allowed=["http", "https"],
        )
    if parts.username or parts.password:
        raise CommandRejectedError("url: no user or password in the address", field="url")
    if not private_hosts and _private(parts.hostname.lower()):
        raise CommandRejectedError(
            f"url: {parts.hostname!r} is a loopback or private address; a back office's "
            "receiver must be reachable publicly (an operator can register it: "
            "`recovery webhooks add`)",
            field="url",
        )
    return url


class WebhookEndpoints:
    def __init__(
        self,
        store: EndpointStore,
        catalog: Catalog,
        clock: Callable[[], datetime],
        *,
        private_hosts: bool = False,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock
        # whether callers of the API may name loopback and private addresses (operators
        # at the command line always may)
        self.private_hosts = private_hosts

    # ------------------------------------------------------------------ checks

    def _kinds(self, kinds: Sequence[str] | None) -> tuple[str, ...] | None:
        if kinds is None:
            return None
        if not 1 <= len(kinds) <= MAX_FILTER:
            raise CommandRejectedError(
                f"kinds: give 1 to {MAX_FILTER} kinds, or leave it out for every kind",
                field="kinds",
            )
        allowed = effect_kinds(self.catalog)
        for index, kind in enumerate(kinds):
            if kind not in allowed:
                raise CommandRejectedError(
                    f"kinds[{index}]: {kind[:64]!r} is not an effect kind of any playbook "
                    f"(known: {', '.join(allowed)})",
                    field=f"kinds[{index}]",
                    allowed=allowed,
                )
        return tuple(dict.fromkeys(kinds))

    def _sites(self, principal: Principal, sites: Sequence[str] | None) -> tuple[str, ...] | None:
        if sites is None:
            # an integration hears of its own properties only
            return None if principal.all_sites else tuple(principal.sites)
        if not 1 <= len(sites) <= MAX_FILTER:
            raise CommandRejectedError(
                f"sites: give 1 to {MAX_FILTER} properties, or leave it out for all of yours",
                field="sites",
            )
        for index, site in enumerate(sites):
            if not principal.may_see(site):
                raise CommandRejectedError(
                    f"sites[{index}]: {site[:200]!r} is not one of your properties",
                    field=f"sites[{index}]",
                    allowed=list(principal.sites),
                )
        return tuple(dict.fromkeys(sites))

    def _own(
        self, principal: Principal | None, endpoint_id: str, *, deleted: bool = False
    ) -> Endpoint:
        """The caller's endpoint; a deleted one only for reading by an admin or operator
        (`deleted`), whose log stays until pruned."""
        found = self.store.get(endpoint_id)
        sees_all = principal is None or _sees_all(principal)
        if (
            found is None
            or (found.deleted_at is not None and not (deleted and sees_all))
            or (
                principal is not None
                and not _sees_all(principal)
                and found.owner != _owner(principal)
            )
        ):
            raise NotFoundError(f"no webhook endpoint {endpoint_id[:40]!r}")
        return found

    # ------------------------------------------------------------------ use cases
    # `principal` None: an operator at the command line (every endpoint, every property).

    def create(
        self,
        principal: Principal | None,
        url: str,
        kinds: Sequence[str] | None = None,
        sites: Sequence[str] | None = None,
    ) -> Endpoint:
        """A new endpoint, with its secret (show it to the caller: it is not shown again)."""
        who = principal or _OPERATOR
        owner = _owner(who)
        endpoint = Endpoint(
            id=new_endpoint_id(),
            owner=owner,
            url=check_url(url, private_hosts=principal is None or self.private_hosts),
            kinds=self._kinds(kinds),
            sites=self._sites(who, sites),
            secret=new_secret(),
            previous_secret=None,
            previous_until=None,
            created_at=self.clock(),
        )
        if principal is not None and self.store.count(owner) >= MAX_PER_OWNER:
            raise CommandRejectedError(
                f"you have {MAX_PER_OWNER} webhook endpoints, the most one caller may have; "
                "delete one first",
                plain="too many webhook endpoints",
            )
        self.store.add(endpoint)
        return endpoint

    def list_endpoints(self, principal: Principal | None) -> list[Endpoint]:
        if principal is None or _sees_all(principal):
            return self.store.list_endpoints()
        return self.store.list_endpoints(_owner(principal))

    def get(self, principal: Principal | None, endpoint_id: str) -> Endpoint:
        return self._own(principal, endpoint_id, deleted=True)

    def rotate(
        self,
        principal: Principal | None,
        endpoint_id: str,
        grace: timedelta = GRACE_DEFAULT,
    ) -> Endpoint:
        """A new secret; the old one still signs (beside it) for `grace` (0: not at all)."""
        if not timedelta(0) <= grace <= GRACE_MAX:
            raise CommandRejectedError(
                f"grace: from 0 to {int(GRACE_MAX.total_seconds())} seconds", field="grace"
            )
        self._own(principal, endpoint_id)
        until = self.clock() + grace if grace else None
        rotated = self.store.rotate(endpoint_id, new_secret(), until)
        if rotated is None:
            raise NotFoundError(f"no webhook endpoint {endpoint_id!r}")
        return rotated

    def delete(self, principal: Principal | None, endpoint_id: str) -> Endpoint:
        self._own(principal, endpoint_id)
        deleted = self.store.delete(endpoint_id, self.clock())
        if deleted is None:
            raise NotFoundError(f"no webhook endpoint {endpoint_id!r}")
        return deleted

    def deliveries(
        self,
        principal: Principal | None,
        endpoint_id: str,
        *,
        before: int | None = None,
        limit: int = 50,
    ) -> Page:
        """The endpoint's logged requests, newest first, a page at a time."""
        self._own(principal, endpoint_id, deleted=True)
        limit = max(1, min(limit, PAGE_MAX))
        items = self.store.deliveries(endpoint_id, before=before, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].id if more and items else None)

    def redeliver(self, principal: Principal | None, endpoint_id: str, message_id: int) -> None:
        """Send one message to this endpoint again (the worker does, as soon as it can)."""
        self._own(principal, endpoint_id)
        result = self.store.redeliver(endpoint_id, message_id, self.clock())
        if result == "unknown":
            raise NotFoundError(
                f"message {message_id} was never sent to webhook endpoint {endpoint_id!r} "
                "(or its log has been pruned)"
            )
        if result == "busy":
            raise NotAllowedNowError(
                f"message {message_id} is being delivered right now; ask again in a minute",
                state="delivering",
            )


_OPERATOR = Principal(kind="user", name=OPERATOR, role="admin", sites=("*",))


def _owner(principal: Principal) -> str:
    return OPERATOR if principal is _OPERATOR else principal.scope_key


def _sees_all(principal: Principal) -> bool:
    return principal.role == "admin" or principal is _OPERATOR
