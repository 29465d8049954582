"""The error tree of `recovery`: every error a caller can see, and what it means.

    RecoveryError                    base; `.code` is stable, `.exit_code` is the CLI's
    ├── PlaybookError                a playbook file or definition is invalid
    │   │                            (`.problems`: file, field path, message)
    │   └── CalendarError            a site's calendar file is invalid (same `.problems`)
    ├── UnknownPlaybookError         no playbook for that id/version/incident type
    ├── IncidentNotFoundError        no incident with that id (or not visible to the caller)
    ├── NotFoundError                no such webhook endpoint (or not the caller's)
    ├── CommandRejectedError         a command is not valid for this incident now
    │   ├── InvalidEvidenceError     evidence missing or breaking a step's rules
    │   ├── NotAllowedNowError       the action is not allowed in the current state
    │   │                            (`.state`, `.allowed`: what can be done instead)
    │   └── PermissionDeniedError    the actor's role may not do this
    ├── ConflictError                another writer changed the incident first
    │                                (`.current_version`)
    ├── IntegrityError               the stored history does not verify
    │                                (`.incident_id`, `.seq`: the first broken position)
    ├── StorageError                 the database failed in a way we could not translate
    └── ConfigurationError           a setting (environment variable, option) is invalid

Driver errors never escape: the storage layer translates them into this tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class RecoveryError(Exception):
    code = "recovery_error"
    exit_code = 1
    plain: str | None = None
    """The message in the words staff use (titles and labels, not codes), when it differs."""

    def to_dict(self) -> dict[str, Any]:
        out = {"error": self.code, "message": str(self)}
        if self.plain is not None:
            out["plain"] = self.plain
        return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a playbook: where (file and field path) and what."""

    source: str
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.location}" if self.location else self.source
        return f"{where}: {self.message}"


class PlaybookError(RecoveryError):
    code = "invalid_playbook"
    exit_code = 3

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": str(self),
            "problems": [
                {"source": p.source, "location": p.location, "message": p.message}
                for p in self.problems
            ],
        }


class CalendarError(PlaybookError):
    code = "invalid_calendar"


class UnknownPlaybookError(RecoveryError):
    code = "unknown_playbook"
    exit_code = 4


class IncidentNotFoundError(RecoveryError):
    code = "incident_not_found"
    exit_code = 4

    def __init__(self, incident_id: str) -> None:
        self.incident_id = incident_id
        super().__init__(f"no incident {incident_id!r}")


class NotFoundError(RecoveryError):
    """Something other than an incident (a webhook endpoint...) is unknown, or not the
    caller's to see."""

    code = "not_found"
    exit_code = 4


class CustomerNotFoundError(IncidentNotFoundError):
    """No incident holds this customer key (perhaps it was erased: the key went with it)."""

    code = "customer_not_found"

    def __init__(self, key: str) -> None:
        self.incident_id = ""
        self.key = key
        RecoveryError.__init__(self, f"no customer with the key {key!r}")


class CommandRejectedError(RecoveryError):
    code = "command_rejected"
    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        state: str | None = None,
        allowed: Sequence[str] = (),
        plain: str | None = None,
    ) -> None:
        self.field = field
        self.state = state
        self.allowed = list(allowed)
        self.plain = plain
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["plain"] = self.plain or str(self)  # a refusal always says it in plain words
        if self.field is not None:
            out["field"] = self.field
        if self.state is not None:
            out["state"] = self.state
            out["allowed"] = self.allowed
        elif self.allowed:  # the values a field may take
            out["allowed"] = self.allowed
        return out


class InvalidEvidenceError(CommandRejectedError):
    code = "invalid_evidence"


class NotAllowedNowError(CommandRejectedError):
    code = "not_allowed_now"


class PermissionDeniedError(CommandRejectedError):
    code = "permission_denied"


class ConflictError(RecoveryError):
    code = "conflict"
    exit_code = 6

    def __init__(self, message: str, *, incident_id: str, current_version: int | None) -> None:
        self.incident_id = incident_id
        self.current_version = current_version
        self.changes: list[dict[str, Any]] = []
        """what others recorded since the version the caller saw: seq, at, actor, role,
        what (in words) and step, when known"""
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["incident_id"] = self.incident_id
        out["current_version"] = self.current_version
        if self.changes:
            out["changes"] = self.changes
        return out


class IntegrityError(RecoveryError):
    code = "integrity_error"
    exit_code = 7

    def __init__(self, message: str, *, incident_id: str, seq: int | None) -> None:
        self.incident_id = incident_id
        self.seq = seq
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["incident_id"] = self.incident_id
        out["seq"] = self.seq
        return out


class StorageError(RecoveryError):
    code = "storage_error"
    exit_code = 8


class ConfigurationError(RecoveryError):
    code = "invalid_configuration"
    exit_code = 2
