"""The playbook catalog: load playbook files, validate them, compile each version once.

Loading is all-or-nothing: if any file is invalid the catalog refuses to load and the
`PlaybookError` lists every problem with its file and field path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recovery.domain.compiler import CompiledPlaybook, compile_playbook
from recovery.domain.playbook import Playbook
from recovery.domain.playbook_yaml import MAX_FILE_BYTES, load_yaml
from recovery.domain.validation import validate_playbook
from recovery.errors import PlaybookError, Problem, UnknownPlaybookError

PLAYBOOK_SUFFIXES = (".yaml", ".yml")


def default_playbook_dir() -> Path:
    """`playbooks/` of a source checkout, else the copy bundled in the installed package."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "playbooks", here / "_bundled" / "playbooks"):
        if candidate.is_dir():
            return candidate
    return here.parent / "playbooks"


def load_file(path: Path) -> Playbook:
    """Read, parse and validate one playbook file. Every problem, however broken the file
    (binary, huge, deeply nested, not UTF-8), is a located `PlaybookError`, never a crash."""
    return parse_playbook(read_text(path), str(path), authoring=True)


def read_text(path: Path) -> str:
    """The file's text, refused before parsing when it is too big or not UTF-8 text."""
    source = str(path)
    if path.exists() and not path.is_file():  # a pipe or a device would never end
        raise PlaybookError([Problem(source, "", "not a regular file")])
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # never more, whatever the file claims
    except OSError as exc:
        raise PlaybookError([Problem(source, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise PlaybookError(
            [
                Problem(
                    source,
                    "",
                    f"the file is over {MAX_FILE_BYTES:,} bytes; a playbook is far smaller",
                )
            ]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PlaybookError(
            [
                Problem(
                    source,
                    f"line {line}",
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                    "save the playbook as UTF-8",
                )
            ]
        ) from None


def parse_playbook(text: str, source: str, *, authoring: bool = False) -> Playbook:
    """Parse YAML text and validate it. `authoring` adds the checks meant for files people
    write (roles spelt as known, every kind able to finish); see `validate_playbook`."""
    if len(text) > MAX_FILE_BYTES:
        raise PlaybookError([Problem(source, "", f"over {MAX_FILE_BYTES:,} characters")])
    data, lines = load_yaml(text, source)
    try:
        return validate_playbook(data, source, authoring=authoring)
    except PlaybookError as exc:
        raise PlaybookError([_with_line(p, lines) for p in exc.problems]) from None


def _with_line(problem: Problem, lines: dict[str, int]) -> Problem:
    """Add the line of the problem's field (or of its nearest parent the file has)."""
    location = problem.location
    while location:
        line = lines.get(location)
        if line is not None:
            return Problem(problem.source, problem.location, f"{problem.message} (line {line})")
        cut = max(location.rfind("."), location.rfind("["))
        location = location[:cut] if cut > 0 else ""
    return problem


class Catalog:
    """Playbooks by (id, version); the newest version of each id serves new incidents."""

    def __init__(self, playbooks: Iterable[Playbook] = ()) -> None:
        self._compiled: dict[tuple[str, int], CompiledPlaybook] = {}
        self._sources: dict[tuple[str, int], str] = {}
        # Versions known only to replay recorded incidents: never served to new ones.
        self._replay_only: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        for playbook in playbooks:
            self.add(playbook)

    @classmethod
    def from_directory(cls, directory: Path | str | None = None) -> Catalog:
        folder = Path(directory) if directory is not None else default_playbook_dir()
        if not folder.is_dir():
            raise PlaybookError([Problem(str(folder), "", "no such playbook folder")])
        files = sorted(p for p in folder.iterdir() if p.suffix in PLAYBOOK_SUFFIXES)
        problems: list[Problem] = []
        loaded: list[tuple[Playbook, str]] = []
        for path in files:
            try:
                loaded.append((load_file(path), str(path)))
            except PlaybookError as exc:
                problems.extend(exc.problems)
        catalog = cls()
        for playbook, source in loaded:
            if playbook.key in catalog._sources:
                problems.append(
                    Problem(
                        source,
                        "version",
                        f"{playbook.id} v{playbook.version} is also defined in "
                        f"{catalog._sources[playbook.key]}",
                    )
                )
                continue
            catalog.add(playbook, source)
        if problems:
            raise PlaybookError(problems)
        return catalog

    def add(self, playbook: Playbook, source: str = "<memory>") -> CompiledPlaybook:
        with self._lock:
            compiled = self._compiled.get(playbook.key)
            if compiled is None:
                compiled = compile_playbook(playbook)
                self._compiled[playbook.key] = compiled
                self._sources[playbook.key] = source
            return compiled

    def add_definition(self, definition: dict[str, Any], source: str) -> CompiledPlaybook:
        """Compile a stored definition to replay incidents pinned to it. It is never served
        to new incidents: what a process reads must not change what it opens."""
        playbook = validate_playbook(definition, source, stored=True)
        with self._lock:
            if playbook.key not in self._compiled:
                self._replay_only.add(playbook.key)
        return self.add(playbook, source)

    def _servable(self) -> list[tuple[str, int]]:
        return [key for key in self._compiled if key not in self._replay_only]

    def get(self, playbook_id: str, version: int | None = None) -> CompiledPlaybook:
        if version is not None:
            compiled = self._compiled.get((playbook_id, version))
            if compiled is None:
                raise UnknownPlaybookError(f"no playbook {playbook_id!r} version {version}")
            return compiled
        versions = [v for (pid, v) in self._servable() if pid == playbook_id]
        if not versions:
            known = ", ".join(sorted({pid for pid, _ in self._servable()}))
            raise UnknownPlaybookError(f"no playbook {playbook_id!r}; known: {known}")
        return self._compiled[(playbook_id, max(versions))]

    def has(self, playbook_id: str, version: int) -> bool:
        return (playbook_id, version) in self._compiled

    def for_incident_type(self, incident_type: str) -> CompiledPlaybook:
        newest: dict[str, CompiledPlaybook] = {}
        for compiled in (self._compiled[key] for key in self._servable()):
            if incident_type in compiled.playbook.incident_types:
                current = newest.get(compiled.playbook.id)
                if current is None or compiled.playbook.version > current.playbook.version:
                    newest[compiled.playbook.id] = compiled
        if not newest:
            raise UnknownPlaybookError(
                f"no playbook handles incident type {incident_type!r}; "
                f"known types: {', '.join(self.incident_types())}"
            )
        if len(newest) > 1:
            raise UnknownPlaybookError(
                f"several playbooks handle {incident_type!r} ({', '.join(sorted(newest))}); "
                "name one with 'playbook'"
            )
        return next(iter(newest.values()))

    def incident_types(self) -> list[str]:
        servable = (self._compiled[key] for key in self._servable())
        return sorted({t for c in servable for t in c.playbook.incident_types})

    def latest(self) -> list[CompiledPlaybook]:
        return [self.get(pid) for pid in sorted({pid for pid, _ in self._servable()})]

    def all_versions(self) -> list[CompiledPlaybook]:
        """Every version this catalog can serve, by id then version."""
        return [self._compiled[key] for key in sorted(self._servable())]

    def source_of(self, playbook_id: str, version: int) -> str:
        return self._sources.get((playbook_id, version), "<unknown>")
