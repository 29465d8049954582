"""OpenAPI examples: the hotel story, copy-pasteable from the interactive docs."""

from __future__ import annotations

from typing import Any

Example = dict[str, Any]

OPEN: dict[str, Example] = {
    "walked_guest": {
        "summary": "Hotel: the reservation was booked for June instead of July",
        "value": {
            "incident_type": "hotel.walked_guest",
            "site": "ribe",
            "customer": {
                "name": "Mette Jensen",
                "contact": "mette@example.com",
                "key": "LOY-118204",
            },
            "summary": "Booked for June instead of July; arrived 2 hours before a wedding",
            "customer_summary": "Your reservation was booked for June instead of July",
            "external_ref": "RES-104233",
        },
    },
    "loyal_upset_guest": {
        "summary": "Hotel: a guest of 7 years who is upset (raises the tier, adds a step)",
        "value": {
            "incident_type": "hotel.walked_guest",
            "site": "ribe",
            "customer": {"name": "Jonas Holm", "member_since": "2019-03-01"},
            "cues": ["upset"],
        },
    },
}

STEP_ACTION: dict[str, Example] = {
    "apologise": {
        "summary": "apologise / complete",
        "value": {"evidence": {"apology_by": "Ana at the front desk"}},
    },
    "rebook_local": {
        "summary": "rebook_local / complete (a room in this town)",
        "value": {"evidence": {"hotel": "Hotel Dagmar", "distance_km": 0.4}},
    },
    "rebook_far_with_consent": {
        "summary": "rebook_local / complete (32 km away: only with the guest's consent)",
        "value": {
            "evidence": {
                "hotel": "Hotel Koldingfjord",
                "distance_km": 32,
                "guest_consents_further": True,
            }
        },
    },
    "pay_room": {
        "summary": "pay_room / complete (within the front desk's limit)",
        "value": {"evidence": {"amount": 180, "reference": "PMS-4711"}},
    },
    "dinner": {
        "summary": "dinner / complete",
        "value": {"evidence": {"amount": 85, "restaurant": "Restaurant Backhaus"}},
    },
    "ask_what_else": {
        "summary": "ask_what_else / complete",
        "value": {"evidence": {"answer": "a late checkout on Sunday"}},
    },
    "written_apology_draft": {
        "summary": "written_apology / draft (the server draws the free-night code)",
        "value": {"evidence": {"body": "Dear Mette, we are sorry we let you down."}},
    },
    "written_apology_request_send": {
        "summary": "written_apology / request_send (the server renders and queues the letter)",
        "value": {"evidence": {"recipient": "mette@example.com"}},
    },
    "request_approval": {
        "summary": "pay_room / request_approval (above the desk's limit)",
        "value": {"amount": 450, "reason": "only a suite was free in town"},
    },
    "grant_approval": {"summary": "pay_room / grant_approval (manager)", "value": {}},
    "deny_approval": {
        "summary": "pay_room / deny_approval (manager; never a bare no)",
        "value": {"alternatives": ["a standard room at Hotel Dagmar, paid in full"]},
    },
    "waive": {
        "summary": "any step / waive (manager)",
        "value": {"reason": "the guest declined dinner"},
    },
}

PUSH: dict[str, Example] = {
    "push": {
        "summary": "The guest had to ask for dinner",
        "value": {"asked_for": "dinner", "step": "dinner"},
    }
}
CONTACT: dict[str, Example] = {
    "call": {
        "summary": "An outbound phone call",
        "value": {"channel": "phone", "direction": "outbound", "summary": "Confirmed the room"},
    }
}
HANDOFF: dict[str, Example] = {
    "handoff": {
        "summary": "Hand off with the whole context",
        "value": {
            "to": "mads",
            "to_role": "manager",
            "context": "Rebooked at Hotel Dagmar, dinner paid; the letter is still to send.",
        },
    }
}
NOTE: dict[str, Example] = {
    "note": {"summary": "A note", "value": {"text": "Guest arrives back on Sunday."}}
}
ESCALATE: dict[str, Example] = {
    "escalate": {"summary": "Escalate", "value": {"reason": "the guest wants the manager"}}
}
RELEASE: dict[str, Example] = {
    "release": {
        "summary": "An honest ending",
        "value": {
            "reason": "no room within 50 km on a wedding weekend",
            "referral": "the tourist office's private-room list",
        },
    }
}
CLOSE: dict[str, Example] = {
    "close": {
        "summary": "Close when every required step is done",
        "value": {"summary": "Rebooked locally, paid, dinner, letter and certificate sent"},
    }
}
REOPEN: dict[str, Example] = {
    "reopen": {"summary": "Reopen", "value": {"reason": "the certificate code did not work"}}
}
HOLD: dict[str, Example] = {
    "step": {
        "summary": "Hold one step while waiting for the customer",
        "value": {"step": "pay_room", "reason": "waiting for the guest's bank details"},
    },
    "incident": {
        "summary": "Hold the whole incident",
        "value": {"reason": "the guest is travelling until Monday"},
    },
}
RESUME: dict[str, Example] = {
    "step": {"summary": "Resume one step", "value": {"step": "pay_room"}},
    "all": {"summary": "Resume everything held", "value": {}},
}
CUES: dict[str, Example] = {
    "cues": {
        "summary": "The guest says they are upset",
        "value": {"cues": ["upset", "considering_competitor"]},
    }
}

DESCRIPTION = """
The service-recovery playbook engine over HTTP/JSON.

**Authenticate** with `Authorization: Bearer <token>`: an API token for systems
(`recovery tokens create NAME --role integration --sites ribe`), or a session token for
people from `POST /auth/login`. Every caller has a role (front_desk, manager, auditor,
integration, admin) and the properties it may act on; incidents elsewhere answer 404.

**Commands** (every POST under `/incidents`) accept an `Idempotency-Key` header: a retry with
the same key and body returns the first response and records nothing new. Send the version
you saw (`ETag`) back as `If-Match` to refuse a command if someone acted in between (409).

**The hotel story**, step by step (`$T` a front-desk token, `$ID` the id returned by the
first call):

```
curl -s -X POST localhost:8000/incidents -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -H 'Idempotency-Key: wedding-1' \\
  -d '{"incident_type":"hotel.walked_guest","site":"ribe","customer":{"name":"Mette Jensen"}}'
S=localhost:8000/incidents/$ID/steps
curl -s -X POST $S/apologise/complete -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{"evidence":{"apology_by":"Ana"}}'
curl -s -X POST $S/rebook_local/complete -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{"evidence":{"hotel":"Hotel Dagmar","distance_km":0.4}}'
curl -s -X POST $S/pay_room/complete -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{"evidence":{"amount":180}}'
curl -s -X POST $S/dinner/complete -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{"evidence":{"amount":85,"restaurant":"Backhaus"}}'
curl -s -X POST $S/ask_what_else/complete -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{"evidence":{"answer":"nothing"}}'
curl -s -X POST $S/written_apology/draft -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' \\
  -d '{"evidence":{"body":"Dear Mette, we are sorry we let you down."}}'
curl -s -X POST $S/written_apology/request_send -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{"evidence":{"recipient":"mette@example.com"}}'
# the server draws the free-night code when drafting and renders the letter when queuing;
# `recovery worker` records `sent` once the mail server accepted the letter; then:
curl -s -X POST localhost:8000/incidents/$ID/close -H "Authorization: Bearer $T" \\
  -H 'Content-Type: application/json' -d '{}'
```
Each step's example body is also offered in the docs under
`POST /incidents/{incident_id}/steps/{step}/{action}`.
"""
