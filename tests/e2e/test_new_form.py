"""The new-incident form fits a desk: the types of its properties' industry, each once,
the usual one preselected (never another industry's), and the shortcuts listed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from tests.e2e.test_web_helpers import HOTEL_FORM, Site, running_site, text_of


@pytest.fixture
def site(sqlite_url: str, catalog: Catalog, tmp_path: Path) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def _options(page: str) -> list[tuple[str, str, bool]]:
    start = page.index('id="incident_type"')
    select = page[start : page.index("</select>", start)]
    return [
        (value, label.strip(), bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select
        )
    ]


def test_a_new_property_chooses_from_every_type_with_none_preselected(site: Site) -> None:
    desk = site.signed_in("ana")
    options = _options(desk.get("/web/incidents/new").text)
    assert options[0] == ("", "Choose the type…", False)
    labels = [label for _value, label, _selected in options]
    assert len(labels) == len(set(labels)), "no title twice"
    assert not any(selected for *_rest, selected in options)
    assert {value.partition(".")[0] for value, *_ in options[1:]} >= {"hotel", "telecom"}
    missing = desk.post("/web/incidents/new", data={**HOTEL_FORM, "incident_type": ""})
    assert missing.status_code == 422
    assert "incident_type" in text_of(missing.text) or "Type" in text_of(missing.text)


def test_a_hotel_desk_is_offered_hotel_types_with_the_usual_one_chosen(site: Site) -> None:
    desk = site.signed_in("ana")
    desk.get("/web/incidents/new")
    assert desk.post("/web/incidents/new", data=HOTEL_FORM).status_code == 303
    page = desk.get("/web/incidents/new").text
    options = _options(page)
    assert {value.partition(".")[0] for value, *_ in options} == {"hotel"}
    assert [value for value, _label, selected in options if selected] == ["hotel.walked_guest"]
    assert '<optgroup label="Walked guest (no room on arrival)">' in page
    # another property's desk, with no incident yet, still sees every industry
    other = _options(site.signed_in("vera").get("/web/incidents/new").text)
    assert "telecom.billing_error" in [value for value, *_ in other]
    shortcuts = text_of(page[page.index('id="shortcuts"') :])
    assert "Keyboard shortcuts ?" in shortcuts and "/ search" in shortcuts
