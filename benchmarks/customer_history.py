"""What reading the customer's history costs when an incident opens.

    python -m benchmarks.customer_history [--incidents 300]

One customer, on a fresh SQLite file per playbook, opens `--incidents` incidents in a row.
The hotel playbook has no repeat-contact rule, so opening reads nothing; the complaint
playbook has one (`repeat_within_days`), so each open first reads the customer's earlier
incidents (at most 50, newest first). The figure is the mean time per open, side by side.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from recovery import Actor, CustomerProfile, OpenIncident, connect

DESK = Actor(id="ana", role="front_desk")
CASES = (
    ("hotel.walked_guest", "no repeat rule: no history read"),
    ("energy.complaint", "repeat rule: reads up to 50 earlier incidents"),
)


def mean_open_ms(folder: Path, incident_type: str, incidents: int) -> float:
    rec = connect(f"sqlite:///{folder / (incident_type + '.db')}")
    command = OpenIncident(
        incident_type=incident_type,
        site="ribe",
        customer=CustomerProfile(name="Jonas Berg", key="ACC-1"),
    )
    try:
        rec.open(command, actor=DESK)  # migrations and the playbook's registration
        start = time.perf_counter()
        for _ in range(incidents):
            rec.open(command, actor=DESK)
        return (time.perf_counter() - start) / incidents * 1000
    finally:
        rec.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for incident_type, what in CASES:
            took = mean_open_ms(Path(folder), incident_type, args.incidents)
            print(f"{incident_type:20} {took:6.2f} ms per open  ({what})")


if __name__ == "__main__":
    main()
