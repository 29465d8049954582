"""Auditing: verify every incident in one streamed pass, signed checkpoints, exports.

Auditor.of(rec).results()             one `AuditResult` per incident, log read once
write_checkpoint / verify_checkpoint  signed heads of every chain (deletion, truncation)
export_events(engine, out, "jsonl")   events with incident fields and hashes, streamed
"""

from recovery.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointReport,
    CheckpointSummary,
    Finding,
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
from recovery.audit.export import FIELDS, FORMATS, ExportFilter, ExportSummary, export_events
from recovery.audit.verify import (
    Auditor,
    AuditResult,
    Resolver,
    count_events,
    pinned_playbooks,
    verify_stream,
)

__all__ = [
    "FIELDS",
    "FORMATS",
    "AuditResult",
    "Auditor",
    "Checkpoint",
    "CheckpointError",
    "CheckpointReport",
    "CheckpointSummary",
    "ExportFilter",
    "ExportSummary",
    "Finding",
    "Resolver",
    "check_signature",
    "count_events",
    "export_events",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "pinned_playbooks",
    "public_key_text",
    "public_pem",
    "read_checkpoint",
    "verify_checkpoint",
    "verify_stream",
    "write_checkpoint",
    "write_private_key",
]
