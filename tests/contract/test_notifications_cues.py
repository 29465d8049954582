"""A tier raised by a cue tells the roles the playbook's rule names, at the incident's
property: the manager for an upset guest, the manager and the loyalty team for a guest of
many years; once each, and never the desk who reported it."""

from __future__ import annotations

from recovery import Recovery
from recovery.service.notifications import Notifier
from tests.conftest import FRONT_DESK, Clock
from tests.contract.support import open_hotel

USERS = {
    "ana": ("front_desk", ["ribe"]),
    "mads": ("manager", ["ribe"]),
    "lise": ("loyalty_team", ["ribe"]),
    "vejle-boss": ("manager", ["vejle"]),
}


def kinds(rec: Recovery, who: str) -> list[tuple[str, str]]:
    return [(n.kind, n.incident_id) for n in rec.storage.notifications.list(who)]


def test_a_cue_reported_later_tells_the_manager(rec: Recovery, clock: Clock) -> None:
    for name, (role, sites) in USERS.items():
        rec.storage.accounts.add_user(name, "not-a-real-hash", role, sites, clock())
    notifier = Notifier(rec)
    iid = open_hotel(rec).id
    notifier.tell(iid)
    assert kinds(rec, "mads") == []

    raised = rec.report_cues(iid, ["upset"], actor=FRONT_DESK)
    assert raised.incident.state.tier == 2
    notifier.tell(iid)
    assert kinds(rec, "mads") == [("tier_raised", iid)]
    [notice] = rec.storage.notifications.list("mads")
    assert notice.seq == raised.event.seq and "tier raised to 2" in notice.message
    assert kinds(rec, "lise") == []  # the upset rule names the manager only
    assert kinds(rec, "vejle-boss") == [] and kinds(rec, "ana") == []
    assert notifier.tell(iid) == 0  # once


def test_a_long_tenure_at_open_tells_the_manager_and_the_loyalty_team(
    rec: Recovery, clock: Clock
) -> None:
    for name, (role, sites) in USERS.items():
        rec.storage.accounts.add_user(name, "not-a-real-hash", role, sites, clock())
    iid = open_hotel(rec, member_since="2014-05-01").id
    Notifier(rec).tell(iid)
    assert kinds(rec, "mads") == [("tier_raised", iid)]
    assert kinds(rec, "lise") == [("tier_raised", iid)]
    assert kinds(rec, "ana") == []
