"""Who is calling: a principal (a person's user or a system's API token), its role and scope.

Roles and what each may do (`GRANTS`):

    front_desk   open and work incidents at its properties, within its payment limits
    manager      also approve, waive and read reports
    auditor      read everything at its scope, change nothing
    integration  a back-office system: commands (at front-desk limits), delivery state and
                 its own webhook endpoints
    admin        users, tokens, playbooks and every webhook endpoint; a customer's personal
                 data erased or exported on request (no other incident data)

A principal carries the properties (sites) it may act on, or `*` for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from recovery.domain.commands import Actor

ROLES = ("front_desk", "manager", "auditor", "integration", "admin")
ALL_SITES = "*"


class Permission(StrEnum):
    READ = "incidents:read"
    WRITE = "incidents:write"
    REPORTS = "reports:read"
    PLAYBOOKS = "playbooks:read"
    ADMIN = "admin"
    WEBHOOKS = "webhooks:manage"


GRANTS: dict[str, frozenset[Permission]] = {
    "front_desk": frozenset({Permission.READ, Permission.WRITE, Permission.PLAYBOOKS}),
    "manager": frozenset(
        {Permission.READ, Permission.WRITE, Permission.REPORTS, Permission.PLAYBOOKS}
    ),
    "auditor": frozenset({Permission.READ, Permission.REPORTS, Permission.PLAYBOOKS}),
    "integration": frozenset(
        {Permission.READ, Permission.WRITE, Permission.PLAYBOOKS, Permission.WEBHOOKS}
    ),
    "admin": frozenset({Permission.ADMIN, Permission.PLAYBOOKS, Permission.WEBHOOKS}),
}

# The role the engine sees: a back-office system acts with the front desk's limits.
ENGINE_ROLE = {"integration": "front_desk"}


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "token"]
    name: str
    role: str
    sites: tuple[str, ...]
    locale: str | None = None  # the language a person chose for the staff pages

    @property
    def all_sites(self) -> bool:
        return ALL_SITES in self.sites

    @property
    def scope_key(self) -> str:
        """Idempotency keys and caches are scoped per caller with this."""
        return f"{self.kind}:{self.name}"

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS.get(self.role, frozenset())

    def may_see(self, site: str) -> bool:
        return self.all_sites or site in self.sites

    def actor(self) -> Actor:
        """The actor recorded in the event log. A system is recorded as `integration:NAME`
        with the front desk's role, so the playbook's front-desk limits apply to it."""
        if self.role in ENGINE_ROLE:
            return Actor(id=f"{self.role}:{self.name}", role=ENGINE_ROLE[self.role])
        return Actor(id=self.name, role=self.role)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "role": self.role,
            "sites": list(self.sites),
            "permissions": sorted(GRANTS.get(self.role, frozenset())),
        }
