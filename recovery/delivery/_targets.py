"""Webhook targets: where effects are POSTed, with which secret, for which kinds."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

_Kind = Annotated[str, StringConstraints(min_length=1, max_length=64)]
_Site = Annotated[str, StringConstraints(min_length=1, max_length=200)]


@dataclass(frozen=True)
class WebhookTarget:
    """One receiver: its URL, the HMAC secret it shares with us, and optionally the only
    effect kinds it wants and the only properties whose incidents it hears of (None: every
    kind, every property). A property system gets its own property's effects only."""

    url: str
    secret: str = field(repr=False)
    kinds: Collection[str] | None = None
    sites: Collection[str] | None = None
    # A registered endpoint (`delivery.endpoints`): its name in `accepted_by` (default: the
    # URL), the previous secret that also signs during a rotation's grace period, and when
    # it was registered (it takes only messages created since).
    key: str | None = None
    old_secret: str | None = field(default=None, repr=False)
    since: datetime | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"webhook url must be an http(s) URL, not {self.url!r}")
        if not self.secret:
            raise ValueError(f"webhook {self.url}: the secret must not be empty")
        if self.kinds is not None:
            kinds = frozenset(self.kinds)
            if not kinds:
                raise ValueError(
                    f"webhook {self.url}: an empty kinds filter would receive nothing; "
                    "omit it to receive every kind"
                )
            object.__setattr__(self, "kinds", kinds)
        if self.sites is not None:
            sites = frozenset(self.sites)
            if not sites:
                raise ValueError(
                    f"webhook {self.url}: an empty sites filter would receive nothing; "
                    "omit it to receive every property's"
                )
            object.__setattr__(self, "sites", sites)

    @property
    def name(self) -> str:
        """How `accepted_by` records that this target took a message."""
        return self.key or self.url

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret, self.old_secret) if self.old_secret else (self.secret,)

    def wants(self, kind: str, site: str, created_at: datetime | None = None) -> bool:
        return (
            (self.kinds is None or kind in self.kinds)
            and (self.sites is None or site in self.sites)
            and (self.since is None or created_at is None or created_at >= self.since)
        )


class _TargetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    secret: Annotated[str, StringConstraints(min_length=1)]
    kinds: list[_Kind] | None = Field(default=None, min_length=1)
    sites: list[_Site] | None = Field(default=None, min_length=1)


_CONFIG = TypeAdapter(list[_TargetConfig])


def parse_targets(text: str, *, source: str = "RECOVERY_WEBHOOKS") -> list[WebhookTarget]:
    """Targets from JSON such as `[{"url": "https://pms.example/hooks", "secret": "s3cr3t",
    "kinds": ["book_room"], "sites": ["ribe-central"]}]` (the RECOVERY_WEBHOOKS setting);
    `ValueError` says where the text is wrong."""
    try:
        configs = _CONFIG.validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{source}{_location(error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValueError(problems) from None
    targets = []
    for index, config in enumerate(configs):
        try:
            targets.append(WebhookTarget(config.url, config.secret, config.kinds, config.sites))
        except ValueError as exc:
            raise ValueError(f"{source}[{index}]: {exc}") from None
    return targets


def _location(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
