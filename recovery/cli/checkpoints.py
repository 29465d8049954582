"""`recovery audit keygen|checkpoint|verify-checkpoint`: signed heads of every chain, kept
outside the database, and the proof that nothing was deleted or cut short since.

The commands are registered on the `audit` group by `recovery.cli.audit` (`register`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from recovery.audit import (
    CheckpointReport,
    check_signature,
    generate_key,
    load_private_key,
    load_public_key,
    public_key_text,
    public_pem,
    read_checkpoint,
    verify_checkpoint,
    write_checkpoint,
    write_private_key,
)
from recovery.cli.options import DbOption, JsonOption, PlaybooksOption, open_recovery
from recovery.cli.output import console, fail, print_json, styled
from recovery.cli.streams import output_stream, progress_bar
from recovery.errors import ConfigurationError, IntegrityError


def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (PEM).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Create an Ed25519 key to sign checkpoints; keep it away from the database's hosts.

    Writes the private key to OUT (owner-only) and its public key to OUT.pub, and prints
    the public key: give it to the auditors."""
    key = generate_key()
    write_private_key(key, out, overwrite=force)
    public_file = out.with_name(out.name + ".pub")
    try:
        public_file.write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise ConfigurationError(f"cannot write {public_file}: {exc.strerror}") from None
    public = public_key_text(key.public_key())
    if json_output:
        print_json(
            {"private_key": str(out), "public_key_file": str(public_file), "public_key": public}
        )
        return
    console().print(Text.assemble("private key written to ", (str(out), "bold")))
    console().print(Text.assemble("public key written to  ", (str(public_file), "bold")))
    console().print(Text.assemble("public key: ", (public, "bold green")))


def checkpoint(
    key: Annotated[Path, typer.Option("--key", help="The Ed25519 private key (PEM).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the checkpoint to this file (default: stdout)."),
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Verify every incident, then write a signed checkpoint of every chain's head.

    Keep the file outside the database: `verify-checkpoint` later proves that no incident
    was deleted and no chain cut short or rewritten since."""
    signing_key = load_private_key(key)
    with open_recovery(db, playbooks) as rec:
        auditor = rec.auditor()
        with output_stream(out) as target, progress_bar(json_output, auditor.count_events) as adv:
            summary = write_checkpoint(
                auditor,
                signing_key,
                target,
                now=datetime.now(UTC),
                database=rec.storage.describe(),
                on_result=lambda r: adv(r.events),
            )
    if out is None:
        return
    if json_output:
        print_json({**summary.to_dict(), "out": str(out)})
        return
    console().print(
        Text.assemble(
            "checkpoint of ",
            (str(summary.incidents), "bold"),
            " incident(s), ",
            (str(summary.events), "bold"),
            " event(s) written to ",
            (str(out), "bold"),
            f" (digest {summary.digest[:16]}…)",
        )
    )


def verify_checkpoint_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A checkpoint file.")],
    public_key: Annotated[
        str,
        typer.Option(
            "--public-key", help="The signer's public key: a .pub/PEM file or its base64 text."
        ),
    ],
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check the checkpoint's signature, then that the database still holds every head."""
    trusted = load_public_key(public_key)
    try:
        with file.open("rb") as source:
            document = read_checkpoint(source)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {file}: {exc.strerror}") from None
    check_signature(document, trusted)
    with open_recovery(db, playbooks) as rec:
        auditor = rec.auditor()
        with progress_bar(json_output, auditor.count_events) as advance:
            report = verify_checkpoint(auditor, document, on_result=lambda r: advance(r.events))
    if json_output:
        print_json(report.to_dict())
    else:
        _print_checkpoint_report(report)
    if not report.ok:
        first = report.findings[0]
        where = f"event #{first.seq}" if first.seq is not None else "its state"
        fail(
            f"{len(report.findings)} incident(s) do not match the checkpoint of "
            f"{report.checkpoint['created_at']}; first: {first.incident_id} ({first.kind}) "
            f"at {where}: {first.problem}",
            IntegrityError.exit_code,
        )


def _print_checkpoint_report(report: CheckpointReport) -> None:
    cp = report.checkpoint
    console().print(
        Text.assemble(
            "signature ",
            ("valid", "green"),
            f": checkpoint of {cp['created_at']}, {cp['count']} incident(s), "
            f"{cp['events']} event(s), database {cp['database']}",
        )
    )
    if report.findings:
        table = Table(title=f"{len(report.findings)} incident(s) do not match")
        for column in ("incident", "what", "at", "problem"):
            table.add_column(column)
        for f in report.findings[:1000]:
            table.add_row(
                styled(f.incident_id, "bold"),
                Text(f.kind, "bold red"),
                "-" if f.seq is None else f"event #{f.seq}",
                styled(f.problem),
            )
        console().print(table)
    status = Text("all heads present", "green") if report.ok else Text("BROKEN", "bold red")
    console().print(
        Text.assemble(
            f"now: {report.incidents} incident(s), {report.events} event(s), "
            f"{report.new_incidents} new since the checkpoint: ",
            status,
        )
    )


def register(app: typer.Typer) -> None:
    """Add the checkpoint commands to the `audit` group."""
    app.command()(keygen)
    app.command()(checkpoint)
    app.command("verify-checkpoint")(verify_checkpoint_command)
