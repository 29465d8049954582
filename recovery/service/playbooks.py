"""The playbook versions incidents pinned: resolved once per process, each version's
definition stored the first time it is used (so retired versions still replay), and a
file changed without a version bump refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from recovery.catalog import Catalog
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import iso
from recovery.errors import PlaybookError, Problem, UnknownPlaybookError
from recovery.service.ports import IncidentLog


class PinnedPlaybooks:
    def __init__(self, catalog: Catalog, log: IncidentLog, clock: Callable[[], datetime]) -> None:
        self.catalog = catalog
        self._log = log
        self._clock = clock
        self._registered: set[tuple[str, int]] = set()
        # Versions resolved and registered: every command looks its incident's one up.
        self._pinned: dict[tuple[str, int], CompiledPlaybook] = {}

    def pinned(self, playbook_id: str, version: int) -> CompiledPlaybook:
        compiled = self._pinned.get((playbook_id, version))
        if compiled is not None:
            return compiled
        compiled = self._load(playbook_id, version)
        self._pinned[compiled.key] = compiled
        return compiled

    def _load(self, playbook_id: str, version: int) -> CompiledPlaybook:
        if self.catalog.has(playbook_id, version):
            compiled = self.catalog.get(playbook_id, version)
            self.register(compiled)
            return compiled
        definition = self._log.stored_definition(playbook_id, version)
        if definition is None:
            raise UnknownPlaybookError(
                f"playbook {playbook_id!r} version {version} is neither loaded nor stored"
            )
        compiled = self.catalog.add_definition(definition, f"database:{playbook_id}@v{version}")
        self._registered.add(compiled.key)
        return compiled

    def register(self, compiled: CompiledPlaybook) -> None:
        """Store each version's definition once, and refuse a file changed without a version
        bump: incidents recorded under a version must keep exactly its rules."""
        if compiled.key in self._registered:
            return
        playbook = compiled.playbook
        stored_digest = self._log.register_playbook(
            playbook.id,
            playbook.version,
            compiled.digest,
            playbook.model_dump(mode="json", exclude_defaults=True),
            iso(self._clock()),
        )
        if stored_digest is not None and stored_digest != compiled.digest:
            raise PlaybookError(
                [
                    Problem(
                        self.catalog.source_of(*compiled.key),
                        "version",
                        f"{playbook.id} v{playbook.version} differs from the version "
                        "already used by recorded incidents; bump 'version'",
                    )
                ]
            )
        self._registered.add(compiled.key)
