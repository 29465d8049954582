from recovery import CustomerProfile, OpenIncident, Recovery
from tests.conftest import FRONT_DESK


def test_open_records_the_whole_bundle_at_once(rec: Recovery) -> None:
    out = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Mette Jensen"),
        ),
        actor=FRONT_DESK,
        channel="desk",
    )
    steps = out.incident.state.steps
    assert list(steps) == [
        "apologise",
        "rebook_local",
        "pay_room",
        "dinner",
        "ask_what_else",
        "written_apology",
    ]
    assert {s.status for s in steps.values()} == {"open"}
    assert rec.get(out.id).state == out.incident.state
    assert rec.verify(out.id).ok
