"""The webhook worker: claim due outbox messages, POST them signed, record each outcome.

At-least-once: a message is `delivered` only after every target that wants its kind
answered 2xx; anything else (an error status, a timeout, a refused connection, a worker
killed mid-way) leads to another attempt, so receivers de-duplicate on the
`X-Recovery-Delivery` header (the outbox message id, the same on every attempt).
Messages of one incident may arrive out of order (retries, several workers): receivers
order them by the event's seq when that matters.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx
import orjson

from recovery.delivery._policy import RetryPolicy
from recovery.delivery._signing import (
    ATTEMPT_HEADER,
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from recovery.delivery._targets import WebhookTarget
from recovery.delivery.endpoints import Attempt, EndpointStore
from recovery.delivery.ports import DEAD, DELIVERED, FAILED, Claim, OutboxStore, Wanted
from recovery.domain.chain import canonical
from recovery.domain.state import iso

log = logging.getLogger("recovery.delivery")

Clock = Callable[[], datetime]
"""Now, as an aware datetime (compared with the leases the outbox hands out)."""

USER_AGENT = "recovery-webhooks/1"
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_TIMEOUT = 10.0
LOST = "lost"
SKIPPED = "skipped"
_SNIPPET = 200
_MAX_ANSWER = 64 * 1024
LOG_KEPT = timedelta(days=30)  # the endpoints' delivery log: how long an attempt is kept
_PRUNE_EVERY = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DeliveryStats:
    """What a pass did. `failed`: a retry is scheduled; `lost`: our lease ran out and
    another worker claimed the message before we reported (its outcome stands);
    `skipped`: claimed with too little lease left to attempt it (it will be retried)."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0
    skipped: int = 0
    requests: int = 0

    def __add__(self, other: DeliveryStats) -> DeliveryStats:
        return DeliveryStats(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Response:
    error: str | None
    retry_after: timedelta | None = None
    status_code: int | None = None
    duration_ms: int = 0


class Deliverer:
    """Delivers the `outbox` to `targets` and to the endpoints registered in `endpoints`
    (read again on every pass). One per worker thread; several workers (threads or
    processes, each with its own outbox store) can share a database.

    `lease` is how long a claim lasts: a worker killed after claiming holds its messages
    that long, then another worker retries them. It must outlast the HTTP requests of a
    claimed batch, so batches are sized to fit: each request may take about
    3 × `timeout` (connect, send, answer). When registered endpoints make a message's
    requests outlast `lease`, the claims of that pass are held longer.
    """

    def __init__(
        self,
        outbox: OutboxStore,
        targets: Sequence[WebhookTarget],
        *,
        clock: Clock = utc_now,
        policy: RetryPolicy | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch_size: int = 20,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        rng: random.Random | None = None,
        endpoints: EndpointStore | None = None,
    ) -> None:
        if not targets and endpoints is None:
            raise ValueError("no webhook targets configured: nothing to deliver to")
        if batch_size < 1 or timeout <= 0:
            raise ValueError("batch_size must be at least 1 and timeout positive")
        self.configured = list(targets)
        self.targets = list(targets)
        self.endpoints = endpoints
        self._pruned_at: datetime | None = None
        self._batch_size = batch_size
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.timeout = timeout
        self._request_budget = timedelta(seconds=3 * timeout)
        most = self._request_budget * max(1, len(self.targets))
        if lease <= most:
            raise ValueError(
                f"a lease of {lease.total_seconds():g} s cannot cover one message's requests "
                f"({len(self.targets)} target(s) × 3 × {timeout:g} s timeout); lengthen it"
            )
        self.batch_size = max(1, min(batch_size, int(lease / most)))
        self._base_lease = lease
        self._clock = clock
        self._rng = rng or random.Random()
        self._outbox = outbox
        self._own_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout), follow_redirects=False
        )
        self.wanted: list[Wanted] | None = None
        self._aim()

    def _aim(self) -> None:
        """What to claim, from the targets: only what some target wants; the rest waits,
        pending, for its target."""
        unfiltered = any(
            t.kinds is None and t.sites is None and t.since is None for t in self.targets
        )
        # one condition per filter, not per target: many endpoints share a few filters
        earliest: dict[tuple[frozenset[str] | None, frozenset[str] | None], datetime | None] = {}
        for t in self.targets:
            key = (_frozen(t.kinds), _frozen(t.sites))
            if key not in earliest:
                earliest[key] = t.since
            else:
                seen = earliest[key]
                earliest[key] = None if seen is None or t.since is None else min(seen, t.since)
        self.wanted = None if unfiltered else [(k, s, since) for (k, s), since in earliest.items()]

    def refresh(self) -> None:
        """Read the registered endpoints again (each pass does: one small read), and size
        the lease and the batches to the targets."""
        if self.endpoints is None:
            return
        now = self._clock()
        self.targets = self.configured + [e.target(now) for e in self.endpoints.active()]
        most = self._request_budget * max(1, len(self.targets))
        self.lease = max(self._base_lease, most * 2)
        self.batch_size = max(1, min(self._batch_size, int(self.lease / most)))
        self._aim()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ work

    def deliver_due(self, *, limit: int | None = None) -> DeliveryStats:
        """Claim and deliver batches until nothing is due (or `limit` messages claimed)."""
        stats = DeliveryStats()
        self.refresh()
        if not self.targets:
            return stats
        while limit is None or stats.claimed < limit:
            size = self.batch_size if limit is None else min(self.batch_size, limit - stats.claimed)
            claims, abandoned = self._claim(size)
            stats.claimed += len(claims)
            stats.dead += abandoned
            if not claims and not abandoned:
                break
            for claim in claims:
                self.deliver(claim, stats)
        return stats

    def claim(self, limit: int | None = None) -> list[Claim]:
        """Claim up to `limit` due messages for this worker (`deliver` each afterwards)."""
        self.refresh()
        return self._claim(limit or self.batch_size)[0]

    def _claim(self, limit: int) -> tuple[list[Claim], int]:
        claims, abandoned = self._outbox.claim(
            self._clock(),
            limit=limit,
            lease=self.lease,
            max_attempts=self.policy.max_attempts,
            wanted=self.wanted,
        )
        if abandoned:
            log.warning(
                "%d webhook message(s) dead: their worker vanished on the last attempt", abandoned
            )
        return claims, abandoned

    def deliver(self, claim: Claim, stats: DeliveryStats | None = None) -> str:
        """POST one claimed message to every target that wants it and record the outcome;
        return the status recorded (delivered, failed, dead), or lost / skipped."""
        stats = stats if stats is not None else DeliveryStats()
        wanting = [t for t in self.targets if t.wants(claim.kind, claim.site, claim.created_at)]
        if not wanting and self.endpoints is None:
            raise ValueError(
                f"no target of this worker wants {claim.kind!r} messages of {claim.site!r}"
            )
        # (with endpoints, none left: the only one that wanted it was deleted meanwhile)
        accepted = set(claim.accepted_by)
        targets = [t for t in wanting if t.name not in accepted]  # a retry skips those
        if self._clock() + self._request_budget * len(targets) > claim.lease_until:
            stats.skipped += 1
            log.warning("webhook message %d: lease nearly over, left for a retry", claim.id)
            return SKIPPED
        errors: list[str] = []
        waits: list[timedelta] = []
        logged: list[Attempt] = []
        try:
            body = envelope(claim)
            for target in targets:
                stats.requests += 1
                response = self._post(target, claim, body)
                if response.error is None:
                    accepted.add(target.name)
                else:
                    errors.append(response.error)
                if response.retry_after is not None:
                    waits.append(response.retry_after)
                if target.key is not None and self.endpoints is not None:
                    logged.append(_attempt(target.key, claim, response, self._clock()))
        except Exception as exc:  # one bad message must not stop the others
            log.exception("webhook message %d could not be sent", claim.id)
            errors.append(f"{type(exc).__name__}: {exc}")
        now = self._clock()
        if logged and self.endpoints is not None:
            self.endpoints.log(logged, prune_before=self._prune_before(now))
        if not errors:
            outcome = DELIVERED
            held = self._outbox.mark_delivered(claim, now, accepted)
        else:
            error = f"attempt {claim.attempt}: " + "; ".join(errors)
            if self.policy.is_last(claim.attempt):
                outcome = DEAD
                held = self._outbox.mark_failed(claim, error, None, accepted)
            else:
                outcome = FAILED
                wait = self.policy.delay(claim.attempt, self._rng, max(waits, default=None))
                held = self._outbox.mark_failed(claim, error, now + wait, accepted)
        if not held:
            stats.lost += 1
            log.warning(
                "webhook message %d: claim ran out before the outcome (%s) was recorded; "
                "it is no longer ours",
                claim.id,
                outcome,
            )
            return LOST
        if outcome == DELIVERED:
            stats.delivered += 1
        elif outcome == FAILED:
            stats.failed += 1
            log.info("webhook message %d will be retried: %s", claim.id, errors[0])
        else:
            stats.dead += 1
            log.warning(
                "webhook message %d is dead after %d attempts: %s",
                claim.id,
                claim.attempt,
                errors[0],
            )
        return outcome

    def _prune_before(self, now: datetime) -> datetime | None:
        """Once an hour per worker: where the delivery log is cut."""
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return None
        self._pruned_at = now
        return now - LOG_KEPT

    def _post(self, target: WebhookTarget, claim: Claim, body: bytes) -> _Response:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: claim.event,
            DELIVERY_HEADER: str(claim.id),
            ATTEMPT_HEADER: str(claim.attempt),
            TIMESTAMP_HEADER: str(int(self._clock().timestamp())),
            SIGNATURE_HEADER: sign(body, *target.secrets),
        }
        started = time.monotonic()

        def took() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            with self._client.stream("POST", target.url, content=body, headers=headers) as resp:
                answer = _drain(resp)
                if resp.is_success:
                    return _Response(None, status_code=resp.status_code, duration_ms=took())
                snippet = " ".join(answer[:_SNIPPET].decode("utf-8", "replace").split())
                return _Response(
                    f"{target.url}: HTTP {resp.status_code}" + (f": {snippet}" if snippet else ""),
                    _retry_after(resp, self._clock()),
                    status_code=resp.status_code,
                    duration_ms=took(),
                )
        except httpx.HTTPError as exc:
            return _Response(
                f"{target.url}: {type(exc).__name__}: {exc}".rstrip(": "), duration_ms=took()
            )


def _frozen(values: Collection[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def _attempt(key: str, claim: Claim, response: _Response, at: datetime) -> Attempt:
    return Attempt(
        endpoint_id=key.removeprefix("ep:"),
        message_id=claim.id,
        attempt=claim.attempt,
        status_code=response.status_code,
        error=response.error,
        duration_ms=response.duration_ms,
        at=at,
    )


def envelope(claim: Claim) -> bytes:
    """The request body: canonical JSON (sorted keys), the same bytes on every attempt."""
    return canonical(
        {
            "delivery_id": claim.id,
            "event": claim.event,
            "incident_id": claim.incident_id,
            "seq": claim.seq,
            "kind": claim.kind,
            "created_at": iso(claim.created_at),
            "effect": orjson.loads(claim.payload),
        }
    )


def _drain(response: httpx.Response) -> bytes:
    """Read a small answer whole, so the connection can be reused; stop at a big one."""
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > _MAX_ANSWER:
                break
    except httpx.HTTPError:
        pass
    return data


def _retry_after(response: httpx.Response, now: datetime) -> timedelta | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        wait = parsedate_to_datetime(value) - now
    except (TypeError, ValueError):
        return None
    return wait if wait > timedelta(0) else None
