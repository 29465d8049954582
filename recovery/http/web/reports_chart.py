"""Bar charts drawn on the server as inline SVG: no script, readable by screen readers
(a title and a description; the page puts the numbers in a table beside each chart)."""

from __future__ import annotations

from dataclasses import dataclass

from recovery.domain.words import say

WIDTH = 640
HEIGHT = 180
PAD_LEFT = 36
PAD_BOTTOM = 28
PAD_TOP = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Chart:
    title: str
    desc: str
    bars: list[Bar]
    top: float
    unit: str
    width: int = WIDTH
    height: int = HEIGHT
    pad_left: int = PAD_LEFT
    baseline: float = HEIGHT - PAD_BOTTOM
    every: int = 1  # label every n-th bar, so labels do not overlap

    @property
    def empty(self) -> bool:
        return all(bar.value is None for bar in self.bars)

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower())


def bar_chart(
    title: str,
    desc: str,
    labels: list[str],
    values: list[float | None],
    *,
    unit: str,
    top: float | None = None,
) -> Chart:
    """One bar per label; a None value draws no bar (nothing to measure that week)."""
    known = [v for v in values if v is not None]
    scale_top = top if top is not None else max([1.0, *known])
    plot_height = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(1, len(labels))
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = 0.0 if value is None else plot_height * max(0.0, value) / scale_top
        shown = say("no data") if value is None else f"{value:g}{unit}"
        bars.append(
            Bar(
                x=round(PAD_LEFT + i * slot + slot * 0.15, 1),
                y=round(HEIGHT - PAD_BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=label,
                value=value,
                text=say("{week}: {value}", week=label, value=shown),
            )
        )
    every = max(1, len(labels) // 8)
    return Chart(title, desc, bars, scale_top, unit, every=every)
