"""Every event the demo stories store reads into its typed payload and back to the very bytes
that were hashed, on each backend (hashes and replays of existing databases depend on it)."""

from __future__ import annotations

from pathlib import Path

from recovery import Recovery
from recovery.demo import seed_demo
from recovery.domain.chain import canonical
from recovery.domain.effects import effects_of
from recovery.domain.events import PAYLOADS
from recovery.letters import FileMailer


def test_stored_events_read_into_their_payloads_and_back_byte_for_byte(
    rec: Recovery, tmp_path: Path
) -> None:
    seen: set[str] = set()
    for incident in seed_demo(rec, mailer=FileMailer(tmp_path)):
        for event in rec.timeline(incident):
            payload = event.payload
            assert isinstance(payload, PAYLOADS[event.type])
            assert canonical(payload.as_data()) == canonical(event.data)
            for effect in effects_of(event.data):
                assert effect.as_data() in event.data["effects"]
            seen.add(event.type)
        assert rec.verify(incident).ok
    assert len(seen) >= 8, seen
