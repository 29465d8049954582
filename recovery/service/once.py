"""`Once`: an idempotency key a command runs under. The reply the caller will get is made
inside the command's transaction and stored there with its event, so a retry after any
crash finds either both (and is answered with that reply) or neither (and runs anew)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from recovery.domain.state import Event, IncidentState
from recovery.service.ports import KeyedReply
from recovery.service.ports.accounts import StoredResponse
from recovery.service.unit_of_work import KeyedReplyOf
from recovery.service.views import Outcome


@dataclass(frozen=True)
class Once:
    """Who asked (`principal`), with which key, for what (`fingerprint`), when and until
    when the key is kept, and how an outcome becomes the reply to store (`respond`)."""

    principal: str
    key: str
    fingerprint: str
    now: datetime
    expires_at: datetime
    respond: Callable[[Outcome], StoredResponse]

    def keyed(self, outcome_of: Callable[[IncidentState, Event], Outcome]) -> KeyedReplyOf:
        """The key's row for a command's result, as the unit of work asks for it."""

        def reply(state: IncidentState, event: Event) -> KeyedReply:
            response = self.respond(outcome_of(state, event))
            return KeyedReply(
                self.principal, self.key, self.fingerprint, self.now, self.expires_at, response
            )

        return reply
