"""recovery: a service-recovery playbook engine.

Open the whole recovery bundle of a playbook at once, and record every incident's progress
as an append-only, hash-chained event log that replays to the exact state.

    import recovery
    from recovery import OpenIncident, CustomerProfile, Actor

    rec = recovery.connect("sqlite:///recovery.db")
    desk = Actor(id="ana", role="front_desk")
    out = rec.open(OpenIncident(incident_type="hotel.walked_guest", site="ribe",
                                customer=CustomerProfile(name="Mette Jensen")), actor=desk)
    rec.complete_step(out.id, "apologise", {"apology_by": "Ana"}, actor=desk)
"""

from recovery.audit import Verification
from recovery.bootstrap import connect, in_memory, over_engine
from recovery.catalog import Catalog
from recovery.domain.commands import (
    Actor,
    AddNote,
    Close,
    CustomerProfile,
    Escalate,
    HandOff,
    Hold,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    Resume,
    StepAction,
)
from recovery.domain.state import Event, IncidentState, StepState
from recovery.errors import (
    CalendarError,
    CommandRejectedError,
    ConfigurationError,
    ConflictError,
    IncidentNotFoundError,
    IntegrityError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
    PlaybookError,
    RecoveryError,
    StorageError,
    UnknownPlaybookError,
)
from recovery.service.engine import IncidentView, Outcome, Recovery
from recovery.sites import Sites

__all__ = [
    "Actor",
    "AddNote",
    "CalendarError",
    "Catalog",
    "Close",
    "CommandRejectedError",
    "ConfigurationError",
    "ConflictError",
    "CustomerProfile",
    "Escalate",
    "Event",
    "HandOff",
    "Hold",
    "IncidentNotFoundError",
    "IncidentState",
    "IncidentView",
    "IntegrityError",
    "InvalidEvidenceError",
    "NotAllowedNowError",
    "OpenIncident",
    "Outcome",
    "PermissionDeniedError",
    "PlaybookError",
    "RecordContact",
    "RecordPush",
    "Recovery",
    "RecoveryError",
    "Release",
    "Reopen",
    "ReportCues",
    "Resume",
    "Sites",
    "StepAction",
    "StepState",
    "StorageError",
    "UnknownPlaybookError",
    "Verification",
    "connect",
    "in_memory",
    "over_engine",
]
