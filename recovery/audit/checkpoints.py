"""Signed checkpoints: prove later that no incident was deleted and no chain was cut short.

A hash chain shows an edit, but not the loss of its newest events or of a whole incident:
what is gone leaves no trace in the rows that remain. A checkpoint records every chain's
head (incident, version, hash of its newest event) after a full verification, and signs
it with an Ed25519 key the database does not hold. Auditors keep the file outside the
database; later, `verify_checkpoint` checks the signature, then that every head is still
there: an incident missing, or an event at the recorded version gone or different, is
reported with the incident and the position. Events appended since are fine.

The file is one JSON object (keys in any order for a reader):

    format       "recovery-checkpoint/1"
    created_at   ISO time of the checkpoint
    database     a hint of which database it covers (URL without password)
    count        number of incidents;  events: number of events
    digest       sha256 hex of the canonical JSON of `heads`
    public_key   the signer's Ed25519 public key, base64 of its 32 raw bytes
    signature    base64 Ed25519 signature of the canonical JSON of every field above
                 (sorted keys, no whitespace): `heads` are signed through `digest`
    heads        [[incident_id, version, head_hash], ...] in incident id order

Canonical JSON is `recovery.domain.chain.canonical` (orjson, sorted keys, compact).
Keys are made and read by `recovery.audit.keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, BinaryIO

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from recovery.audit.check import AuditResult
from recovery.audit.keys import public_key_text
from recovery.audit.verify import Auditor
from recovery.domain.chain import canonical
from recovery.domain.state import iso
from recovery.errors import IntegrityError, RecoveryError

FORMAT = "recovery-checkpoint/1"
_SIGNED = ("format", "created_at", "database", "count", "events", "digest", "public_key")
_HEX = frozenset("0123456789abcdef")


class CheckpointError(RecoveryError):
    """The checkpoint file is not a valid checkpoint, or its signature does not verify."""

    code = "invalid_checkpoint"
    exit_code = 7


# ---------------------------------------------------------------------------- documents


def heads_digest(heads: Iterable[Any]) -> str:
    """sha256 hex of the canonical JSON of the heads list, computed head by head."""
    digest = hashlib.sha256(b"[")
    for n, head in enumerate(heads):
        if n:
            digest.update(b",")
        digest.update(canonical(list(head)))
    digest.update(b"]")
    return digest.hexdigest()


def signed_bytes(document: dict[str, Any]) -> bytes:
    return canonical({name: document[name] for name in _SIGNED})


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint file, parsed and checked for shape (not yet for its signature)."""

    document: dict[str, Any]
    heads: list[tuple[str, int, str]]

    @property
    def count(self) -> int:
        return int(self.document["count"])

    def summary(self) -> dict[str, Any]:
        return {name: self.document[name] for name in _SIGNED}


@dataclass(frozen=True)
class CheckpointSummary:
    incidents: int
    events: int
    digest: str
    created_at: str
    public_key: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "incidents": self.incidents,
            "events": self.events,
            "digest": self.digest,
            "created_at": self.created_at,
            "public_key": self.public_key,
        }


def write_checkpoint(
    auditor: Auditor,
    key: Ed25519PrivateKey,
    out: BinaryIO,
    *,
    now: datetime,
    database: str,
    on_result: Callable[[AuditResult], None] | None = None,
) -> CheckpointSummary:
    """Verify every incident, then write the signed checkpoint of their heads to `out`.

    Nothing is written when any incident does not verify (`IntegrityError`, with the first
    one): a checkpoint vouches only for histories that verify. Heads wait in a temporary
    file while the pass runs, so memory stays flat however many incidents there are."""
    incidents = events = 0
    with tempfile.TemporaryFile() as spool:

        def verified_heads() -> Iterator[list[Any]]:
            nonlocal incidents, events
            for result in auditor.results():
                if on_result is not None:
                    on_result(result)
                if not result.ok:
                    where = f"event #{result.broken_seq}" if result.broken_seq else "its state"
                    raise IntegrityError(
                        f"incident {result.incident_id} does not verify at {where}: "
                        f"{result.problem}; no checkpoint written",
                        incident_id=result.incident_id,
                        seq=result.broken_seq,
                    )
                head = [result.incident_id, result.events, result.head_hash]
                spool.write((b",\n    " if incidents else b"\n    ") + canonical(head))
                incidents += 1
                events += result.events
                yield head

        digest = heads_digest(verified_heads())  # the same digest verification recomputes
        document: dict[str, Any] = {
            "format": FORMAT,
            "created_at": iso(now),
            "database": database,
            "count": incidents,
            "events": events,
            "digest": digest,
            "public_key": public_key_text(key.public_key()),
        }
        document["signature"] = base64.b64encode(key.sign(signed_bytes(document))).decode()
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2)[:-2] + b',\n  "heads": [')
        spool.seek(0)
        shutil.copyfileobj(spool, out)
        out.write(b"\n  ]\n}\n")
    out.flush()
    return CheckpointSummary(
        incidents, events, document["digest"], document["created_at"], document["public_key"]
    )


def read_checkpoint(source: IO[bytes]) -> Checkpoint:
    """Parse a checkpoint and check its shape and digest (`CheckpointError` if not)."""
    try:
        document = orjson.loads(source.read())
    except orjson.JSONDecodeError as exc:
        raise CheckpointError(f"not a checkpoint: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint: format is not {FORMAT!r}")
    missing = [name for name in (*_SIGNED, "signature", "heads") if name not in document]
    if missing:
        raise CheckpointError(f"not a checkpoint: missing {', '.join(missing)}")
    heads = list(_parse_heads(document["heads"]))
    if document["count"] != len(heads):
        raise CheckpointError(
            f"the checkpoint says {document['count']} incidents but lists {len(heads)}"
        )
    if heads_digest(heads) != document["digest"]:
        raise CheckpointError("the checkpoint's heads do not match its digest (edited)")
    return Checkpoint(document, heads)


def _parse_heads(raw: Any) -> Iterator[tuple[str, int, str]]:
    if not isinstance(raw, list):
        raise CheckpointError("not a checkpoint: heads is not a list")
    for n, head in enumerate(raw):
        if not (
            isinstance(head, list)
            and len(head) == 3
            and isinstance(head[0], str)
            and type(head[1]) is int
            and isinstance(head[2], str)
            and len(head[2]) == 64
            and set(head[2]) <= _HEX
        ):
            raise CheckpointError(f"not a checkpoint: head {n} is not [incident, version, hash]")
        yield head[0], head[1], head[2]


def check_signature(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> None:
    """The checkpoint was signed by `public_key` and not changed since (`CheckpointError`)."""
    document = checkpoint.document
    if document["public_key"] != public_key_text(public_key):
        raise CheckpointError(
            "the checkpoint was signed with another key than the public key given"
        )
    try:
        signature = base64.b64decode(str(document["signature"]), validate=True)
        public_key.verify(signature, signed_bytes(document))
    except (InvalidSignature, binascii.Error, ValueError):
        raise CheckpointError(
            "the checkpoint's signature does not verify: the file was altered or forged"
        ) from None


# ---------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Finding:
    """One incident that does not match the checkpoint or does not verify."""

    incident_id: str
    kind: str  # deleted | truncated | rewritten | broken
    seq: int | None
    problem: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "kind": self.kind,
            "seq": self.seq,
            "problem": self.problem,
        }


@dataclass
class CheckpointReport:
    """The database measured against a checkpoint."""

    checkpoint: dict[str, Any]
    incidents: int = 0
    events: int = 0
    new_incidents: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "signature": "valid",
            "checkpoint": self.checkpoint,
            "incidents": self.incidents,
            "events": self.events,
            "new_incidents": self.new_incidents,
            "findings": [f.to_dict() for f in self.findings],
        }


def verify_checkpoint(
    auditor: Auditor,
    checkpoint: Checkpoint,
    *,
    on_result: Callable[[AuditResult], None] | None = None,
) -> CheckpointReport:
    """Verify every incident and compare with the checkpoint's heads (signature first)."""
    expected = {incident: (version, head) for incident, version, head in checkpoint.heads}
    pins = {incident: version for incident, (version, _) in expected.items()}
    report = CheckpointReport(checkpoint.summary())
    for result in auditor.results(pins=pins):
        if on_result is not None:
            on_result(result)
        report.incidents += 1
        report.events += result.events
        recorded = expected.pop(result.incident_id, None)
        if recorded is None:
            report.new_incidents += 1
            if not result.ok:
                report.findings.append(_broken(result))
            continue
        found = _compare(result, *recorded)
        if found is not None:
            report.findings.append(found)
        elif not result.ok:
            report.findings.append(_broken(result))
    for incident, (version, _) in expected.items():
        report.findings.append(
            Finding(
                incident,
                "deleted",
                1,
                f"the incident is missing: it had {version} event(s) at the checkpoint",
            )
        )
    report.findings.sort(key=lambda f: f.incident_id)
    return report


def _first(position: int, broken_seq: int | None) -> int:
    return position if broken_seq is None else min(position, broken_seq)


def _broken(result: AuditResult) -> Finding:
    return Finding(result.incident_id, "broken", result.broken_seq, result.problem or "")


def _compare(result: AuditResult, version: int, head: str) -> Finding | None:
    incident = result.incident_id
    also = f"; it also does not verify: {result.problem}" if not result.ok else ""
    if result.pinned_hash is None:
        first_gone = result.events + 1 if result.events < version else version
        return Finding(
            incident,
            "truncated",
            _first(first_gone, result.broken_seq),
            f"event #{first_gone} is gone: the incident has {result.events} event(s), "
            f"the checkpoint recorded {version}{also}",
        )
    if result.pinned_hash != head:
        return Finding(
            incident,
            "rewritten",
            _first(version, result.broken_seq),
            f"event #{version} is not the one checkpointed (its hash differs): the history "
            f"up to it was rewritten{also}",
        )
    return None
