"""The customer asks to be called back from their status page, on a running site: the
request is recorded on the incident as an inbound contact, the owner is told, a fourth
request within the hour is refused in the customer's language, a form from another site
is refused, and the page shows no staff name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recovery import Catalog
from recovery.http.web.i18n import words
from recovery.service.callbacks import LIMIT, MESSAGE_MAX
from recovery.service.notifications import Notifier
from tests.e2e.test_web_helpers import HOTEL_FORM, csrf_of, running_site, text_of


def test_the_customer_asks_to_be_called_back(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(tmp_path / "mail"))
    with running_site(sqlite_url, catalog, tmp_path / "mail") as site:
        desk = site.signed_in("ana")
        desk.get("/web/incidents/new")
        landed = desk.follow(desk.post("/web/incidents/new", HOTEL_FORM))
        link = desk.flash_link()
        assert link
        incident_id = landed.url.path.rsplit("/", 1)[1]
        token = link.rsplit("/", 1)[1]
        da = words("da")  # the customer's language (HOTEL_FORM)

        guest = site.client()
        page = guest.get(f"/status/{token}")
        assert da["callback_send"] in page.text
        assert "callback_received" not in page.text and "Vi har modtaget" not in page.text
        form = {"csrf": csrf_of(page.text), "phone": "+45 20 30 40 50", "message": "After 5"}

        # From a page of another site: refused, nothing recorded.
        forged = guest.post(
            f"/status/{token}/callback", data=form, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403
        # Without the form's token: refused too.
        assert guest.post(f"/status/{token}/callback", data={"phone": "1234"}).status_code == 403
        # Bad input: said in the customer's language, nothing recorded.
        bad = guest.post(f"/status/{token}/callback", data={**form, "phone": "call me<script>"})
        assert bad.status_code == 400
        assert da["callback_bad"].format(most=MESSAGE_MAX) in text_of(bad.text)
        long = guest.post(f"/status/{token}/callback", data={**form, "message": "x" * 501})
        assert long.status_code == 400

        def requests() -> list[str]:
            return [
                e.data["summary"]
                for e in site.rec.timeline(incident_id)
                if e.type == "contact_recorded" and e.channel == "status_page"
            ]

        assert requests() == []

        for _ in range(LIMIT):
            sent = guest.post(f"/status/{token}/callback", data=form)
            assert sent.status_code == 303, sent.text[:500]
        assert requests() == ["Callback requested at +45 20 30 40 50: After 5"] * LIMIT
        after = guest.get(sent.headers["location"])
        shown = text_of(after.text)
        assert "Vi har modtaget din anmodning, sendt" in shown
        # No staff name, and no promise of a time to call.
        assert not re.search(r"\bana\b", shown, re.I)

        refused = guest.post(f"/status/{token}/callback", data=form)
        assert refused.status_code == 429
        assert da["callback_limit"].format(limit=LIMIT) in text_of(refused.text)
        assert len(requests()) == LIMIT, "the fourth request within the hour is not recorded"
        event = next(e for e in site.rec.timeline(incident_id) if e.channel == "status_page")
        assert event.actor.startswith("customer:") and event.actor_role == "customer"
        assert event.data["direction"] == "inbound"

        # The owner is told (once per request), on their notifications page.
        assert site.rec.get(incident_id).state.owner == "ana"
        Notifier(site.rec).tell(incident_id)
        told = site.rec.storage.notifications.list("ana")
        assert [n.kind for n in told].count("callback_requested") == LIMIT
        assert all(
            n.message == "Mette Jensen asks to be called back"
            for n in told
            if n.kind == "callback_requested"
        )
        desk.get("/web/notifications")
        assert "Mette Jensen asks to be called back" in text_of(desk.page)
