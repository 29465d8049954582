"""The sites' calendars: load the site files of a folder, validate them, all or nothing.

A site without a file keeps the default calendar (UTC, always open): its deadlines are
the elapsed time they always were.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from recovery.domain.calendar import ALWAYS_OPEN, BusinessCalendar
from recovery.domain.sites import validate_site
from recovery.errors import CalendarError, Problem

SITE_SUFFIXES = (".yaml", ".yml")
MAX_SITE_FILE_BYTES = 256 * 1024


def default_sites_dir() -> Path:
    """`sites/` of a source checkout, else the copy bundled in the installed package."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "sites", here / "_bundled" / "sites"):
        if candidate.is_dir():
            return candidate
    return here.parent / "sites"


def load_site_file(path: Path) -> BusinessCalendar:
    source = str(path)
    try:
        if path.stat().st_size > MAX_SITE_FILE_BYTES:
            raise CalendarError([Problem(source, "", "larger than 256 KiB")])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError([Problem(source, "", f"cannot read: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CalendarError([Problem(source, where, f"not valid YAML: {problem}")]) from None
    return validate_site(data, source)


class Sites:
    """Each site's calendar by name; `calendar(site)` is the default for unknown sites."""

    def __init__(self, calendars: Iterable[BusinessCalendar] = ()) -> None:
        self._calendars = {c.site: c for c in calendars}

    @classmethod
    def from_directory(cls, directory: Path | str | None = None) -> Sites:
        folder = Path(directory) if directory is not None else default_sites_dir()
        if not folder.is_dir():
            if directory is None:
                return cls()  # an installation without shipped sites: every site default
            raise CalendarError([Problem(str(folder), "", "no such sites folder")])
        problems: list[Problem] = []
        found: dict[str, tuple[BusinessCalendar, str]] = {}
        for path in sorted(p for p in folder.iterdir() if p.suffix in SITE_SUFFIXES):
            try:
                calendar = load_site_file(path)
            except CalendarError as exc:
                problems.extend(exc.problems)
                continue
            if calendar.site in found:
                other = found[calendar.site][1]
                problems.append(Problem(str(path), "site", f"{calendar.site} is also in {other}"))
                continue
            found[calendar.site] = (calendar, str(path))
        if problems:
            raise CalendarError(problems)
        return cls(calendar for calendar, _ in found.values())

    def calendar(self, site: str) -> BusinessCalendar:
        return self._calendars.get(site, ALWAYS_OPEN)

    def known(self) -> list[BusinessCalendar]:
        return [self._calendars[name] for name in sorted(self._calendars)]
