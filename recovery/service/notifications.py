"""Notifications: what each person is told, derived from the events by the worker, once.

Who is told what:

- an approval requested, a cue rule fired, deadlines missed: everyone whose role the
  playbook names in the event's `notify` effect (managers, the loyalty team, ...), at the
  incident's property;
- deadlines missed: also the incident's owner, and whoever owns a missed step's role;
- an approval granted or declined: the person who asked for it;
- an incident handed off: the person it was handed to;
- the customer asks to be called back from their status page: the incident's owner.

Nobody is told of what they did themselves. `Notifier.tell` derives what incidents' new events
tell without writing, then stores it in one short transaction that moves each incident's
mark only if it is still where the derivation started (so several workers never tell
twice, and the database's writers are held up once per pass, not per incident);
`Notifier.catch_up` finds incidents with untold events (after a restart), the change
feed the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.describe import show_value
from recovery.domain.effects import Notice, effects_of
from recovery.domain.state import Event, IncidentState
from recovery.domain.words import Said, say, say_list
from recovery.errors import IncidentNotFoundError, RecoveryError, StorageError
from recovery.service.engine import Recovery
from recovery.service.ports.accounts import UserRow
from recovery.service.ports.notifications import NewNotice, NotificationStore, Told

log = logging.getLogger("recovery.notifications")

# `say`: the words are in the staff pages' catalogs
KINDS = {
    "approval_requested": say("approval requested"),
    "approval_granted": say("your request was approved"),
    "approval_denied": say("your request was declined"),
    "handed_to_you": say("handed to you"),
    "step_overdue": say("deadline missed"),
    "tier_raised": say("tier raised"),
    "callback_requested": say("the customer asks to be called back"),
}


def _people(users: Iterable[UserRow], roles: set[str], site: str) -> list[str]:
    return [
        u.username
        for u in users
        if u.active and u.role in roles and ("*" in u.sites or site in u.sites)
    ]


def notices_for(
    state: IncidentState,
    events: Sequence[Event],
    users: Sequence[UserRow],
    after: int,
    compiled: CompiledPlaybook | None = None,
) -> list[NewNotice]:
    """What the events after seq `after` tell whom (pure: the incident, its events and
    the users). Each message is `Said`: English, with its words kept for the reader's
    language (step titles as the playbook translates them, given `compiled`)."""
    customer = str(state.customer.get("name") or state.id)
    titles: dict[str, str] = {s.id: s.title for s in state.steps.values()}
    if compiled is not None:
        titles.update((s, compiled.said.step_title(s)) for s in titles)

    currency = compiled.playbook.currency if compiled is not None else None

    def steps_said(step_ids: Iterable[str]) -> str:
        return say_list(titles.get(s, s) for s in step_ids)

    found: list[NewNotice] = []
    requester: dict[str, str] = {}  # step -> who asked for its approval
    for event in events:
        data = event.data
        if event.type == "step_action" and data.get("action") == "request_approval":
            requester[str(data.get("step"))] = event.actor
        if event.seq <= after:
            continue
        wanted: list[tuple[Iterable[str], str, Said]] = []  # (people, kind, message)
        tell = wanted.append

        for effect in effects_of(data):
            if not isinstance(effect, Notice) or effect.kind != "notify":
                continue
            if effect.reason == "approval_requested":
                step = titles.get(str(data.get("step")), str(data.get("step")))
                amount = data.get("amount")
                what = (
                    say(
                        "{amount} for {step}",
                        amount=show_value(amount, money=currency),
                        step=step,
                    )
                    if isinstance(amount, int | float)
                    else step
                )
                message = say(
                    "{customer}: {person} asks for approval of {what}",
                    customer=customer,
                    person=event.actor,
                    what=what,
                )
                tell((_people(users, {effect.role}, state.site), "approval_requested", message))
            elif effect.reason == "deadline_missed":
                missed = effect.steps or []
                message = say(
                    "{customer}: deadline missed for {steps}",
                    customer=customer,
                    steps=steps_said(missed),
                )
                tell((_people(users, {effect.role}, state.site), "step_overdue", message))
            elif effect.reason.startswith("cue:"):
                message = say(
                    "{customer}: tier raised to {tier} ({cue})",
                    customer=customer,
                    tier=state.tier,
                    cue=effect.reason[4:],
                )
                tell((_people(users, {effect.role}, state.site), "tier_raised", message))
        if event.type == "deadline_missed":
            missed = [str(s) for s in data.get("steps", [])]
            owners = {state.steps[s].owner for s in missed if s in state.steps}
            message = say(
                "{customer}: deadline missed for {steps}",
                customer=customer,
                steps=steps_said(missed),
            )
            tell(([state.owner, *_people(users, owners, state.site)], "step_overdue", message))
        elif event.type == "step_action" and data.get("action") in (
            "grant_approval",
            "deny_approval",
        ):
            step_id = str(data.get("step"))
            asked = requester.get(step_id)
            if asked:
                granted = data.get("action") == "grant_approval"
                words = {
                    "customer": customer,
                    "person": event.actor,
                    "step": titles.get(step_id, step_id),
                }
                message = (
                    say("{customer}: {person} approved {step}", **words)
                    if granted
                    else say("{customer}: {person} declined {step}", **words)
                )
                kind = "approval_granted" if granted else "approval_denied"
                tell(([asked], kind, message))
        elif event.type == "contact_recorded" and event.channel == "status_page":
            # what the customer wrote stays in the timeline; the notice says only who asks
            message = say("{customer} asks to be called back", customer=customer)
            tell(([state.owner], "callback_requested", message))
        elif event.type == "handed_off":
            message = say(
                "{customer}: {person} handed this incident to you",
                customer=customer,
                person=event.actor,
            )
            tell(([str(data.get("to"))], "handed_to_you", message))
        told: dict[str, tuple[str, Said]] = {}  # recipient -> (kind, message): the first
        for people, kind, message in wanted:
            for person in people:
                if person and person != event.actor:
                    told.setdefault(person, (kind, message))
        found += [
            NewNotice(person, state.id, event.seq, kind, state.site, message)
            for person, (kind, message) in told.items()
        ]
    return found


class Notifier:
    """Tells people what the events ask for (the worker runs it). Deriving reads only;
    one short write per call stores what a whole batch of incidents tells."""

    def __init__(self, rec: Recovery, store: NotificationStore | None = None) -> None:
        self.rec = rec
        self.store = store or rec.storage.notifications

    def _derive(self, incident_id: str, after: int, users: Sequence[UserRow]) -> Told | None:
        try:
            state = self.rec.get(incident_id).state
            if state.version <= after:
                return None
            events = self.rec.timeline(incident_id)
            compiled = self.rec.playbook_of(state)
        except IncidentNotFoundError:  # e.g. another schema's change on a shared channel
            return None
        except StorageError:
            raise
        except RecoveryError:  # one incident's trouble stops no one else's notices
            log.exception("notifications: cannot read incident %s", incident_id)
            return None
        upto = events[-1].seq
        return Told(incident_id, after, upto, notices_for(state, events, users, after, compiled))

    def tell(self, *incident_ids: str, now: datetime | None = None, tries: int = 3) -> int:
        """Tell what the incidents' untold events ask for; how many notices were stored.
        An incident another worker told meanwhile is derived again from its new mark."""
        stored = 0
        pending = list(dict.fromkeys(incident_ids))
        for _ in range(tries):
            if not pending:
                break
            users = self.rec.storage.accounts.list_users()
            marks = self.store.marks(pending)
            told = [t for key in pending if (t := self._derive(key, marks[key], users))]
            if not told:
                break
            count, pending = self.store.record(told, now or self.rec.clock())
            stored += count
        return stored

    def catch_up(self, batch: int = 500, most: int = 1000) -> int:
        """Tell the untold events of active incidents (after a restart, or an outage), a
        batch at a time (at most `most` batches: the change feed carries on after)."""
        told = 0
        for _ in range(most):
            found = self.store.untold(sorted(ACTIVE_STATES), batch)
            told += self.tell(*found)
            if len(found) < batch:
                break
        return told
