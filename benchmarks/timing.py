"""The latency of a read that returns incident views, as the board and search benchmarks
measure it: the wall time of the call and of serialising each view as the API answers it,
in ms; and the median and 99th percentile (nearest rank) of many such times."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def timed_views(read: Callable[[], Sequence[Any]]) -> tuple[float, int]:
    """Milliseconds to call `read` and turn every view it returns into JSON; how many."""
    started = time.perf_counter()
    views = read()
    for view in views:
        view.to_json()  # as the API answers it
    return (time.perf_counter() - started) * 1000, len(views)


def median_p99(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
