"""State diagrams drawn on the server as inline SVG: no JavaScript, no library, prints well.

A lifecycle is small (a handful of states), so a plain layered layout reads well: states
in columns by their longest distance from the initial state; a transition to the next
column is a straight arrow, a longer one arcs over (or under) the states it passes, a
transition back runs along a lane above or below the diagram, and one that keeps the state
is a loop on top of it. Colours and fonts come from the page's stylesheet (classes only:
the pages' Content-Security-Policy allows no inline style).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

NODE_H = 40
ROW_PITCH = 76
LANE_GAP = 26
CHAR_W = 7.0
LINE_H = 14
LEFT = 44
MARGIN = 14


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    system: bool = False


@dataclass
class _Edge:
    src: str
    dst: str
    labels: list[str] = field(default_factory=list)
    system: bool = True  # every trigger on the edge is a system one


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def hit(self, x: float, y: float, pad: float = 6) -> bool:
        return (
            self.x - pad <= x <= self.x + self.w + pad
            and self.y - pad <= y <= self.y + self.h + pad
        )


class _Canvas:
    """SVG fragments with the vertical extent they use (the picture is shifted to fit)."""

    def __init__(self) -> None:
        self.back: list[str] = []
        self.front: list[str] = []
        self.top = 0.0
        self.bottom = 0.0
        self.right = 0.0

    def extend(self, *ys: float) -> None:
        self.top = min(self.top, *ys)
        self.bottom = max(self.bottom, *ys)

    def label(self, x: float, y: float, lines: Sequence[str]) -> None:
        """Text lines centred on x, the block's top at y, on a white ground."""
        width = max(len(line) for line in lines) * CHAR_W + 8
        height = len(lines) * LINE_H + 4
        self.extend(y, y + height)
        self.right = max(self.right, x + width / 2)
        self.front.append(
            f'<rect class="dg-label-bg" x="{x - width / 2:.1f}" y="{y:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}" rx="3"/>'
        )
        for i, line in enumerate(lines):
            self.front.append(
                f'<text class="dg-label" x="{x:.1f}" y="{y + 13 + i * LINE_H:.1f}" '
                f'text-anchor="middle">{escape(line)}</text>'
            )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "diagram"


def _edges(transitions: Iterable[Transition]) -> tuple[list[_Edge], dict[str, _Edge]]:
    moves: dict[tuple[str, str], _Edge] = {}
    loops: dict[str, _Edge] = {}
    for t in transitions:
        for src in t.sources:
            if src == t.dest:
                edge = loops.setdefault(src, _Edge(src, src))
            else:
                edge = moves.setdefault((src, t.dest), _Edge(src, t.dest))
            if t.trigger not in edge.labels:
                edge.labels.append(t.trigger)
            edge.system = edge.system and t.system
    return list(moves.values()), loops


def _back_edges(states: Sequence[str], initial: str, edges: list[_Edge]) -> set[tuple[str, str]]:
    """Edges that close a cycle in a depth-first walk from the initial state."""
    order = {s: i for i, s in enumerate(states)}
    out: dict[str, list[str]] = {s: [] for s in states}
    for e in edges:
        out[e.src].append(e.dst)
    for targets in out.values():
        targets.sort(key=lambda s: order[s])
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    on_stack: set[str] = set()

    def walk(node: str) -> None:
        seen.add(node)
        on_stack.add(node)
        for nxt in out[node]:
            if nxt in on_stack:
                back.add((node, nxt))
            elif nxt not in seen:
                walk(nxt)
        on_stack.discard(node)

    for start in [initial, *states]:
        if start not in seen:
            walk(start)
    return back


def _layers(
    states: Sequence[str], edges: list[_Edge], back: set[tuple[str, str]]
) -> list[list[str]]:
    """Longest-path layering of the acyclic part, ordered to keep neighbours near."""
    preds: dict[str, list[str]] = {s: [] for s in states}
    for e in edges:
        if (e.src, e.dst) not in back:
            preds[e.dst].append(e.src)
    layer: dict[str, int] = {}

    def depth(node: str, trail: frozenset[str]) -> int:
        if node in layer:
            return layer[node]
        parents = [p for p in preds[node] if p not in trail]
        value = 0 if not parents else 1 + max(depth(p, trail | {node}) for p in parents)
        layer[node] = value
        return value

    for s in states:
        depth(s, frozenset())
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=0) + 1)]
    for s in states:
        columns[layer[s]].append(s)
    position = {s: float(i) for i, s in enumerate(columns[0])}
    order = {s: i for i, s in enumerate(states)}
    for column in columns[1:]:

        def centre(node: str) -> float:
            known = [position[p] for p in preds[node] if p in position]
            return sum(known) / len(known) if known else float(order[node])

        column.sort(key=lambda s: (centre(s), order[s]))
        for i, s in enumerate(column):
            position[s] = float(i)
    return [c for c in columns if c]


def _bezier(
    p0: tuple[float, float],
    p1: tuple[float, float],
    p2: tuple[float, float],
    p3: tuple[float, float],
    t: float,
) -> tuple[float, float]:
    u = 1 - t
    x = u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0]
    y = u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]
    return x, y


def lifecycle_svg(
    title: str,
    states: Sequence[str],
    transitions: Sequence[Transition],
    *,
    initial: str,
    resolved: Iterable[str] = (),
    current: str | None = None,
    name: Callable[[str], str] = str,
    described: str | None = None,
) -> Markup:
    """An SVG picture of one state machine (`current` is drawn highlighted): a state is
    shown as `name(state)` (a transition as its trigger), and `described` is the text
    alternative (by default the states and transitions as they are)."""
    uid = _slug(title)
    done = set(resolved)
    edges, loops = _edges(transitions)
    back = _back_edges(states, initial, edges)
    columns = _layers(states, edges, back)
    node_w = max(110.0, max(len(name(s)) for s in states) * CHAR_W + 28)
    widest = max((len(t) for e in edges for t in e.labels), default=4)
    gap = max(100.0, widest * CHAR_W + 44)
    rows = max(len(c) for c in columns)
    boxes: dict[str, _Box] = {}
    for col, members in enumerate(columns):
        offset = (rows - len(members)) * ROW_PITCH / 2
        for row, state in enumerate(members):
            boxes[state] = _Box(
                LEFT + col * (node_w + gap), offset + row * ROW_PITCH, node_w, NODE_H
            )
    middle = (rows - 1) * ROW_PITCH / 2 + NODE_H / 2
    canvas = _Canvas()
    canvas.extend(0, (rows - 1) * ROW_PITCH + NODE_H)
    marker = f"dg-arrow-{uid}"
    arrow = f'marker-end="url(#{marker})"'

    def css(e: _Edge) -> str:
        return "dg-edge dg-system" if e.system else "dg-edge"

    # entry dot
    first = boxes[initial]
    canvas.back.append(
        f'<circle class="dg-start" cx="{first.x - 26:.1f}" cy="{first.cy:.1f}" r="6"/>'
    )
    canvas.back.append(
        f'<path class="dg-edge" d="M{first.x - 20:.1f},{first.cy:.1f} '
        f'L{first.x - 2:.1f},{first.cy:.1f}" {arrow}/>'
    )

    # a state with a loop also owns the space of the loop above it
    obstacles = {
        s: _Box(
            b.x,
            b.y - (44 + len(loops[s].labels) * LINE_H if s in loops else 0),
            b.w,
            b.h + (44 + len(loops[s].labels) * LINE_H if s in loops else 0),
        )
        for s, b in boxes.items()
    }
    ends: dict[tuple[str, bool], int] = {}

    def end(state: str, top: bool, leaving: bool) -> tuple[float, float]:
        n = ends.get((state, top), 0)
        ends[(state, top)] = n + 1
        box = boxes[state]
        x = box.x + box.w - 14 - 12 * n if leaving else box.x + 14 + 12 * n
        return x, (box.y - (0 if leaving else 2)) if top else (
            box.y + box.h + (0 if leaving else 2)
        )

    lanes: list[_Edge] = []
    for e in sorted(edges, key=lambda e: abs(boxes[e.dst].x - boxes[e.src].x)):
        a, b = boxes[e.src], boxes[e.dst]
        if (e.src, e.dst) in back or b.x <= a.x:
            lanes.append(e)
            continue
        p0, p3 = (a.x + a.w, a.cy), (b.x - 2, b.cy)
        between = [
            obstacles[s]
            for s, box in boxes.items()
            if s not in (e.src, e.dst) and a.x < box.x < b.x
        ]
        straight = not any(
            box.hit(p0[0] + (p3[0] - p0[0]) * i / 40, p0[1] + (p3[1] - p0[1]) * i / 40)
            for box in between
            for i in range(1, 40)
        )
        if straight:
            canvas.back.append(
                f'<path class="{css(e)}" d="M{p0[0]:.1f},{p0[1]:.1f} '
                f'L{p3[0]:.1f},{p3[1]:.1f}" {arrow}/>'
            )
            lines = e.labels
            canvas.label((p0[0] + p3[0]) / 2, (p0[1] + p3[1]) / 2 - 6 - len(lines) * LINE_H, lines)
            continue
        above = b.cy < a.cy or (b.cy == a.cy and a.cy <= middle)
        p0, p3 = end(e.src, above, True), end(e.dst, above, False)
        edge_y = min(bx.y for bx in between) if above else max(bx.y + bx.h for bx in between)
        reach = 24.0
        for _attempt in range(8):
            apex = (
                min(edge_y - reach, p0[1] - 24, p3[1] - 24)
                if above
                else max(edge_y + reach, p0[1] + 24, p3[1] + 24)
            )
            control = (apex - (p0[1] + p3[1]) / 8) * 4 / 3
            p1, p2 = (p0[0] + 30, control), (p3[0] - 30, control)
            points = [_bezier(p0, p1, p2, p3, i / 60) for i in range(1, 60)]
            if not any(box.hit(x, y) for box in between for x, y in points):
                break
            reach += 18
        canvas.extend(apex)
        canvas.back.append(
            f'<path class="{css(e)}" d="M{p0[0]:.1f},{p0[1]:.1f} C{p1[0]:.1f},{p1[1]:.1f} '
            f'{p2[0]:.1f},{p2[1]:.1f} {p3[0]:.1f},{p3[1]:.1f}" {arrow}/>'
        )
        mid_x = (p0[0] + p3[0]) / 2
        block = len(e.labels) * LINE_H + 4
        canvas.label(mid_x, apex - block - 2 if above else apex + 2, e.labels)

    for state, e in loops.items():
        box = boxes[state]
        x, top = box.cx, box.y
        canvas.back.append(
            f'<path class="{css(e)}" d="M{x - 16:.1f},{top:.1f} C{x - 30:.1f},{top - 40:.1f} '
            f'{x + 30:.1f},{top - 40:.1f} {x + 16:.1f},{top - 2:.1f}" {arrow}/>'
        )
        canvas.label(x, top - 32 - len(e.labels) * LINE_H, e.labels)

    attach: dict[tuple[str, bool], int] = {}

    def foot(state: str, up: bool) -> float:
        n = attach.get((state, up), 0)
        attach[(state, up)] = n + 1
        return boxes[state].cx + ((n + 1) // 2) * 14 * (1 if n % 2 else -1)

    top_lane, bottom_lane = canvas.top - 22, canvas.bottom + 22
    for e in lanes:
        a, b = boxes[e.src], boxes[e.dst]
        up = a.cy < middle
        xa, xb = foot(e.src, up), foot(e.dst, up)
        if up:
            y = top_lane
            top_lane -= LANE_GAP + LINE_H
            ya, yb, r = a.y, b.y - 2, -8.0
        else:
            y = bottom_lane
            bottom_lane += LANE_GAP + LINE_H
            ya, yb, r = a.y + a.h, b.y + b.h + 2, 8.0
        turn = 8.0 if xb > xa else -8.0
        canvas.extend(y)
        canvas.back.append(
            f'<path class="{css(e)}" d="M{xa:.1f},{ya:.1f} L{xa:.1f},{y - r:.1f} '
            f"Q{xa:.1f},{y:.1f} {xa + turn:.1f},{y:.1f} L{xb - turn:.1f},{y:.1f} "
            f'Q{xb:.1f},{y:.1f} {xb:.1f},{y - r:.1f} L{xb:.1f},{yb:.1f}" {arrow}/>'
        )
        text = [" / ".join(e.labels)]
        canvas.label((xa + xb) / 2, y - LINE_H - 6 if up else y + 2, text)

    for state in states:
        box = boxes[state]
        classes = ["dg-node"]
        if state == initial:
            classes.append("dg-initial")
        if state in done:
            classes.append("dg-resolved")
        if state == current:
            classes.append("dg-current")
        canvas.front.insert(
            0,
            f'<g class="{" ".join(classes)}"><rect x="{box.x:.1f}" y="{box.y:.1f}" '
            f'width="{box.w:.1f}" height="{box.h:.1f}" rx="10"/>'
            f'<text x="{box.cx:.1f}" y="{box.cy + 4.5:.1f}" text-anchor="middle">'
            f"{escape(name(state))}</text></g>",
        )

    width = max(max(b.x + b.w for b in boxes.values()), canvas.right) + 24
    shift = MARGIN - canvas.top
    height = canvas.bottom - canvas.top + 2 * MARGIN
    if described is None:
        moves = "; ".join(
            f"{t.trigger} from {', '.join(t.sources)} to {t.dest}" for t in transitions
        )
        described = f"States: {', '.join(states)}. Transitions: {moves}."
    return Markup(
        f'<svg class="diagram" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="{uid}-title {uid}-desc">'
        f'<title id="{uid}-title">{escape(title)}</title>'
        f'<desc id="{uid}-desc">{escape(described)}</desc>'
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="dg-arrowhead" '
        'd="M0,0 L10,5 L0,10 z"/></marker></defs>'
        f'<g transform="translate(0 {shift:.1f})">'
        + "".join(canvas.back)
        + "".join(canvas.front)
        + "</g></svg>"
    )
