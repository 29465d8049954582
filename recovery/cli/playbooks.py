"""`recovery playbooks`: list, validate and show playbook files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from recovery.bootstrap import connect
from recovery.catalog import PLAYBOOK_SUFFIXES, Catalog, default_playbook_dir, load_file
from recovery.cli.options import JsonOption, PlaybooksOption, load_catalog, settings
from recovery.cli.output import console, fail, print_json, styled
from recovery.domain.compiler import CompiledPlaybook, playbook_digest
from recovery.domain.durations import format_due
from recovery.domain.playbook import CueCondition, EvidenceField, Playbook, StepDef
from recovery.domain.validation import lint_playbook, validate_playbook
from recovery.domain.validation_words import missing_translations
from recovery.errors import PlaybookError, Problem, RecoveryError
from recovery.service.engine import Recovery

app = typer.Typer(help="List, validate and show playbooks.", no_args_is_help=True)


@app.command("list")
def list_playbooks(playbooks: PlaybooksOption = None, json_output: JsonOption = False) -> None:
    """The newest version of every playbook, with the incident types it handles."""
    catalog = load_catalog(playbooks)
    rows = [_summary(c, catalog.source_of(*c.key)) for c in catalog.latest()]
    if json_output:
        print_json(rows)
        return
    table = Table(title="Playbooks")
    for column in ("id", "version", "title", "incident types", "steps"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for row in rows:
        steps = str(row["steps"]) + (f" (+{row['tier_steps']} tier)" if row["tier_steps"] else "")
        table.add_row(
            styled(row["id"], "bold"),
            str(row["version"]),
            styled(row["title"]),
            styled("\n".join(row["incident_types"])),
            steps,
        )
    console().print(table)


def _summary(compiled: CompiledPlaybook, source: str) -> dict[str, Any]:
    playbook = compiled.playbook
    return {
        "id": playbook.id,
        "version": playbook.version,
        "title": playbook.title,
        "incident_types": list(playbook.incident_types),
        "steps": len(playbook.steps),
        "tier_steps": len(playbook.tier_steps),
        "source": source,
    }


# ---------------------------------------------------------------------------- validate


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Playbook files or folders. Default: the playbook folder in use.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Also refuse a file that differs from the same version recorded incidents "
            "use in this database (edited without a version bump).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Validate playbook files; print every problem with its file and field path."""
    if not paths:
        configured = settings().playbook_dir
        paths = [Path(configured) if configured else default_playbook_dir()]
    rec = connect(db, playbooks=Catalog(), migrate=False) if db else None
    try:
        results = _validate_files(_expand(paths), rec)
    finally:
        if rec is not None:
            rec.dispose()
    problems = [p for r in results for p in r["problems"]]
    if json_output:
        print_json({"valid": not problems, "files": results})
    else:
        _print_results(results)
    if problems:
        bad_files = sum(1 for r in results if r["problems"])
        fail(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
            f"{bad_files} file{'s' if bad_files != 1 else ''}",
            PlaybookError.exit_code,
        )


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in PLAYBOOK_SUFFIXES)
            files.extend(found or [path])  # an empty folder is reported as a problem
        else:
            files.append(path)
    return files


def _validate_files(files: list[Path], rec: Recovery | None = None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    seen: dict[tuple[str, int], str] = {}
    for path in files:
        result: dict[str, Any] = {"path": str(path), "ok": False, "problems": [], "warnings": []}
        problems: list[Problem] = []
        if path.is_dir():
            problems.append(Problem(str(path), "", "no playbook files (*.yaml, *.yml) here"))
        elif not path.exists():
            problems.append(Problem(str(path), "", "no such file or folder"))
        else:
            try:
                playbook = load_file(path)
            except PlaybookError as exc:
                problems.extend(exc.problems)
            else:
                result.update(id=playbook.id, version=playbook.version, title=playbook.title)
                result["warnings"] = [
                    {"source": w.source, "location": w.location, "message": w.message}
                    for w in (
                        *lint_playbook(playbook, str(path)),
                        *missing_translations(playbook, str(path)),
                    )
                ]
                if playbook.key in seen:
                    problems.append(
                        Problem(
                            str(path),
                            "version",
                            f"{playbook.id} v{playbook.version} is also defined in "
                            f"{seen[playbook.key]}",
                        )
                    )
                seen.setdefault(playbook.key, str(path))
                if rec is not None:
                    problems.extend(drift(rec, playbook, str(path)))
        result["ok"] = not problems
        result["problems"] = [
            {"source": p.source, "location": p.location, "message": p.message} for p in problems
        ]
        results.append(result)
    return results


def _print_results(results: list[dict[str, Any]]) -> None:
    out = console()
    for result in results:
        if result["ok"]:
            out.print(
                Text.assemble(
                    ("ok    ", "green"),
                    (result["path"], "bold"),
                    f"  {result['id']} v{result['version']}: {result['title']}",
                ),
                soft_wrap=True,
            )
        for warning in result["warnings"]:
            out.print(
                Text.assemble(
                    ("warn  ", "yellow"),
                    (f"{warning['source']}: {warning['location']}: ", "bold"),
                    warning["message"],
                ),
                soft_wrap=True,
            )
        for problem in result["problems"]:
            where = f"{problem['source']}: " + (
                f"{problem['location']}: " if problem["location"] else ""
            )
            out.print(
                Text.assemble(("error ", "bold red"), (where, "bold"), problem["message"]),
                soft_wrap=True,
            )


def drift(rec: Recovery, playbook: Playbook, source: str) -> list[Problem]:
    """The file's version differs from the one stored when incidents first used it."""
    stored = rec.log.stored_definition(playbook.id, playbook.version)
    if stored is None:
        return []
    try:
        digest = playbook_digest(validate_playbook(stored, f"database:{playbook.id}", stored=True))
    except RecoveryError as exc:
        return [Problem(source, "version", f"the stored v{playbook.version} is unreadable: {exc}")]
    if digest == playbook_digest(playbook):
        return []
    return [
        Problem(
            source,
            "version",
            f"{playbook.id} v{playbook.version} differs from the v{playbook.version} that "
            "recorded incidents use; bump 'version' (incidents keep the rules they opened with)",
        )
    ]


def drifted(rec: Recovery) -> list[Problem]:
    """Every loaded version that differs from the one recorded incidents use."""
    return [
        problem
        for compiled in rec.catalog.all_versions()
        for problem in drift(rec, compiled.playbook, rec.catalog.source_of(*compiled.key))
    ]


# ---------------------------------------------------------------------------- show


@app.command()
def show(
    playbook_id: Annotated[str, typer.Argument(metavar="ID", help="The playbook id.")],
    version: Annotated[
        int | None, typer.Option("--version", help="A version (default: the newest).")
    ] = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Steps (kind, owner, due, required, evidence), limits, cue rules and tier steps."""
    catalog = load_catalog(playbooks)
    compiled = catalog.get(playbook_id, version)
    playbook = compiled.playbook
    if json_output:
        print_json(
            {
                **playbook.model_dump(mode="json"),
                "source": catalog.source_of(*compiled.key),
                "digest": compiled.digest,
            }
        )
        return
    _print_playbook(compiled, catalog.source_of(*compiled.key))


def _print_playbook(compiled: CompiledPlaybook, source: str) -> None:
    playbook = compiled.playbook
    out = console()
    out.print(Text.assemble((f"{playbook.id} v{playbook.version}", "bold"), f"  {playbook.title}"))
    if playbook.description:
        out.print(styled(playbook.description.strip(), "dim"))
    out.print(styled(f"incident types: {', '.join(playbook.incident_types)}"))
    out.print(styled(f"currency: {playbook.currency}   source: {source}"))
    out.print(_steps_table("Steps (all open at once)", compiled, playbook.steps))
    if playbook.tier_steps:
        out.print(_steps_table("Tier steps (added by cue rules)", compiled, playbook.tier_steps))
    if playbook.limits:
        limits = Table(title="Limits (pay without approval up to)")
        limits.add_column("role")
        limits.add_column("max amount", justify="right")
        for role, limit in playbook.limits.items():
            limits.add_row(role, f"{limit.max_amount:g} {playbook.currency}")
        out.print(limits)
    if playbook.cue_rules:
        rules = Table(title="Cue rules")
        for column in ("rule", "when", "tier", "adds steps", "notifies"):
            rules.add_column(column)
        for rule in playbook.cue_rules:
            rules.add_row(
                rule.id,
                styled(_condition(rule.when)),
                str(rule.raise_tier_to),
                ", ".join(rule.add_steps) or "-",
                ", ".join(rule.notify) or "-",
            )
        out.print(rules)
    if playbook.close_requires is not None:
        out.print(styled(f"closing requires: {', '.join(playbook.close_requires)}"))


def _steps_table(title: str, compiled: CompiledPlaybook, steps: list[StepDef]) -> Table:
    table = Table(title=title)
    for column in ("step", "kind", "title", "owner", "due", "required", "evidence"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            styled(step.id, "bold"),
            step.kind,
            styled(step.title),
            step.owner,
            format_due(step.due),
            "yes" if step.required else "no",
            styled(_step_evidence(compiled, step)),
        )
    return table


def _step_evidence(compiled: CompiledPlaybook, step: StepDef) -> str:
    """Evidence asked per action: `complete`/`send` ask the step's own, a kind may add more
    (a written step's `draft` asks for the letter's body)."""
    lines = []
    lifecycle = compiled.kinds[step.kind]
    actions = sorted({t for triggers in lifecycle.allowed.values() for t in triggers})
    for action in actions:
        fields = compiled.evidence_for(step.id, action)
        if fields:
            lines.append(f"{action}: " + "; ".join(_evidence(f) for f in fields))
    return "\n".join(lines) or "-"


def _evidence(field: EvidenceField) -> str:
    rules: list[str] = [field.type]
    if not field.required:
        rules.append("optional")
    if field.min is not None:
        rules.append(f"min {field.min:g}")
    if field.max is not None:
        rules.append(f"max {field.max:g}" + (f" unless {field.unless}" if field.unless else ""))
    if field.choices:
        rules.append("one of " + "/".join(field.choices))
    return f"{field.name} ({', '.join(rules)})"


def _condition(when: CueCondition) -> str:
    parts = []
    if when.tenure_years_at_least is not None:
        parts.append(f"member for {when.tenure_years_at_least:g}+ years")
    if when.cues_any is not None:
        parts.append("any cue of " + ", ".join(when.cues_any))
    if when.order_value_at_least is not None:
        parts.append(f"order value {when.order_value_at_least:g}+")
    if when.segment_in is not None:
        parts.append("segment in " + ", ".join(when.segment_in))
    if when.repeat_within_days is not None:
        parts.append(f"another incident within {when.repeat_within_days:g} days")
    if when.compensated_within_months is not None:
        parts.append(f"compensated within {when.compensated_within_months:g} months")
    return " and ".join(parts)
