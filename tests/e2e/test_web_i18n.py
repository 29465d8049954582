"""Staff pages in English, Danish and Indonesian over HTTP on a real server: the browser's
Accept-Language chooses until the person chooses (their preferences page, or an admin);
refusals are said in their language; each time on the board is in its property's zone,
marked; only the actions the role may take are offered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from recovery.domain.commands import CustomerProfile, OpenIncident
from recovery.domain.describe import describe
from recovery.service.notifications import Notifier
from tests.conftest import MANAGER
from tests.e2e.test_web_helpers import HOTEL_FORM, Person, Site, running_site, text_of

DANISH = {"Accept-Language": "da-DK,da;q=0.9,en;q=0.8"}
INDONESIAN = {"Accept-Language": "id-ID,id;q=0.9"}


@pytest.fixture
def lite(catalog: Catalog, sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def person(site: Site, username: str, headers: dict[str, str] | None = None) -> Person:
    client = site.client()
    client.headers.update(headers or {})
    someone = Person(client)
    someone.sign_in(username)
    return someone


def lang_of(page: str) -> str:
    found = re.search(r'<html lang="([^"]*)"', page)
    assert found, "no <html lang>"
    return found[1]


def test_the_browser_language_chooses_the_sign_in_page(lite: Site) -> None:
    for headers, lang, words in [
        (DANISH, "da", "Log ind"),
        (INDONESIAN, "id", "Masuk"),
        ({"Accept-Language": "fr-FR,fr"}, "en", "Sign in"),
        ({}, "en", "Sign in"),
    ]:
        page = lite.client().get("/login", headers=headers).text
        assert lang_of(page) == lang
        assert words in text_of(page)


def test_a_persons_choice_wins_over_the_browser_until_they_clear_it(lite: Site) -> None:
    ana = person(lite, "ana", INDONESIAN)
    board = ana.get("/").text
    assert lang_of(board) == "id"
    assert "Kasus terbuka" in text_of(board) and "Open incidents" not in text_of(board)

    ana.get("/web/preferences")
    saved = ana.follow(ana.post("/web/preferences", {"locale": "da"})).text
    assert "Sproget er gemt." in text_of(saved)
    board = ana.get("/").text
    assert lang_of(board) == "da" and "Åbne sager" in text_of(board)

    # another browser, another header: her choice goes with her
    elsewhere = person(lite, "ana", {"Accept-Language": "en-GB"})
    assert "Åbne sager" in text_of(elsewhere.get("/").text)

    ana.get("/web/preferences")
    ana.follow(ana.post("/web/preferences", {"locale": ""}))
    assert lang_of(ana.get("/").text) == "id"  # the browser's again

    refused = ana.post("/web/preferences", {"locale": "fr"})
    assert refused.status_code == 400
    assert "locale must be one of: en, da, id" in text_of(refused.text)


def test_an_admin_sets_a_users_language(lite: Site) -> None:
    root = person(lite, "root")
    root.get("/web/admin/users")
    done = root.follow(root.post("/web/admin/users/mads/locale", {"locale": "id"})).text
    assert "mads sees the pages in Bahasa Indonesia." in text_of(done)
    assert re.search(r'id="locale-mads".*?<option value="id" selected>', done, re.S)
    assert lang_of(person(lite, "mads").get("/").text) == "id"
    refused = root.post("/web/admin/users/mads/locale", {"locale": "klingon"})
    assert refused.status_code == 400


def test_the_incident_page_and_a_refusal_in_danish_offer_only_the_roles_actions(
    lite: Site,
) -> None:
    ana = person(lite, "ana", DANISH)
    ana.get("/web/incidents/new")
    created = ana.post("/web/incidents/new", data=HOTEL_FORM)
    incident_id = str(created.headers["location"]).rsplit("/", 1)[1]
    page = ana.get(f"/web/incidents/{incident_id}").text
    shown = text_of(page)
    assert lang_of(page) == "da"
    for words in ("Genopretningstrin", "Tidslinje", "Ansvarlig", "Markér som udført"):
        assert words in shown, words
    assert "Fravig dette trin" not in shown  # waiving is a manager's
    assert "Fravig dette trin" in text_of(
        person(lite, "mads", DANISH).get(f"/web/incidents/{incident_id}").text
    )

    refused = ana.post(f"/web/incidents/{incident_id}/close", {"summary": "færdig?"})
    assert refused.status_code == 409
    problem = re.search(r'<section class="problem".*?</section>', refused.text, re.S)
    assert problem is not None
    said = text_of(problem[0])
    assert "Ikke registreret." in said
    assert "Sagen kan ikke lukkes, mens disse påkrævede trin stadig skal udføres" in said

    # the API keeps its machine-readable body (codes, and the words in English)
    _, secret = lite.app.state.ctx.accounts.create_token("pms", "integration", ["ribe"])
    api = lite.client().post(
        f"/incidents/{incident_id}/close",
        json={"summary": "x"},
        headers={"Authorization": f"Bearer {secret}", **DANISH},
    )
    assert api.status_code == 409
    body = api.json()
    assert body["state"] == "open" and "close" not in body["allowed"]
    assert body["plain"].startswith("The incident cannot be closed while these required steps")


def test_the_board_shows_each_time_in_its_propertys_zone_marked(lite: Site) -> None:
    for site, name in (("jakarta-thamrin", "Dewi Lestari"), ("ribe-central", "Jens Holm")):
        lite.rec.open(
            OpenIncident(
                incident_type="hotel.walked_guest",
                site=site,
                customer=CustomerProfile(name=name, contact="x@example.com"),
            ),
            actor=MANAGER,
            channel="desk",
        )
    board = person(lite, "aud", INDONESIAN).get("/").text
    rows = {
        name: text_of(row)
        for row in re.findall(r"<tr class=.*?</tr>", board, re.S)
        for name in ("Dewi Lestari", "Jens Holm")
        if name in row
    }
    assert re.search(r"\d\d:\d\d WIB", rows["Dewi Lestari"]), rows["Dewi Lestari"]
    assert re.search(r"\d\d:\d\d CES?T", rows["Jens Holm"]), rows["Jens Holm"]
    assert "tenggat" in rows["Dewi Lestari"]  # "due", in Indonesian


def test_what_a_form_did_is_said_in_the_persons_language(lite: Site) -> None:
    ana = person(lite, "ana", INDONESIAN)
    ana.get("/web/incidents/new")
    created = ana.post("/web/incidents/new", data=HOTEL_FORM)
    incident_id = str(created.headers["location"]).rsplit("/", 1)[1]
    ana.get(f"/web/incidents/{incident_id}")
    noted = ana.follow(ana.post(f"/web/incidents/{incident_id}/notes", {"text": "tamu di lobi"}))
    assert "Catatan ditambahkan." in text_of(noted.text)
    done = ana.follow(
        ana.post(f"/web/incidents/{incident_id}/steps/apologise/complete", {"ev.apology_by": "Ana"})
    )
    assert re.search(r"Minta maaf dengan tulus: selesai\.", text_of(done.text))
    signed_out = ana.follow(ana.post("/logout"))
    assert "Anda sudah keluar." in text_of(signed_out.text)


def test_the_playbooks_words_the_timeline_and_notices_in_each_persons_language(
    lite: Site,
) -> None:
    """Ana works in Danish, Mads (her manager) in Indonesian: each reads the playbook's step
    titles and evidence labels, the timeline and what they are told in their own language,
    while the API keeps the English."""
    ana = person(lite, "ana", DANISH)
    mads = person(lite, "mads", INDONESIAN)
    ana.get("/web/incidents/new")
    created = ana.post("/web/incidents/new", data=HOTEL_FORM)
    incident_id = str(created.headers["location"]).rsplit("/", 1)[1]
    page = text_of(ana.get(f"/web/incidents/{incident_id}").text)
    assert "Sig undskyld og mén det" in page  # the step's title, from the playbook
    assert "Hvem sagde undskyld" in page  # its evidence label
    assert "Afstand fra dette hotel (km)" in page
    assert "Apologise and mean it" not in page and "Who apologised" not in page
    assert "Gæst uden værelse (intet værelse ved ankomst)" in page  # the playbook's title

    ana.post(f"/web/incidents/{incident_id}/steps/apologise/complete", {"ev.apology_by": "Ana"})
    ana.get(f"/web/incidents/{incident_id}")
    ana.post(
        f"/web/incidents/{incident_id}/steps/pay_room/request_approval",
        {"amount": "450", "reason": "Suite"},
    )
    page = text_of(ana.get(f"/web/incidents/{incident_id}").text)
    assert "Sig undskyld og mén det: udført" in page  # a timeline title
    assert "Insistér på at betale for erstatningsværelset: godkendelse anmodet" in page
    assert "Oprettet for" in page

    Notifier(lite.rec).tell(incident_id)
    told = text_of(mads.get("/web/notifications").text)
    assert "meminta persetujuan untuk 450 EUR untuk Bersikeras membayar kamar pengganti" in told
    seen = text_of(mads.get(f"/web/incidents/{incident_id}").text)
    assert "Minta maaf dengan tulus: selesai" in seen  # the timeline, in Indonesian
    assert "Siapa yang meminta maaf" in seen  # the evidence label
    assert "Bersikeras membayar kamar pengganti: persetujuan diminta" in seen
    queue = text_of(mads.get("/web/approvals").text)
    assert "Bersikeras membayar kamar pengganti" in queue

    mads.post(
        f"/web/incidents/{incident_id}/steps/pay_room/grant_approval",
        {"reason": "Akhir pekan pernikahan"},
    )
    Notifier(lite.rec).tell(incident_id)
    told = text_of(ana.get("/web/notifications").text)
    assert "mads godkendte Insistér på at betale for erstatningsværelset" in told
    board = text_of(ana.get("/").text)
    assert "Gæst uden værelse" in board  # the board's playbook column
    new_form = ana.get("/web/incidents/new").text
    # the code first (typing it picks the type), then its playbook's title in Danish
    assert "hotel.walked_guest · Gæst uden værelse (intet værelse ved ankomst)" in new_form
    book = ana.get("/web/playbooks/hotel-walked-guest").text
    shown = text_of(book)
    assert "Afstand fra dette hotel (km) (tal" in shown  # an evidence field's type
    assert "(number" not in shown
    assert "utilfreds / overvejer en konkurrent / offentlig klage" in shown  # a rule's cues
    assert "considering_competitor" not in shown and "loyalty_team" not in shown
    svg = "".join(re.findall(r'<svg class="diagram".*?</svg>', book, re.S))
    assert "Sagens livsforløb" in svg and ">afventer godkendelse</text>" in svg  # diagrams
    assert ">awaiting_approval<" not in svg and "Incident lifecycle" not in svg

    # the API and the stored message keep the English
    (notice,) = lite.rec.storage.notifications.list("ana")
    assert str(notice.message).endswith("mads approved Insist on paying for the replacement room")
    compiled = lite.rec.playbook_of(lite.rec.get(incident_id).state)
    titles = [describe(e, compiled).title for e in lite.rec.timeline(incident_id)]
    assert "Apologise and mean it: done" in titles  # the CLI's timeline


def test_a_conflict_is_said_in_the_persons_language(lite: Site) -> None:
    """Who changed what since the page was shown, in Danish for a Danish desk: the sentence,
    the role and what was done, each in the viewer's words."""
    from tests.e2e.test_web import shown_version

    ana, mads = person(lite, "ana", DANISH), person(lite, "mads")
    ana.get("/web/incidents/new")
    created = ana.post("/web/incidents/new", data=HOTEL_FORM)
    incident_id = str(created.headers["location"]).rsplit("/", 1)[1]
    seen = shown_version(ana.get(f"/web/incidents/{incident_id}").text, "step-dinner-complete")
    mads.get(f"/web/incidents/{incident_id}")
    waived = mads.post(
        f"/web/incidents/{incident_id}/steps/dinner/waive",
        {"reason": "ate at the wedding", "version": seen},
    )
    assert waived.status_code == 303
    stale = ana.post(
        f"/web/incidents/{incident_id}/steps/dinner/complete",
        {"ev.amount": "60", "ev.restaurant": "Backhaus", "version": seen},
    )
    assert stale.status_code == 409
    problem = re.search(r'<section class="problem".*?</section>', stale.text, re.S)
    assert problem is not None
    said = text_of(problem[0])
    assert "En anden har registreret noget på denne sag, efter du åbnede siden: mads (" in said
    assert "Someone else" not in said and "manager" not in said, said
