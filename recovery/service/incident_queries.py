"""The engine's reads of incidents as callers see them: one, a list, a page of the board,
a search, the report; and the pinned playbook each is read through (a mixin of `Recovery`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.search import query_keys
from recovery.domain.state import IncidentState
from recovery.service.board import MAX_PAGE_SIZE, PAGE_SIZE, decode_after, encode_after
from recovery.service.playbooks import PinnedPlaybooks
from recovery.service.ports.incidents import IncidentLog
from recovery.service.ports.reports import ReportFilter
from recovery.service.reports import GroupBy, ReportRow, report_rows, with_erasures
from recovery.service.views import IncidentView


class IncidentQueries:
    log: IncidentLog
    playbooks: PinnedPlaybooks

    # ------------------------------------------------------------------ queries

    def get(self, incident_id: str) -> IncidentView:
        state, _head = self.log.load(incident_id)
        return self._view(self.playbook_of(state), state)

    def list_incidents(
        self,
        *,
        active_only: bool = True,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook: str | None = None,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[IncidentView]:
        """Incidents ordered by the nearest deadline (active ones by default)."""
        states = self.log.list_states(
            statuses=ACTIVE_STATES if active_only else None,
            site=site,
            sites=sites,
            playbook_id=playbook,
            owner=owner,
            limit=limit,
            offset=offset,
        )
        return [self._view(self.playbook_of(s), s) for s in states]

    def board_page(
        self,
        *,
        statuses: Sequence[str] | None = ACTIVE_STATES,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook: str | None = None,
        owner: str | None = None,
        after: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> tuple[list[IncidentView], str | None]:
        """A page of `list_incidents`' order after the cursor `after`, and the cursor of the
        next page (None: this is the last)."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        start = None if after is None else decode_after(after)
        found = self.log.page_states(
            statuses=statuses, site=site, sites=sites, playbook_id=playbook, owner=owner,
            after=start, limit=limit + 1,
        )  # fmt: skip
        more = len(found) > limit
        found = found[:limit]
        nxt = encode_after((found[-1][1], found[-1][0].id)) if more else None
        return [self._view(self.playbook_of(s), s) for s, _due in found], nxt

    def search(
        self, query: str, *, sites: Sequence[str] | None = None, limit: int = 50
    ) -> list[IncidentView]:
        """Incidents open or ended whose customer name (or a word of it), contact (e-mail,
        phone digits), id or external reference starts with `query`, case ignored; at
        `sites` (None: every property). Fewer than 2 characters find nothing."""
        states = self.log.search(query_keys(query), sites=sites, limit=limit)
        return [self._view(self.playbook_of(s), s) for s in states]

    def report(
        self,
        *,
        by: GroupBy = "site_playbook",
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ReportRow]:
        """How recovery was delivered: score, pushes, handoffs, deadlines kept, ..."""
        where = ReportFilter(site, sites, playbook, since, until)  # summed by the storage
        totals = with_erasures(
            self.log.report_totals(by, where), self.log.erasure_totals(by, where)
        )
        return report_rows(by, totals)

    # ------------------------------------------------------------------ playbooks

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook:
        return self.playbooks.pinned(state.playbook_id, state.playbook_version)

    def pinned_playbook(self, playbook_id: str, version: int) -> CompiledPlaybook:
        """The version an incident pinned; retired versions are rebuilt from the stored
        definition."""
        return self.playbooks.pinned(playbook_id, version)

    # ------------------------------------------------------------------ helpers

    def _view(self, compiled: CompiledPlaybook, state: IncidentState) -> IncidentView:
        return IncidentView(compiled, state)
