"""Response models of the playbook routes: the catalog's summaries and stored definitions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from recovery.http.api.schemas import ReadModel


class StepSummary(ReadModel):
    id: str
    title: str
    kind: str
    owner: str
    due: str
    required: bool
    effect: str | None = None


class PlaybookSummary(ReadModel):
    id: str
    version: int
    title: str
    description: str | None = None
    incident_types: list[str]
    currency: str
    steps: list[StepSummary]
    tier_steps: list[StepSummary]


class PlaybookRead(ReadModel):
    id: str
    version: int
    digest: str = Field(description="SHA-256 of the definition, pinned by every incident")
    definition: dict[str, Any]
