"""Render a written step's letter from the templates, with the incident's facts.

Templates (Jinja2, autoescaped in HTML) live in `templates/<locale>/`:

    letter.txt           the default letter, plain text; its blocks `subject`, `opening`
                         and `closing` are also read on their own (see below)
    letter.html          the same letter as a print-friendly page (extends base.html)
    <playbook-id>.txt    optional: a playbook's own letter, usually `{% extends
                         "<locale>/letter.txt" %}` with its own subject and opening
    <playbook-id>.html   optional: a playbook's own HTML letter

The HTML letter takes the subject, opening and closing from the text template (they are
written once, as plain text, and escaped into the page).
Facts: customer, summary, site, steps done (their customer text in the letter's language),
what happens next (open required steps with due dates), the voucher, a personal note,
dates written the locale's way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from recovery.domain.chain import canonical
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.playbook import StepDef
from recovery.domain.queries import resolved_states
from recovery.domain.state import IncidentState, StepState, parse_iso
from recovery.errors import CommandRejectedError
from recovery.letters.i18n import format_date, format_datetime, pick_locale, voucher_name

_NAME_LIKE = re.compile(r"^[a-z]+(?:[._-][a-z]+)+$")


@dataclass(frozen=True)
class RenderedLetter:
    """A letter as rendered (a preview) or as queued for the mailer (`letter_id` set)."""

    incident_id: str
    step_id: str
    locale: str
    subject: str
    text: str
    html: str
    letter_id: str | None = None
    recipient: str | None = None
    status: str | None = None

    @property
    def digest(self) -> str:
        """sha256 of what the customer reads; recorded in the log when the letter is queued."""
        content = {"locale": self.locale, "subject": self.subject, "text": self.text}
        return hashlib.sha256(canonical({**content, "html": self.html})).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "digest": self.digest}


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("recovery.letters", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def humanise(identifier: str) -> str:
    """'ribe-central' -> 'Ribe Central', 'mads.kristensen' -> 'Mads Kristensen'."""
    return " ".join(part.capitalize() for part in re.split(r"[._\-\s]+", identifier) if part)


def customer_text(definition: StepDef, locale: str, *, upcoming: bool = False) -> str | None:
    """The step as told to the customer in `locale` (English when not translated): what was
    done, or, `upcoming`, what is promised (None: the step is not told to customers)."""
    translated = definition.translations.get(locale)
    if upcoming:
        return (translated and translated.customer_next) or definition.customer_next
    return (translated and translated.customer_text) or definition.customer_text


def letter_facts(
    compiled: CompiledPlaybook,
    state: IncidentState,
    step_id: str,
    *,
    locale: str,
    now: datetime,
    zone: ZoneInfo | None = None,
    signer: str | None = None,
    recipient: str | None = None,
) -> dict[str, Any]:
    """What a letter may say about the incident, already in the letter's language."""
    step = state.steps.get(step_id)
    if step is None:
        raise CommandRejectedError(
            f"no step {step_id!r} on this incident; steps: {', '.join(state.steps)}", field="step"
        )
    resolved = resolved_states(compiled)

    def when(moment: str) -> str:
        # in the property's zone, marked (as the customer's status page writes it)
        at = parse_iso(moment)
        if zone is not None:
            at = at.astimezone(zone)
        return f"{format_datetime(at, locale)} {at.tzname()}"

    done: list[dict[str, str]] = []
    upcoming: list[dict[str, str]] = []
    finished = sorted(
        (s for s in state.steps.values() if s.status in resolved[s.kind]),
        key=lambda s: s.resolved_at or "",
    )
    for other in finished:
        text = customer_text(compiled.steps[other.id], locale)
        if other.id != step_id and other.status != "waived" and text:
            done.append({"step": other.id, "text": text, "at": when(other.resolved_at or "")})
    for other in state.steps.values():
        text = customer_text(compiled.steps[other.id], locale, upcoming=True)
        if other.id == step_id or not other.required or other.status in resolved[other.kind]:
            continue
        if text:
            upcoming.append({"step": other.id, "text": text, "due": when(other.due_at)})
    upcoming.sort(key=lambda item: state.steps[item["step"]].due_at)
    return {
        "locale": locale,
        "playbook_id": compiled.playbook.id,
        "reference": state.id,
        "date": format_date(now, locale, zone),
        "opened": format_date(parse_iso(state.opened_at), locale, zone),
        "customer": {
            "name": state.customer.get("name", ""),
            "contact": state.customer.get("contact"),
        },
        "recipient": recipient,
        # Only what the customer may read: the internal summary is for colleagues.
        "summary": state.customer_summary,
        "site": state.site,
        "site_name": humanise(state.site),
        "signer": humanise(signer) if signer and _NAME_LIKE.match(signer) else None,
        "done": done,
        "next": upcoming,
        "voucher": _voucher(compiled.steps[step_id], step, locale),
        "note": step.evidence.get("body") or None,
    }


def _voucher(definition: StepDef, step: StepState, locale: str) -> dict[str, Any] | None:
    code = step.evidence.get("voucher_code")
    if definition.voucher is None or not code:
        return None
    valid_until = step.evidence.get("voucher_valid_until")
    return {
        "code": code,
        "kind": definition.voucher.kind,
        "name": voucher_name(definition.voucher.kind, locale),
        "valid_until": format_date(date.fromisoformat(valid_until), locale)
        if valid_until
        else None,
    }


def _block(template: Template, name: str, facts: dict[str, Any]) -> str:
    render = template.blocks.get(name)
    if render is None:
        return ""
    return "".join(render(template.new_context(dict(facts)))).strip()


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def render_facts(facts: dict[str, Any], *, incident_id: str, step_id: str) -> RenderedLetter:
    env = environment()
    locale = pick_locale(facts["locale"])
    playbook_id = facts["playbook_id"]
    text_template = env.select_template([f"{locale}/{playbook_id}.txt", f"{locale}/letter.txt"])
    html_template = env.select_template([f"{locale}/{playbook_id}.html", f"{locale}/letter.html"])
    subject = " ".join(_block(text_template, "subject", facts).split())
    text = text_template.render(facts).strip() + "\n"
    html = html_template.render(
        {
            **facts,
            "subject": subject,
            "opening": _paragraphs(_block(text_template, "opening", facts)),
            "closing": _paragraphs(_block(text_template, "closing", facts)),
            "voucher_use": " ".join(_block(text_template, "voucher_use", facts).split()),
        }
    )
    return RenderedLetter(
        incident_id=incident_id,
        step_id=step_id,
        locale=locale,
        subject=subject,
        text=text,
        html=html,
        recipient=facts.get("recipient"),
    )


def render_step_letter(
    compiled: CompiledPlaybook,
    state: IncidentState,
    step_id: str,
    *,
    locale: str | None = None,
    now: datetime,
    zone: ZoneInfo | None = None,
    signer: str | None = None,
    recipient: str | None = None,
) -> RenderedLetter:
    """The letter of a written step as it would be sent now (in the customer's language
    unless `locale` says otherwise; English when there is no letter in that language)."""
    chosen = pick_locale(locale or state.customer.get("language"))
    facts = letter_facts(
        compiled,
        state,
        step_id,
        locale=chosen,
        now=now,
        zone=zone,
        signer=signer,
        recipient=recipient,
    )
    return render_facts(facts, incident_id=state.id, step_id=step_id)
