"""Personal data on request through the CLI and the HTTP API: export and erase a customer,
as an administrator only; clear errors for an unknown customer or a missing reason; the
audit still verifies (reporting the erased incidents) and replays; auditors see that an
erasure happened and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog, CustomerProfile, OpenIncident
from recovery.domain.commands import Actor
from tests.e2e.test_api_helpers import HOTEL, Api, running_api
from tests.e2e.test_cli import run, run_json
from tests.e2e.test_web_helpers import running_site

PHRASE = "allergic to shellfish since 2019"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def open_complaint(db: str, key: str) -> str:
    opened = run_json(
        "incident", "open", "--db", db, "--type", "energy.complaint", "--site", "ribe",
        "--customer", "Jonas Berg", "--customer-key", key, "--contact", "jonas@example.com",
        "--summary", f"bill doubled; {PHRASE}", "--customer-summary", "Your March bill",
    )  # fmt: skip
    return str(opened["incident"]["id"])


def test_export_then_erase_a_customer_from_the_cli(db: str, tmp_path: Path) -> None:
    first, second = open_complaint(db, "ACC-9"), open_complaint(db, "ACC-9")
    other = open_complaint(db, "ACC-10")
    out = tmp_path / "acc-9.json"
    run("customers", "export", "ACC-9", "--db", db, "--output", str(out))
    exported = json.loads(out.read_text())
    assert {i["incident_id"] for i in exported["incidents"]} == {first, second}
    assert exported["incidents"][0]["customer"]["name"] == "Jonas Berg"
    assert PHRASE in exported["incidents"][0]["summary"]

    done = run_json("customers", "erase", "ACC-9", "--reason", "asked by phone", "--db", db)
    assert sorted(done["erased"]) == sorted([first, second])

    audit = run_json("audit", "verify", "--all", "--db", db)
    assert (audit["ok"], audit["incidents"], audit["erased"]) == (True, 3, 2)
    assert "2 with personal data erased" in run("audit", "verify", "--all", "--db", db).stdout
    replayed = run_json("audit", "replay", first, "--db", db)
    assert replayed["erased_at"] is not None and replayed["customer"] == {}
    shown = run_json("incident", "show", first, "--db", db)
    assert PHRASE not in json.dumps(shown)
    kept = json.loads(run("customers", "export", "ACC-10", "--db", db).stdout)
    assert kept["incidents"][0]["incident_id"] == other
    # clear errors, never a traceback
    gone = run("customers", "export", "ACC-9", "--db", db, code=4)
    assert "no customer with the key 'ACC-9'" in gone.stderr
    run("customers", "erase", "ACC-404", "--reason", "x", "--db", db, code=4)
    refused = run("incident", "note", first, "again", "--db", db, code=5)
    assert "erased" in refused.stderr


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db = tmp_path_factory.mktemp("privacy") / "recovery.db"
    catalog = Catalog.from_directory(Path(__file__).resolve().parents[2] / "playbooks")
    with running_api(f"sqlite:///{db}", catalog) as running:
        yield running


def test_erase_and_export_over_http(api: Api) -> None:
    customer = {**HOTEL["customer"], "contact": "karoline@example.dk"}
    incident = api.open("desk", customer=customer)["id"]
    admin, auditor = api.client("admin"), api.client("auditor")

    exported = admin.get("/customers/karoline@example.dk/export")
    assert exported.status_code == 200
    assert exported.json()["incidents"][0]["customer"]["contact"] == "karoline@example.dk"
    no_reason = admin.post("/customers/karoline@example.dk/erase", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    assert (
        auditor.post("/customers/karoline@example.dk/erase", json={"reason": "x"}).status_code
        == 403
    )

    erased = admin.post("/customers/karoline@example.dk/erase", json={"reason": "ticket 4411"})
    assert erased.status_code == 200 and erased.json()["erased"] == [incident]
    missing = admin.post("/customers/karoline@example.dk/erase", json={"reason": "again"})
    assert missing.status_code == 404 and missing.json()["error"] == "customer_not_found"

    timeline = auditor.get(f"/incidents/{incident}/timeline").json()
    last = timeline[-1] if isinstance(timeline, list) else timeline["events"][-1]
    assert (last["type"], last["actor"], last["data"]) == (
        "erased",
        "admin",
        {"reason": "ticket 4411"},
    )
    verified = auditor.get(f"/incidents/{incident}/verify").json()
    assert verified["ok"] is True and verified["erased_at"] == last["recorded_at"]
    assert "karoline" not in auditor.get(f"/incidents/{incident}").text.lower()


def test_the_incident_page_says_erased_on_date(
    sqlite_url: str, catalog: Catalog, tmp_path: Path
) -> None:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as site:
        command = OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Mette Jensen", contact="erase-page@example.dk"),
        )
        incident = site.rec.open(command, actor=Actor(id="ana", role="front_desk")).id
        admin = Actor(id="root", role="admin")
        site.rec.erase_customer("erase-page@example.dk", actor=admin, reason="asked at the desk")
        page = site.signed_in("aud").get(f"/web/incidents/{incident}")
        assert page.status_code == 200, page.text
        assert "Erased on " in page.text and "Mette Jensen" not in page.text
        assert "asked at the desk" in page.text, "the timeline says why"


def test_the_cli_export_speaks_the_customers_language(db: str) -> None:
    opened = run_json(
        "incident", "open", "--db", db, "--type", "hotel.walked_guest", "--site",
        "ribe-central", "--customer", "Karoline Vestergaard", "--customer-key", "LOY-DA",
        "--language", "da", "--summary", f"walked; {PHRASE}",
    )  # fmt: skip
    incident = opened["incident"]["id"]
    run("incident", "act", incident, "apologise", "complete", "--evidence", "apology_by=Ana",
        "--db", db)  # fmt: skip
    exported = json.loads(run("customers", "export", "LOY-DA", "--db", db).stdout)
    read = exported["incidents"][0]["customer_timeline"]
    assert read["locale"] == "da" and read["title"] == "Din sag"
    assert [s["text"] for s in read["done"]] == ["Vi undskyldte personligt."]
    assert read["done"][0]["when"].endswith(")") and " kl. " in read["done"][0]["when"]
    assert "Vi finder et værelse til dig i nærheden." in [s["text"] for s in read["next"]]
    assert exported["incidents"][0]["timeline"][0]["type"] == "opened"  # the staff's, too
    bad = run("incident", "open", "--db", db, "--type", "hotel.walked_guest", "--site", "x",
              "--customer", "A", "--language", "danish", code=2)  # fmt: skip
    assert "language" in bad.stderr


def test_the_api_export_matches_the_customers_status_page(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.test_customer_pages import send_link
    from tests.e2e.test_web_helpers import text_of

    mail_dir = tmp_path / "mail"
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(mail_dir))
    with running_api(sqlite_url, catalog) as api:
        customer = {"name": "Siti Rahma", "contact": "guest@example.com", "language": "id"}
        incident = api.open("desk", customer=customer)["id"]
        desk = api.client("desk")
        done = desk.post(
            f"/incidents/{incident}/steps/apologise/complete",
            json={"evidence": {"apology_by": "Ana"}},
        )
        assert done.status_code == 200, done.text
        token = send_link(api, incident, mail_dir)

        exported = api.client("admin").get("/customers/guest@example.com/export")
        assert exported.status_code == 200, exported.text
        read = exported.json()["incidents"][0]["customer_timeline"]
        page = text_of(api.client().get(f"/status/{token}").text)
        assert read["locale"] == "id" and read["title"] == "Kasus Anda"
        assert read["done"][0]["text"] == "Kami telah meminta maaf secara langsung."
        assert " pukul " in read["done"][0]["when"], "a property without a calendar: UTC"
        assert read["done"][0]["when"].endswith("(UTC)")
        for line in (read["opened"], read["times"].split(" Terakhir")[0]):
            assert line in page
        for step in read["done"] + read["next"] + read["updates"]:
            assert step["text"] in page and step["when"] in page, step
        assert api.client("auditor").get("/customers/guest@example.com/export").status_code == 403


def test_the_cli_report_counts_the_erasures(db: str) -> None:
    open_complaint(db, "ACC-1"), open_complaint(db, "ACC-1"), open_complaint(db, "ACC-2")
    run("customers", "erase", "ACC-1", "--reason", "asked by phone", "--db", db)
    shown = run("report", "--by", "all", "--db", db).stdout
    assert "Personal data erased in the period: 2 incident(s) (2 on request, 0 by" in shown
    [row] = run_json("report", "--by", "all", "--db", db)
    assert (row["incidents"], row["erased_on_request"], row["erased_by_retention"]) == (3, 2, 0)
    before = run_json("report", "--by", "all", "--until", "2000-01-01", "--db", db)
    assert before == []
    bad = run("report", "--since", "last week", "--db", db, code=5)
    assert "since" in bad.stderr
