"""Settings: the only module that reads the environment.

RECOVERY_DB         database URL (default: sqlite:///recovery.db in the working folder)
RECOVERY_PLAYBOOKS  folder of playbook files (default: the shipped playbooks/)
RECOVERY_SQLITE_SYNCHRONOUS  full (default: no acknowledged command lost on power
                    loss) or normal (faster; a power cut may lose the last commits)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from recovery.errors import ConfigurationError

DEFAULT_DB_URL = "sqlite:///recovery.db"

SqliteSynchronous = Literal["full", "normal"]


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    playbook_dir: str | None = None
    sqlite_synchronous: SqliteSynchronous = "full"

    @classmethod
    def from_env(cls) -> Settings:
        sync = os.environ.get("RECOVERY_SQLITE_SYNCHRONOUS", "full").lower()
        if sync not in ("full", "normal"):
            raise ConfigurationError(
                f"RECOVERY_SQLITE_SYNCHRONOUS must be full or normal, not {sync!r}"
            )
        return cls(
            db_url=os.environ.get("RECOVERY_DB", DEFAULT_DB_URL),
            playbook_dir=os.environ.get("RECOVERY_PLAYBOOKS") or None,
            sqlite_synchronous="full" if sync == "full" else "normal",
        )
