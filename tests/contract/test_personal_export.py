"""A subject access export on memory, SQLite and PostgreSQL holds each incident's timeline
as the customer reads it, in the customer's language (Danish, Indonesian; English where
the playbook has no words in it): the steps done and next with their times in the
property's zone, marked, the updates and the status, as on their status page. An erased
incident's export holds nothing personal."""

from __future__ import annotations

import orjson

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.domain.commands import Actor
from recovery.service.privacy_export import incident_export
from tests.conftest import FRONT_DESK, MANAGER, Clock

ADMIN = Actor(id="root", role="admin")
NAME = "Karoline Vestergaard"
PHRASE = "allergic to shellfish since 2019"


def open_walked(rec: Recovery, site: str, language: str, key: str) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site=site,
        customer=CustomerProfile(
            name=NAME, contact=f"{key}@example.dk", key=key, language=language
        ),
        summary=f"walked on arrival; {PHRASE}",
    )
    incident = rec.open(command, actor=FRONT_DESK, channel="desk").id
    rec.complete_step(incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK)
    rec.hand_off(incident, "bo", f"call {NAME} back", actor=FRONT_DESK)
    return incident


def test_a_danish_customer_reads_the_timeline_in_danish(rec: Recovery, clock: Clock) -> None:
    incident = open_walked(rec, "ribe-central", "da", "LOY-DA")
    clock.advance(hours=1)
    rec.complete_step(
        incident, "rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 0.4}, actor=FRONT_DESK
    )
    [exported] = rec.export_customer("LOY-DA", actor=ADMIN)["incidents"]

    read = exported["customer_timeline"]
    assert read["locale"] == "da" and read["title"] == "Din sag"
    # the clock starts on 4 July 2026 14:00 UTC: 16:00 summer time in Ribe, marked
    assert read["opened"] == "Sagen blev oprettet 4. juli 2026 kl. 16.00 (CEST)"
    assert [s["text"] for s in read["done"]] == [
        "Vi undskyldte personligt.",
        "Vi fandt et værelse til dig i nærheden.",
    ]
    assert read["done"][1]["when"] == "4. juli 2026 kl. 17.00 (CEST)"
    assert "Vi betaler for dit nye værelse." in [s["text"] for s in read["next"]]
    assert all(s["when"].startswith("senest ") for s in read["next"])
    assert read["updates"] == [
        {"text": "En ny medarbejder tager sig nu af din sag. Vedkommende kender hele "
         "historien: du behøver ikke fortælle den igen.", "when": "4. juli 2026 kl. 16.00 (CEST)"}
    ]  # fmt: skip
    assert read["status"] == "open" and read["standing"].startswith("Vi forventer, at alt")
    assert read["times"] == "Tidspunkter er lokal tid i Ribe Central (CEST)."
    # the staff's timeline stays beside it, in English, with the texts typed
    assert exported["timeline"][0]["type"] == "opened"
    assert PHRASE in orjson.dumps(exported["timeline"]).decode()
    assert PHRASE not in orjson.dumps(read).decode(), "the customer's view has no notes"


def test_an_indonesian_customer_reads_it_in_indonesian(rec: Recovery, clock: Clock) -> None:
    incident = open_walked(rec, "jakarta-thamrin", "id", "LOY-ID")
    rec.release(incident, "fully booked", "Hotel Indonesia Kempinski", actor=MANAGER)
    [exported] = rec.export_customer("LOY-ID", actor=ADMIN)["incidents"]

    read = exported["customer_timeline"]
    assert read["locale"] == "id" and read["title"] == "Kasus Anda"
    assert read["opened"] == "Kasus dibuka 4 Juli 2026 pukul 21.00 (WIB)"
    assert [s["text"] for s in read["done"]] == ["Kami telah meminta maaf secara langsung."]
    assert read["status"] == "released"
    assert read["standing"] == (
        "Kami tidak dapat menyelesaikannya dengan baik sendiri. Pihak berikut dapat membantu "
        "Anda: Hotel Indonesia Kempinski"
    )
    assert read["next"] == [] and read["next_title"] is None, "released: nothing promised"


def test_an_english_or_unknown_language_reads_english(rec: Recovery) -> None:
    open_walked(rec, "ribe-central", "fr", "LOY-FR")
    [exported] = rec.export_customer("LOY-FR", actor=ADMIN)["incidents"]
    read = exported["customer_timeline"]
    assert read["locale"] == "en" and read["done"][0]["text"] == "We apologised in person."


def test_an_erased_incident_exports_nothing_personal(rec: Recovery, clock: Clock) -> None:
    kept = open_walked(rec, "ribe-central", "da", "LOY-ER")
    erased = open_walked(rec, "ribe-central", "da", "LOY-ER")
    rec.hold(erased, f"{NAME} sends her bank details", actor=FRONT_DESK)
    rec.erase_incident(erased, actor=ADMIN, reason="asked at the desk")

    exported = rec.export_customer("LOY-ER", actor=ADMIN)
    assert [i["incident_id"] for i in exported["incidents"]] == [kept]
    assert erased not in orjson.dumps(exported).decode()
    # were it written, it would read redacted, and in English: the language went with the
    # customer's profile
    alone = orjson.dumps(incident_export(rec, rec.get(erased).state)).decode()
    for secret in (NAME, PHRASE, "Vestergaard", "LOY-ER@example.dk", "bank details"):
        assert secret.lower() not in alone.lower(), secret
    assert "We apologised in person." in alone
