"""The background worker: records missed deadlines, tells people what needs them
(notifications), mails letters and delivers webhooks, in one loop.

It only composes: `Recovery` sweeps the deadlines, the letter deliverer mails the letters
queue and the webhook `Deliverer` works the outbox store of the same storage
(`rec.storage.outbox`). Stateless: everything it needs is in the database (incident due
times, the letters queue, the outbox), so any number of workers can run against
PostgreSQL, and a killed one loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from recovery.delivery import Deliverer, DeliveryStats, WebhookTarget, poll
from recovery.errors import StorageError
from recovery.letters.mailers import Mailer
from recovery.service.engine import Recovery
from recovery.service.letter_delivery import LetterDeliverer, LetterStats
from recovery.service.notice_mail import NoticeMailer
from recovery.service.notifications import Notifier
from recovery.service.ports.changes import ChangeSource
from recovery.service.privacy import erase_expired

log = logging.getLogger("recovery.worker")


@dataclass(frozen=True)
class WorkerPass:
    deadlines_missed: int
    deliveries: DeliveryStats
    letters: LetterStats = field(default_factory=LetterStats)
    notified: int = 0
    notices_mailed: int = 0
    erased: int = 0
    """incidents whose personal data the retention period erased"""


def run(
    rec: Recovery,
    targets: Sequence[WebhookTarget],
    *,
    mailer: Mailer | None = None,
    once: bool = False,
    poll_interval: float = 2.0,
    stop: threading.Event | None = None,
    batch: int = 100,
    retention: str | None = None,
) -> WorkerPass:
    """Sweep deadlines, mail queued letters and notifications (with `mailer`) and deliver
    webhooks until `stop` is set (or one pass with `once`); erase the personal data that
    passed its retention period (the playbook's, else `retention`). Letters go first: a
    letter accepted by the mail server finishes its step, whose `send_letter` webhook then
    goes out too."""
    stop = stop or threading.Event()
    missed = 0
    delivered = DeliveryStats()
    mailed = LetterStats()
    letters = LetterDeliverer(rec, mailer) if mailer is not None else None
    notifier = Notifier(rec)
    notice_mail = NoticeMailer(rec, mailer) if mailer is not None else None
    notified = notices_mailed = erased = 0
    changes: ChangeSource | None = None
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: changes.close() if changes is not None else None)
        # always: back offices may register endpoints (the API) while it runs
        deliverer = stack.enter_context(
            Deliverer(rec.storage.outbox, targets, clock=rec.clock, endpoints=rec.storage.webhooks)
        )

        def tell() -> None:
            """Notifications: every incident the change feed names (after a (re)start,
            every active one with untold events first)."""
            nonlocal changes, notified
            try:
                if changes is None:
                    changes = rec.storage.changes()
                    notified += notifier.catch_up()
                changed = [c.incident_id for c in changes.wait(0) if not c.recipient]
                if changed:
                    notified += notifier.tell(*changed)
            except StorageError:
                if changes is not None:
                    changes.close()
                    changes = None  # reopened, with a catch-up, on the next pass
                raise

        def one_pass() -> None:
            nonlocal missed, mailed, delivered, notices_mailed, erased
            erased += erase_expired(rec, default=retention, limit=batch)
            while swept := rec.sweep_deadlines(limit=batch):
                missed += len(swept)
                if stop.is_set():
                    break
            tell()
            if notice_mail is not None:  # the notices just stored go out in this pass
                notices_mailed += notice_mail.deliver_due().mailed
            if letters is not None:
                mailed = mailed + letters.deliver_due()
            delivered = delivered + deliverer.deliver_due()

        poll(one_pass, once=once, poll_interval=poll_interval, stop=stop, name="worker")
    return WorkerPass(missed, delivered, mailed, notified, notices_mailed, erased)


class BackgroundWorker:
    """`run` on a thread of a server process (`recovery serve`), started and stopped with
    it. Its work is the same as a `recovery worker`'s and claims the same leases, so any
    number of servers and workers share it, each piece done once."""

    def __init__(
        self,
        rec: Recovery,
        targets: Sequence[WebhookTarget],
        *,
        mailer: Mailer | None,
        poll_interval: float = 1.0,
        retention: str | None = None,
    ) -> None:
        self._args = (rec, list(targets))
        self._retention = retention
        self._mailer = mailer
        self._poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    @property
    def running(self) -> bool:
        """True while the thread works (false once stopped, or if it died)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="recovery-worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            rec, targets = self._args
            run(
                rec,
                targets,
                mailer=self._mailer,
                poll_interval=self._poll_interval,
                stop=self._stop,
                retention=self._retention,
            )
        except Exception as exc:  # logged; the page then says that no worker runs
            self.failure = exc
            log.exception("the in-process worker stopped")

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish its current piece of work and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
