"""The CLI's customer commands: a customer across incidents, and status links."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import run, run_json


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def open_complaint(db: str, key: str) -> str:
    opened = run_json(
        "incident", "open", "--db", db, "--type", "energy.complaint", "--site", "ribe",
        "--customer", "Jonas Berg", "--customer-key", key, "--contact", "jonas@example.com",
        "--summary", "bill doubled", "--customer-summary", "Your March bill",
    )  # fmt: skip
    return str(opened["incident"]["id"])


def test_customers_show_every_incident_of_one_customer(db: str) -> None:
    first = open_complaint(db, "ACC-5")
    second = open_complaint(db, "ACC-5")
    shown = run_json("customers", "show", "ACC-5", "--db", db)
    assert [line["incident_id"] for line in shown["incidents"]] == [second, first]
    assert {e["incident_id"] for e in shown["timeline"]} == {first, second}
    again = run_json("incident", "show", second, "--db", db)
    assert again["tier"] == 2, "the repeat raised the tier"
    assert again["customer_summary"] == "Your March bill"
    text = run("customers", "show", "ACC-5", "--db", db).stdout
    assert "Complaint needing a written answer" in text and "2 incident(s)" in text
    assert "no incidents" in run("customers", "show", "ACC-404", "--db", db).stdout


def test_status_links_from_the_cli(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(tmp_path / "mail"))
    incident = open_complaint(db, "ACC-6")
    made = run_json("links", "create", incident, "--db", db, "--base-url", "https://x.example")
    assert made["url"].startswith("https://x.example/status/")
    sent = run_json("links", "send", incident, "--db", db, "--base-url", "https://x.example")
    assert sent["outcome"]["event"]["type"] == "status_link_sent"
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    listed = run_json("links", "list", incident, "--db", db)
    assert len(listed) == 2 and all(link["active"] for link in listed)
    run_json("links", "revoke", incident, made["id"], "--db", db)
    assert [link["active"] for link in run_json("links", "list", incident, "--db", db)] == [
        False,
        True,
    ]
    run("links", "send", incident, "--db", db, code=5)  # no address: refused, saying why
