"""Demo data: the five stories of the mission, and one waiting for a newcomer, recorded as
incidents to explore.

`seed_demo(rec)` records them through the public engine API (so they verify and replay like
any incident), back-dated so each timeline reads like the real story: the hotel story done
the right way (no push, closed) and the old way (a push before every step), the transit
pass handed off with its context, the loyal customer released honestly with a referral,
and the energy complaint whose written answer is still in progress (left open). The sixth,
tonight's walked guest at Ribe worked by the demo's own `desk`, waits for the manager's
approval (left open).

Letters are drafted and sent through `Recovery`'s letter commands and mailed by a file
mailer: the demo never sends e-mail. They land in RECOVERY_MAIL_DIR, else beside the SQLite
file (`<name>-mail/`), else in the temporary folder's `recovery-demo-mail/`.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from recovery.config import Settings
from recovery.demo.cast import DraftLetter, MailerPass, SendLetter
from recovery.demo.stories import demo_stories
from recovery.letters import FileMailer, Mailer
from recovery.service.engine import Recovery
from recovery.service.letter_delivery import deliver_letters


class _ScriptClock:
    """The clock the stories are recorded with: set to each scripted moment in turn."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def demo_mail_dir(rec: Recovery) -> Path:
    """Where the demo's letters go: RECOVERY_MAIL_DIR, else beside the SQLite file."""
    settings = Settings.from_env()
    if settings.mail_dir_configured:
        return Path(settings.mail_dir)
    database = rec.storage.file_path()
    if database is not None:
        return database.with_name(f"{database.stem}-mail")
    return Path(tempfile.gettempdir()) / "recovery-demo-mail"


def seed_demo(rec: Recovery, *, force: bool = False, mailer: Mailer | None = None) -> list[str]:
    """Record the six stories; return their incident ids (none if incidents already exist,
    unless `force`). Times are back-dated from `rec`'s clock; `rec` itself is not changed.
    Letters are mailed by `mailer` (default: a file mailer, see `demo_mail_dir`)."""
    if not force and rec.list_incidents(active_only=False, limit=1):
        return []
    mailer = mailer or FileMailer(demo_mail_dir(rec))
    now = rec.clock()
    clock = _ScriptClock(now)
    scripted = Recovery(rec.storage, rec.catalog, clock=clock, new_id=rec.new_id, sites=rec.sites)
    ids: list[str] = []
    for story in demo_stories(now):
        start = now - timedelta(minutes=story.started_minutes_ago)
        clock.now = start
        opened = scripted.open(story.incident, actor=story.opener, channel=story.channel)
        for act in story.acts:
            clock.now = start + timedelta(minutes=act.minutes)
            command = act.command
            if isinstance(command, DraftLetter):
                scripted.draft_letter(
                    opened.id,
                    command.step,
                    note=command.note,
                    actor=act.actor,
                    channel=act.channel,
                )
            elif isinstance(command, SendLetter):
                scripted.request_letter(
                    opened.id, command.step, actor=act.actor, channel=act.channel
                )
            elif isinstance(command, MailerPass):
                deliver_letters(scripted, mailer)
            else:
                scripted.execute(opened.id, command, actor=act.actor, channel=act.channel)
        ids.append(opened.id)
    return ids


__all__ = ["demo_mail_dir", "demo_stories", "seed_demo"]
