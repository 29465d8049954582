"""`/metrics` in the Prometheus text format (prometheus_client).

On the hot path a request costs a histogram observation and, for a command, a counter
increment: no database read. The backlog figures (outbox depth, oldest pending deadline,
letters queued) are read when scraped, each from one indexed statement, and kept for
`cache_seconds` so many scrapers cost the database no more than one. Each process counts
its own requests: with several `recovery serve` processes, scrape each of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recovery.service.ports import Backlog, Storage

# outcomes of a command, from its answer: taken, refused by the rules or the caller's
# input, or lost to a concurrent writer (409 with error "conflict")
OK, REFUSED, CONFLICT = "ok", "refused", "conflict"


class BacklogCollector(Collector):
    """The backlog gauges, read at most once per `cache_seconds` (a failed read is not
    cached: the gauges are then left out and `recovery_backlog_up` is 0)."""

    def __init__(
        self, storage: Storage, clock: Callable[[], datetime], cache_seconds: float = 5.0
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._backlog: Backlog | None = None

    def _current(self) -> Backlog | None:
        with self._lock:
            if time.monotonic() - self._read_at >= self._cache_seconds:
                try:
                    self._backlog = self._storage.backlog()
                    self._read_at = time.monotonic()
                except Exception:
                    self._backlog = None
            return self._backlog

    def collect(self) -> Iterator[Metric]:
        backlog = self._current()
        yield GaugeMetricFamily(
            "recovery_backlog_up",
            "1 if the backlog figures below could be read",
            backlog is not None,
        )
        if backlog is None:
            return
        yield GaugeMetricFamily(
            "recovery_outbox_pending",
            "webhook messages not yet delivered nor given up",
            backlog.outbox_pending,
        )
        yield GaugeMetricFamily(
            "recovery_letters_queued", "letters not yet sent nor given up", backlog.letters_queued
        )
        age = 0.0
        if backlog.oldest_due_at is not None:
            age = max(0.0, (self._clock() - backlog.oldest_due_at).total_seconds())
        yield GaugeMetricFamily(
            "recovery_oldest_due_age_seconds",
            "how long past due the earliest step deadline of an active incident is (0: none due)",
            age,
        )

    def describe(self) -> Iterable[Metric]:
        return ()  # read only when scraped, never at registration


class Metrics:
    """One process's counters, in a registry of their own (several apps in one process,
    as in tests, do not mix)."""

    def __init__(self, storage: Storage, clock: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "recovery_commands",
            "commands answered, by type and outcome (ok, refused, conflict)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recovery_request_duration_seconds",
            "time to the first byte of the answer, by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(BacklogCollector(storage, clock))


def command_type(method: str, route: str, params: dict[str, str]) -> str | None:
    """The command a request is, or None for a read: POSTs on an incident's routes."""
    if method != "POST" or not route.startswith("/incidents"):
        return None
    if route == "/incidents":
        return "open"
    if "action" in params:
        return params["action"]
    return route.rsplit("/", 1)[-1]


class MeasureRequests:
    """ASGI middleware: each request's latency under its route template (never the raw
    path: ids would make a series per incident) and each command's outcome."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer: dict[str, object] = {}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["seconds"] = time.perf_counter() - started
            elif message["type"] == "http.response.body" and "conflict" not in answer:
                # the error body's first key is its code (errors.RecoveryError.to_dict)
                answer["conflict"] = message.get("body", b"").startswith(b'{"error":"conflict"')
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, answer)

    def _record(self, scope: Scope, answer: dict[str, object]) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        seconds = answer.get("seconds")
        if isinstance(seconds, float):
            self.metrics.latency.labels(method, route).observe(seconds)
        kind = command_type(method, route, scope.get("path_params") or {})
        status = answer.get("status")
        if kind is None or not isinstance(status, int) or status >= 500 or status in (401, 404):
            return  # not a command, or one that never reached the rules
        outcome = OK if status < 300 else CONFLICT if answer.get("conflict") else REFUSED
        self.metrics.commands.labels(kind, outcome).inc()
