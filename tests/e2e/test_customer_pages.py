"""The customer's status page is honest in every state a shipped playbook can reach: every
step is driven through the engine (done, approved, drafted, sending, sent, waived, denied;
the incident escalated, handed off, closed, released), and after each move the page, in
English, Danish and Indonesian, tells as done exactly the steps that are done, promises
only what is still to do, and shows no staff name, note, reason or evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from recovery import Actor, Catalog, Recovery
from recovery.domain.commands import CustomerProfile, OpenIncident
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.playbook import EvidenceField, StepDef
from recovery.domain.queries import resolved_states
from recovery.http.web.i18n import step_text, words
from tests.e2e.test_web_helpers import Site, running_site, text_of

# Staff and their words: none of this may reach the customer's page.
BOSS = Actor(id="quinnboss", role="manager")
SECRETS = (
    "quinnboss",
    "ygrittestaff",
    "NOTESECRET",
    "WAIVESECRET",
    "EVIDSECRET",
    "HANDOFFSECRET",
    "ESCALATESECRET",
    "RELEASESECRET",
    "INTERNALSUMMARY",
)
LOCALES = ("en", "da", "id")


@pytest.fixture
def lite(catalog: Catalog, sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def evidence_for(fields: list[EvidenceField]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields:
        if f.type == "text":
            values[f.name] = f"EVIDSECRET {f.name}"
        elif f.type in ("number", "money"):
            values[f.name] = min(f.max if f.max is not None else 10, 10)
        elif f.type == "bool":
            values[f.name] = False
        elif f.type == "choice":
            values[f.name] = (f.choices or [""])[0]
        elif f.type == "date":
            values[f.name] = "2026-07-01"
    return values


def open_everything(rec: Recovery, compiled: CompiledPlaybook) -> str:
    """An incident of this playbook with every cue rule fired (every tier step open)."""
    playbook = compiled.playbook
    cues = sorted({c for r in playbook.cue_rules for c in (r.when.cues_any or [])})
    segments = [s for r in playbook.cue_rules for s in (r.when.segment_in or [])]
    command = OpenIncident(
        incident_type=playbook.incident_types[0],
        site="ribe",
        customer=CustomerProfile(
            name="Guest Person",
            contact="guest@example.com",
            member_since=date(2010, 1, 1),
            order_value=1_000_000,
            segment=segments[0] if segments else None,
            language="da",
        ),
        cues=cues,
        summary="INTERNALSUMMARY the desk's own words",
    )
    return rec.open(command, actor=BOSS).id


def check_page(site: Site, token: str, rec: Recovery, incident_id: str) -> None:
    state = rec.get(incident_id).state
    compiled = rec.playbook_of(state)
    resolved = resolved_states(compiled)
    client = site.client()
    for locale in LOCALES:
        response = client.get(f"/status/{token}?lang={locale}")
        assert response.status_code == 200
        page = text_of(response.text)
        where = f"{compiled.playbook.id} {state.status} {locale}"
        any_done = False
        for step in state.steps.values():
            definition: StepDef = compiled.steps[step.id]
            done = step.status in resolved[step.kind] and step.status != "waived"
            any_done = any_done or done
            past = step_text(definition, locale, done=True)
            future = step_text(definition, locale, done=False)
            if past:
                assert (past in page) == done, (where, step.id, step.status, past)
            promised = (
                step.status not in resolved[step.kind]
                and step.required
                and state.status in ("open", "escalated")
            )
            if future:
                assert (future in page) == promised, (where, step.id, step.status, future)
        assert (words(locale)["nothing_done"] in page) == (not any_done), where
        for secret in SECRETS:
            assert secret.lower() not in page.lower(), (where, secret)


Move = Callable[[], Any]


def moves_through(rec: Recovery, site: Site, incident_id: str, step: StepDef) -> list[Move]:
    """Every state of the step's lifecycle on the way to done."""
    evidence = evidence_for(step.evidence)
    act = rec.act_on_step
    if step.kind == "compensation":
        amount = float(evidence[step.amount_field])
        return [
            lambda: rec.request_approval(incident_id, step.id, amount, actor=BOSS),
            lambda: rec.grant_approval(incident_id, step.id, actor=BOSS),
            lambda: rec.complete_step(incident_id, step.id, evidence, actor=BOSS),
        ]
    if step.kind == "written":
        return [
            lambda: act(incident_id, step.id, "draft", actor=BOSS),
            lambda: act(incident_id, step.id, "request_send", actor=BOSS),
            site.run_mailer,
        ]
    return [lambda: rec.complete_step(incident_id, step.id, evidence, actor=BOSS)]


@pytest.mark.parametrize(
    "playbook_id",
    [
        "hotel-walked-guest",
        "complaint-written-answer",
        "loyal-customer-at-risk",
        "pass-change-bounced",
        "telecom-billing-error",
    ],
)
def test_the_customer_page_claims_nothing_that_did_not_happen(
    lite: Site, catalog: Catalog, playbook_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(lite.mail_dir))
    rec = lite.rec
    compiled = catalog.get(playbook_id)
    links = lite.app.state.web.links

    # Every step on its way to done, the incident escalated and handed off on the way.
    done_way = open_everything(rec, compiled)
    token = links.create(done_way, "test", rec.clock())
    check_page(lite, token, rec, done_way)
    rec.add_note(done_way, "NOTESECRET about the guest", actor=BOSS)
    rec.escalate(done_way, "ESCALATESECRET", actor=BOSS)
    rec.hand_off(done_way, "ygrittestaff", "HANDOFFSECRET the whole story", actor=BOSS)
    check_page(lite, token, rec, done_way)
    for step in rec.get(done_way).state.steps.values():
        for move in moves_through(rec, lite, done_way, compiled.steps[step.id]):
            move()
            check_page(lite, token, rec, done_way)
    rec.close(done_way, actor=BOSS)
    check_page(lite, token, rec, done_way)

    # Every step declined on the way: approvals denied, then waived; then released.
    waived_way = open_everything(rec, compiled)
    token = links.create(waived_way, "test", rec.clock())
    for step in rec.get(waived_way).state.steps.values():
        if step.kind == "compensation":
            rec.request_approval(waived_way, step.id, 10, actor=BOSS)
            check_page(lite, token, rec, waived_way)
            rec.deny_approval(waived_way, step.id, ["WAIVESECRET instead"], actor=BOSS)
            check_page(lite, token, rec, waived_way)
        rec.waive_step(waived_way, step.id, "WAIVESECRET not needed", actor=BOSS)
        check_page(lite, token, rec, waived_way)
    rec.release(waived_way, "RELEASESECRET", "Another operator can help", actor=BOSS)
    check_page(lite, token, rec, waived_way)
