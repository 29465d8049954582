"""The one composition point: settings → database engine → storage adapters → `Recovery`
→ the services the entry points use (`Services`).

Entry points (HTTP, CLI, worker, demo) and embedding code get what they need from here,
never by building storage themselves.

    import recovery
    rec = recovery.connect("sqlite:///hotel.db")   # created and migrated on first use
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from recovery.catalog import Catalog
from recovery.config import Settings
from recovery.letters.mailers import Mailer
from recovery.service.accounts import Accounts
from recovery.service.engine import Recovery, new_incident_id, utc_now
from recovery.service.links import StatusLinks
from recovery.service.ports import Storage
from recovery.service.webhooks import WebhookEndpoints
from recovery.sites import Sites
from recovery.storage.database import masked_url
from recovery.storage.memory import MemoryStorage
from recovery.storage.sql import SqlStorage

Clock = Callable[[], datetime]

__all__ = [
    "Services",
    "connect",
    "in_memory",
    "masked_url",
    "open_accounts",
    "open_storage",
    "over_engine",
    "services",
    "webhook_endpoints",
]


def connect(
    url: str | None = None,
    *,
    playbooks: str | Path | Catalog | None = None,
    sites: str | Path | Sites | None = None,
    sqlite_synchronous: str | None = None,
    clock: Clock = utc_now,
    new_id: Callable[[], str] = new_incident_id,
    migrate: bool = True,
    settings: Settings | None = None,
) -> Recovery:
    """The engine on the database at `url` (default: the settings' RECOVERY_DB), with the
    playbooks of a folder (default: the settings', else the shipped ones) or a catalog,
    and the site calendars of a folder (default: RECOVERY_SITES, else the shipped sites/)."""
    settings = settings or Settings.from_env()
    catalog = (  # first: a bad playbook file leaves no database connection behind
        playbooks
        if isinstance(playbooks, Catalog)
        else Catalog.from_directory(playbooks or settings.playbook_dir)
    )
    calendars = (
        sites if isinstance(sites, Sites) else Sites.from_directory(sites or settings.sites_dir)
    )
    storage = open_storage(
        url, settings=settings, sqlite_synchronous=sqlite_synchronous, migrate=migrate
    )
    return Recovery(storage, catalog, clock=clock, new_id=new_id, sites=calendars)


def over_engine(engine: Any, catalog: Catalog | None = None, **options: Any) -> Recovery:
    """The engine over an existing SQLAlchemy `Engine` (its pool and options are kept);
    `options` are `Recovery`'s (clock, new_id), plus `migrate`."""
    migrate = options.pop("migrate", True)
    return Recovery(SqlStorage(engine, migrate=migrate), catalog, **options)


@dataclass(frozen=True)
class Services:
    """What the entry points use, all over one storage: the engine, people's and systems'
    accounts, customers' status links, back offices' webhook endpoints, and the storage
    bundle itself (health, durability, idempotency keys)."""

    recovery: Recovery
    accounts: Accounts
    links: StatusLinks
    clock: Clock
    webhooks: WebhookEndpoints

    @property
    def storage(self) -> Storage:
        return self.recovery.storage

    def dispose(self) -> None:
        self.recovery.dispose()


def services(
    rec: Recovery,
    *,
    clock: Clock | None = None,
    token_cache_seconds: float = 0.9,
    mailer: Mailer | None = None,
    public_url: str | None = None,
) -> Services:
    """The services over `rec`'s storage. `token_cache_seconds`: how long a presented
    token's check is remembered in process (a revocation made through another process
    takes that long here; one indexed read per token per interval is what it costs).
    `mailer` sends status links by e-mail (default: the settings' mailer); `public_url`
    is where customers reach this server (default: RECOVERY_PUBLIC_URL)."""
    now = clock or rec.clock
    return Services(
        recovery=rec,
        accounts=Accounts(rec.storage.accounts, now, cache_ttl=token_cache_seconds),
        links=StatusLinks(rec.storage.links, rec=rec, mailer=mailer, public_url=public_url),
        clock=now,
        webhooks=webhook_endpoints(rec, clock=now),
    )


def webhook_endpoints(
    rec: Recovery, *, clock: Clock | None = None, private_hosts: bool | None = None
) -> WebhookEndpoints:
    """The webhook endpoints registered in `rec`'s database (register, list, rotate,
    delete, delivery log, redelivery); `principal` None in its calls: an operator.
    `private_hosts`: whether API callers may register loopback and private addresses
    (default: RECOVERY_WEBHOOK_PRIVATE_HOSTS, false).

        hooks = webhook_endpoints(rec)
        made = hooks.create(None, "https://pms.example/hooks", kinds=["book_room"])
        made.secret    # shown once: the receiver checks X-Recovery-Signature with it
    """
    if private_hosts is None:
        private_hosts = Settings.from_env().webhook_private_hosts
    return WebhookEndpoints(
        rec.storage.webhooks, rec.catalog, clock or rec.clock, private_hosts=private_hosts
    )


def open_storage(
    url: str | None = None,
    *,
    settings: Settings | None = None,
    sqlite_synchronous: str | None = None,
    migrate: bool = True,
) -> Storage:
    """The storage at `url` (default: the settings' RECOVERY_DB), created and migrated on
    first use unless `migrate` is false: what `connect` builds the engine on, and what the
    commands on the database itself and on accounts use."""
    settings = settings or Settings.from_env()
    return SqlStorage.from_url(
        url or settings.db_url,
        sqlite_synchronous=sqlite_synchronous or settings.sqlite_synchronous,
        migrate=migrate,
    )


@contextmanager
def open_accounts(
    url: str | None = None, *, settings: Settings | None = None
) -> Iterator[Accounts]:
    """Accounts on the database at `url` for one command, uncached (every check reads)."""
    storage = open_storage(url, settings=settings)
    try:
        yield Accounts(storage.accounts, utc_now, cache_ttl=0)
    finally:
        storage.dispose()


def in_memory(catalog: Catalog | None = None, *, clock: Clock = utc_now) -> Recovery:
    """The engine on in-memory storage: nothing written to disk, gone with the process
    (for tests and trying things out)."""
    return Recovery(MemoryStorage(), catalog, clock=clock)
