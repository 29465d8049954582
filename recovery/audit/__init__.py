"""Auditing: verify every incident in one streamed pass, signed checkpoints, exports.

Logic only, on the `AuditRows` port (`audit.ports`) that storage implements:

Auditor(rows, resolve).results()      one `AuditResult` per incident, log read once
verify_incident(...)                  one incident's chain and strict replay (the reference)
write_checkpoint / verify_checkpoint  signed heads of every chain (deletion, truncation)
export_events(rows, out, "jsonl")     events with incident fields and hashes, streamed
"""

from recovery.audit.check import AuditResult, Resolver
from recovery.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointReport,
    CheckpointSummary,
    Finding,
    check_signature,
    read_checkpoint,
    verify_checkpoint,
    write_checkpoint,
)
from recovery.audit.export import FIELDS, FORMATS, ExportSummary, Format, export_events
from recovery.audit.incident import Verification, check_chain, state_unreadable, verify_incident
from recovery.audit.keys import (
    generate_key,
    load_private_key,
    load_public_key,
    public_key_text,
    public_pem,
    write_private_key,
)
from recovery.audit.ports import AuditRows, ExportFilter
from recovery.audit.verify import Auditor, verify_stream

__all__ = [
    "FIELDS",
    "FORMATS",
    "AuditResult",
    "AuditRows",
    "Auditor",
    "Checkpoint",
    "CheckpointError",
    "CheckpointReport",
    "CheckpointSummary",
    "ExportFilter",
    "ExportSummary",
    "Finding",
    "Format",
    "Resolver",
    "Verification",
    "check_chain",
    "check_signature",
    "export_events",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "public_key_text",
    "public_pem",
    "read_checkpoint",
    "state_unreadable",
    "verify_checkpoint",
    "verify_incident",
    "verify_stream",
    "write_checkpoint",
    "write_private_key",
]
