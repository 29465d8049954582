"""Queries about one incident's standing with its customer: its recovery score (the
measure `reports.py` explains)."""

from __future__ import annotations

from typing import Any, Protocol

from recovery.service.reports import recovery_score
from recovery.service.views import IncidentView


class _Engine(Protocol):
    def get(self, incident_id: str) -> IncidentView: ...


class CustomerQueries:
    """Mixed into `Recovery`."""

    def score(self: _Engine, incident_id: str) -> dict[str, Any]:
        """The incident's recovery score (0-100) and what it lost points for."""
        state = self.get(incident_id).state
        return {
            "incident_id": state.id,
            "recovery_score": recovery_score(state),
            "pushes": state.pushes,
            "handoffs": state.handoffs,
            "missed_deadlines": sum(1 for s in state.steps.values() if s.missed),
            "late_steps": sum(1 for s in state.steps.values() if s.late and not s.missed),
        }
