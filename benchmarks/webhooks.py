"""What delivering to a registered endpoint costs beside a target configured on the worker.

    python -m benchmarks.webhooks [--incidents 200]

On a fresh SQLite file per case, `--incidents` hotel incidents for loyal guests queue two
`notify` messages each; one worker pass delivers them to a real receiver on 127.0.0.1:
(a) as a target configured on the worker, (b) as an endpoint registered through the API
(read from the database each pass, each request written to its delivery log). The figure
is messages delivered per second, side by side.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from recovery import Actor, CustomerProfile, OpenIncident, connect
from recovery.bootstrap import webhook_endpoints
from recovery.delivery import WebhookTarget, deliver_due
from recovery.delivery.testing import WebhookReceiver

DESK = Actor(id="ana", role="front_desk")


def rate(folder: Path, registered: bool, incidents: int) -> float:
    rec = connect(f"sqlite:///{folder / ('endpoint.db' if registered else 'target.db')}")
    try:
        with WebhookReceiver("s") as hooks:
            targets = [WebhookTarget(hooks.url, "s")]
            endpoints = None
            if registered:  # first: an endpoint takes the messages queued after it
                made = webhook_endpoints(rec).create(None, hooks.url)
                hooks.secret, targets, endpoints = made.secret, [], rec.storage.webhooks
            for n in range(incidents):
                rec.open(
                    OpenIncident(
                        incident_type="hotel.walked_guest",
                        site="ribe",
                        customer=CustomerProfile(name=f"Guest {n}", member_since=date(2015, 3, 1)),
                    ),
                    actor=DESK,
                )
            start = time.perf_counter()
            stats = deliver_due(rec.storage.outbox, targets, endpoints=endpoints)
            took = time.perf_counter() - start
            assert stats.delivered == 2 * incidents and len(hooks.accepted()) == 2 * incidents
        return stats.delivered / took
    finally:
        rec.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for registered, what in ((False, "configured target"), (True, "registered endpoint")):
            print(f"{what:20} {rate(Path(folder), registered, args.incidents):8.0f} messages/s")


if __name__ == "__main__":
    main()
