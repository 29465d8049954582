"""`recovery sites`: the site calendars in use (time zone, opening hours, holidays), and
validating calendar files before they are deployed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from recovery.cli.options import JsonOption, settings
from recovery.cli.output import console, print_json
from recovery.domain.calendar import BusinessCalendar
from recovery.domain.sites import WEEKDAYS
from recovery.sites import Sites, default_sites_dir

app = typer.Typer(help="List and validate the site calendars.", no_args_is_help=True)

Folder = Annotated[
    Path | None,
    typer.Argument(help="A folder of site files. Default: RECOVERY_SITES, else sites/."),
]


def _folder(folder: Path | None) -> Path:
    configured = settings().sites_dir
    return folder or (Path(configured) if configured else default_sites_dir())


def _summary(calendar: BusinessCalendar) -> dict[str, Any]:
    hours = {
        WEEKDAYS[day]: [
            f"{o:%H:%M}-{'24:00' if c is None else format(c, '%H:%M')}" for o, c in periods
        ]
        for day, periods in calendar.hours.items()
        if periods
    }
    return {
        "site": calendar.site,
        "version": calendar.version,
        "time_zone": calendar.zone_name,
        "holidays_of": calendar.country,
        "hours": hours,
        "closed": sorted(d.isoformat() for d in calendar.closed),
    }


@app.command("list")
def list_sites(folder: Folder = None, json_output: JsonOption = False) -> None:
    """Every site calendar; a site without one is UTC and always open."""
    rows = [_summary(c) for c in Sites.from_directory(_folder(folder)).known()]
    if json_output:
        print_json(rows)
        return
    table = Table(title="Site calendars")
    for column in ("site", "version", "time zone", "holidays of", "opening hours"):
        table.add_column(column)
    for row in rows:
        hours = "; ".join(f"{day} {', '.join(ranges)}" for day, ranges in row["hours"].items())
        table.add_row(
            row["site"], str(row["version"]), row["time_zone"], row["holidays_of"] or "-", hours
        )
    console().print(table)


@app.command()
def validate(folder: Folder = None, json_output: JsonOption = False) -> None:
    """Validate the site files of a folder; every problem is printed with file and field."""
    calendars = Sites.from_directory(_folder(folder)).known()  # CalendarError: exit code 3
    if json_output:
        print_json({"valid": True, "sites": [c.label for c in calendars]})
    else:
        console().print(
            f"{len(calendars)} site calendar(s) valid: " + ", ".join(c.label for c in calendars)
        )
