"""Playbook YAML, read defensively: whatever the text, a located `PlaybookError` or data.

PyYAML's safe loader, tightened for files people edit by hand: a duplicate key is refused
(YAML keeps the last one silently, so a step's second `due:` would win unseen), nesting
and node counts are bounded before Python's recursion limit is near, integers are
bounded before Python converts them (a 5,000-digit version), and aliases are refused (an
alias expands for every reader: a few lines can stand for billions of nodes).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from recovery.errors import PlaybookError, Problem

MAX_FILE_BYTES = 1024 * 1024
# The deepest real path is ~7 levels (kinds.K.evidence.ACTION[i].choices[j]).
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_INT_DIGITS = 15


class _Refused(yaml.MarkedYAMLError):
    def __init__(self, problem: str, node_or_event: Any) -> None:
        super().__init__(problem=problem, problem_mark=node_or_event.start_mark)


class PlaybookLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` with the bounds above and duplicate keys refused."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                f"aliases (*{event.anchor}) are not supported in playbooks; write the value out",
                event,
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES:,} values; a playbook is far smaller", event)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise _Refused(
                        f"duplicate key {key_node.value!r} (first at line {seen[key]}); "
                        "YAML would silently keep only the last one",
                        key_node,
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(c.isalnum() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _Refused(f"a number of {digits} digits is out of range", node)
        return super().construct_yaml_int(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. a date 2026-13-45
            raise _Refused(f"cannot read this value: {exc}", node) from None


PlaybookLoader.add_constructor("tag:yaml.org,2002:int", PlaybookLoader.construct_yaml_int)


def load_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """The data of one YAML document, and the line of each field path in it (for messages:
    `steps[2].due` -> 14)."""
    loader: PlaybookLoader | None = None
    try:
        loader = PlaybookLoader(text)  # reads the text: refuses control characters
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or str(exc)
        raise PlaybookError([Problem(source, where, f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:  # e.g. a control character (a binary file)
        raise PlaybookError([Problem(source, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:  # not reached within MAX_DEPTH; kept so no input can crash
        raise PlaybookError([Problem(source, "", "not valid YAML: nested too deep")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[str, int] = {}
    if node is not None:
        _collect_lines(node, "", lines)
    return data, lines


def _collect_lines(node: Node, path: str, lines: dict[str, int]) -> None:
    """Field path (as `format_location` writes it) -> line number, iteratively."""
    stack: list[tuple[Node, str]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if where:
            lines.setdefault(where, current.start_mark.line + 1)
        if isinstance(current, MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, ScalarNode):
                    key = str(key_node.value)
                    child = f"{where}.{key}" if where else key
                    lines.setdefault(child, key_node.start_mark.line + 1)
                    stack.append((value_node, child))
        elif isinstance(current, SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, f"{where}[{index}]"))
