"""The reports page over HTTP on a real server: a date range that filters the numbers, the
week-by-week trend (SVG with a table), the CSV with the page's numbers, and a bad date
refused with a message that says what to write."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from recovery.domain.commands import Actor
from recovery.service import worker
from tests.conftest import Clock
from tests.e2e.test_web import act, open_hotel
from tests.e2e.test_web_helpers import Site, running_site, text_of


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def weeks(
    request: pytest.FixtureRequest, catalog: Catalog, tmp_path: Path, clock: Clock
) -> Iterator[Site]:
    """One incident at ribe opened on 2026-07-04 (ISO week 27), two on 2026-07-14 (week 29)."""
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    with running_site(url, catalog, tmp_path / "mail", clock=clock) as site:
        open_hotel(site.signed_in("ana"))
        clock.advance(days=10)  # past the session's 12 hours: sign in again
        desk = site.signed_in("ana")
        open_hotel(desk)
        open_hotel(desk)
        yield site


def report_rows(page: str) -> dict[str, list[str]]:
    """The report table's rows by group: each cell's visible text."""
    table = re.search(r'<table class="cards" aria-label="Report">(.*?)</table>', page, re.S)
    assert table, "the page has no report table"
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table[1], re.S)[1:]:
        cells = [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = cells
    return rows


def test_the_date_range_filters_the_numbers(weeks: Site) -> None:
    manager = weeks.signed_in("mads")
    everything = report_rows(manager.get("/web/reports?by=site").text)
    assert everything["ribe"][1].startswith("3 ")
    first = report_rows(manager.get("/web/reports?by=site&start=2026-07-01&end=2026-07-04").text)
    assert first["ribe"][1].startswith("1 ")
    later = manager.get("/web/reports?by=site&start=2026-07-05&end=2026-07-31")
    assert report_rows(later.text)["ribe"][1].startswith("2 ")
    assert 'value="2026-07-05"' in later.text  # the form keeps the range
    none = manager.get("/web/reports?by=site&start=2026-08-01&end=2026-08-31")
    assert "No incidents opened in this range" in text_of(none.text)


def test_the_trend_counts_each_iso_week_and_draws_it(weeks: Site) -> None:
    manager = weeks.signed_in("mads")
    page = manager.get("/web/reports?start=2026-06-29&end=2026-07-19").text
    table = re.search(r'aria-label="Week by week">(.*?)</table>', page, re.S)
    assert table
    weekly = {
        cells[0]: cells[2]
        for row in re.findall(r"<tr>(.*?)</tr>", table[1], re.S)[1:]
        if (cells := [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)])
    }
    assert weekly == {"2026-W27": "1", "2026-W28": "0", "2026-W29": "2"}
    # incidents, score, deadlines kept, compensation (no currency spent: one), approvals
    assert page.count('<svg role="img"') == 5
    assert "<title" in page and "<desc" in page
    assert "<title>2026-W29: 2</title>" in page  # each bar names its week and value
    assert "Approval turnaround per week" in page


def test_the_csv_has_the_pages_numbers(weeks: Site) -> None:
    manager = weeks.signed_in("mads")
    query = "by=site_playbook&start=2026-07-05&end=2026-07-31"
    page = manager.get(f"/web/reports?{query}")
    assert f"/web/reports.csv?{query}" in html.unescape(page.text)
    shown = report_rows(page.text)
    download = manager.get(f"/web/reports.csv?{query}")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["group"] for r in rows] == list(shown)
    for row in rows:
        cells = shown[row["group"]]
        assert cells[1].startswith(f"{row['incidents']} ")
        assert cells[2].endswith(row["recovery_score"])
        assert cells[3] == row["pushes_per_incident"]
        assert cells[4] == row["handoffs_per_incident"]
    assert rows[0]["incidents"] == "2"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("start=2026-13-01", "not a date"),
        ("end=yesterday", "not a date"),
        ("start=2026-07-10&end=2026-07-01", "is after the to date"),
    ],
)
def test_a_bad_date_is_a_clear_refusal(weeks: Site, query: str, says: str) -> None:
    manager = weeks.signed_in("mads")
    for path in ("/web/reports", "/web/reports.csv"):
        response = manager.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert says in text_of(response.text)
        assert "Traceback" not in response.text


def test_the_csv_is_for_managers_and_auditors_only(weeks: Site) -> None:
    assert weeks.signed_in("ana").get("/web/reports.csv").status_code == 403
    assert weeks.signed_in("aud").get("/web/reports.csv").status_code == 200


def test_the_api_gives_the_same_rows_as_csv(weeks: Site) -> None:
    manager = weeks.signed_in("mads")  # the page's session signs the API in too
    api = manager.get("/reports/recovery", params={"by": "site", "format": "csv"})
    assert api.status_code == 200, api.text
    assert api.headers["content-type"].startswith("text/csv")
    assert api.text == manager.get("/web/reports.csv?by=site").text
    assert "ribe,3," in api.text


def test_a_long_range_trends_its_latest_26_weeks_only(weeks: Site) -> None:
    manager = weeks.signed_in("mads")
    page = manager.get("/web/reports?start=2025-07-01&end=2026-07-19").text
    table = re.search(r'aria-label="Week by week">(.*?)</table>', page, re.S)
    assert table
    labels = re.findall(r'<td data-label="ISO week">([^<]+)</td>', table[1])
    assert len(labels) == 26
    assert labels[-1] == "2026-W29"
    assert "the latest 26 weeks of the range" in text_of(page)


def test_compensation_spent_and_approval_turnaround_are_shown_and_exported(
    weeks: Site, clock: Clock
) -> None:
    desk, manager = weeks.signed_in("ana"), weeks.signed_in("mads")
    paid = open_hotel(desk)
    act(desk, paid, "steps/pay_room/complete", {"ev.amount": "185.5", "ev.reference": "P1"})
    asked = open_hotel(desk)
    act(desk, asked, "steps/pay_room/request_approval", {"amount": "450", "reason": "Suite"})
    clock.advance(hours=3)
    act(manager, asked, "steps/pay_room/grant_approval", {"reason": "Wedding weekend"})
    waiting = open_hotel(desk)  # asked, not decided: pending; offered, not spent
    act(desk, waiting, "steps/pay_room/request_approval", {"amount": "300", "reason": "Suite"})
    rows = report_rows(manager.get("/web/reports?by=site").text)
    ribe = rows["ribe"]
    assert ribe[-4] == "€185.50"  # only the compensation done
    assert ribe[-3].startswith("3.0 / 3.0")  # one decision, three hours after the request
    assert ribe[-2] == "1"
    download = manager.get("/web/reports.csv?by=site")
    (row,) = list(csv.DictReader(io.StringIO(download.text)))
    assert (row["compensation_spent_EUR"], row["approvals_decided"]) == ("185.5", "1")
    assert (row["median_hours_to_approval"], row["approvals_pending"]) == ("3.0", "1")
    api = manager.get("/reports/recovery", params={"by": "site"}).json()["rows"][0]
    assert api["compensation_spent"] == {"EUR": 185.5}
    assert api["p90_hours_to_approval"] == 3.0


def test_the_incidents_erased_in_the_range_are_counted(weeks: Site, clock: Clock) -> None:
    """Two incidents erased on request on 2026-07-14 (one opened a week before); one by the
    retention worker 25 months later, when no incident was opened: each counted in the
    range it was erased in, on the page (in Danish too), in its CSV and in the API."""
    desk, manager = weeks.signed_in("ana"), weeks.signed_in("mads")
    admin = Actor(id="root", role="admin")
    first = weeks.rec.search("mette", limit=5)  # the incidents of the fixture's guest
    assert first
    weeks.rec.erase_customer("mette@example.com", actor=admin, reason="asked by e-mail")
    erased_now = len(first)
    ended = open_hotel(desk, **{"customer.contact": "bo@example.com"})
    weeks.rec.release(ended, "fully booked", "Hotel Dagmar", actor=Actor(id="mads", role="manager"))
    clock.advance(days=760)
    assert worker.run(weeks.rec, [], once=True, retention="24 months").erased == 1
    manager = weeks.signed_in("mads")

    july = manager.get("/web/reports?by=site&start=2026-07-14&end=2026-07-14")
    said = text_of(july.text)
    assert (
        f"Incidents with personal data erased in this range: {erased_now} ({erased_now} on "
        "request, 0 by retention)." in said
    )
    assert report_rows(july.text)["ribe"][-1] == f"{erased_now} / 0"
    later = manager.get("/web/reports?by=site&start=2028-08-01&end=2028-08-31")
    assert report_rows(later.text)["ribe"][1].startswith("0 ")  # none opened, one erased
    assert report_rows(later.text)["ribe"][-1] == "0 / 1"
    danish = manager.get("/web/reports?by=site&start=2028-08-01", headers={"Accept-Language": "da"})
    assert "Sager med persondata slettet i perioden: 1 (0 på anmodning, 1 efter" in text_of(
        danish.text
    ), "the viewer chose no language: the browser's"
    (row,) = csv.DictReader(
        io.StringIO(manager.get("/web/reports.csv?by=site&start=2028-08-01&end=2028-08-31").text)
    )
    assert (row["incidents"], row["recovery_score"], row["erased_by_retention"]) == ("0", "", "1")
    api = manager.get("/reports/recovery", params={"by": "all", "since": "2026-07-14T00:00:00Z"})
    [everything] = api.json()["rows"]
    assert (everything["erased_on_request"], everything["erased_by_retention"]) == (erased_now, 1)
