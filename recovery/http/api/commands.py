"""Running one command for a caller: scope, preconditions, idempotency, conflict details.

Runs on a worker thread (see `Runner`): it blocks on the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from recovery.domain.commands import IncidentCommand, OpenIncident, StepAction
from recovery.errors import CommandRejectedError, ConflictError, UnknownPlaybookError
from recovery.http.context import ApiContext
from recovery.http.errors import ApiError, api_error, validation_body
from recovery.http.idempotency import KEY_PATTERN, Reply, fingerprint
from recovery.letters import LETTER_ACTIONS
from recovery.service.engine import IncidentView, Outcome
from recovery.service.once import Once
from recovery.service.principal import Principal

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


@dataclass(frozen=True)
class CommandOptions:
    """The headers a command may carry."""

    idempotency_key: str | None
    expected_version: int | None
    channel: str


def etag(version: int) -> str:
    return f'"{version}"'


CODE = r"^[a-z][a-z0-9_]*$"
"""A code: a channel, a step id, an action name."""
_CHANNEL = re.compile(CODE)
_KEY = re.compile(KEY_PATTERN)

# The headers a command reads, for the OpenAPI description (`command_options` reads them).
IDEMPOTENCY_KEY_DOC = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "a retry with the same key and body returns the first response and "
    "records nothing new (kept 24 hours, per caller)",
    "schema": {"type": "string", "pattern": KEY_PATTERN},
}
IF_MATCH_DOC = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'the version you saw (its ETag, e.g. "7"): refused with 409 if the '
    "incident moved on",
    "schema": {"type": "string", "maxLength": 40},
}
CHANNEL_DOC = {
    "name": "Recovery-Channel",
    "in": "header",
    "required": False,
    "description": "where the action happened: desk, phone, email, web... (default api)",
    "schema": {"type": "string", "pattern": _CHANNEL.pattern, "maxLength": 64, "default": "api"},
}


def command_options(request: Request, *, conditional: bool = True) -> CommandOptions:
    """The command headers of `request`, checked; a bad one is a 422 that names it.
    `conditional`: If-Match applies (not when opening an incident)."""
    headers = request.headers
    key = headers.get("idempotency-key")
    if key is not None and not _KEY.match(key):
        raise api_error(
            422,
            "invalid_request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            field="header.Idempotency-Key",
        )
    channel = headers.get("recovery-channel", "api")
    if len(channel) > 64 or not _CHANNEL.match(channel):
        raise api_error(
            422,
            "invalid_request",
            "Recovery-Channel must be a lowercase code such as desk, phone or email",
            field="header.Recovery-Channel",
        )
    if_match = headers.get("if-match") if conditional else None
    if if_match is not None and len(if_match) > 40:
        raise api_error(422, "invalid_request", "If-Match is too long", field="header.If-Match")
    return CommandOptions(key, parse_if_match(if_match), channel)


def parse_if_match(value: str | None) -> int | None:
    """`"7"` (or `7`, `W/"7"`) → 7; `*` or absent → None (no precondition)."""
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.match(value)
    if match is None:
        raise api_error(
            422,
            "invalid_request",
            f'If-Match must be the incident version from its ETag, e.g. "7"; not {value!r}',
            field="header.If-Match",
        )
    return int(match[1])


def build(model: type[BaseModel], **values: Any) -> Any:
    """Validate a command assembled from path and body parts; 422 with the field if not."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ApiError(422, validation_body(exc.errors())) from None


def check_text(value: Any, where: str = "") -> None:
    """Refuse strings no database can store (NUL, lone surrogates), naming the field."""
    if isinstance(value, str):
        bad = "\x00" in value
        if not bad:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                bad = True
        if bad:
            raise api_error(
                422,
                "invalid_request",
                f"{where or 'body'}: text may not contain NUL or unpaired surrogate characters",
                field=where or "body",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_text(item, f"{where}.{index}" if where else str(index))


def outcome_reply(outcome: Outcome, status: int, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status, outcome.to_json(), {"ETag": etag(outcome.incident.version), **(headers or {})}
    )


def conflict_error(view: IncidentView, exc: ConflictError) -> ApiError:
    body = {
        **exc.to_dict(),
        "current_version": view.version,
        "state": view.status,
        "allowed": view.allowed,
        "incident": view.to_dict(),
    }
    return ApiError(409, body, {"ETag": etag(view.version)})


def _once(
    ctx: ApiContext,
    principal: Principal,
    options: CommandOptions,
    parts: tuple[Any, ...],
    produce: Callable[[Once | None], Outcome],
    reply_of: Callable[[Outcome], Reply],
) -> Reply:
    """Run `produce`, under the request's Idempotency-Key if it has one: its reply is then
    stored with the command's event, and a retry is answered with it."""
    if options.idempotency_key is None:
        return reply_of(produce(None))
    return ctx.idempotency.run(
        principal.scope_key, options.idempotency_key, fingerprint(*parts), produce, reply_of
    )


def _letter_action(
    ctx: ApiContext,
    principal: Principal,
    incident_id: str,
    command: StepAction,
    options: CommandOptions,
    once: Once | None,
) -> Outcome:
    """Drafting and queuing a letter take the letter's fields, which over HTTP are evidence
    (other steps' actions of those names are recorded as they are)."""
    evidence = dict(command.evidence)
    return ctx.rec.act_on_step(
        incident_id,
        command.step,
        command.name,
        actor=principal.actor(),
        channel=options.channel,
        expected_version=options.expected_version,
        evidence=evidence,
        note=evidence.get("body"),
        recipient=evidence.get("recipient"),
        locale=evidence.get("locale"),
        once=once,
    )


def open_incident(
    ctx: ApiContext, principal: Principal, command: OpenIncident, options: CommandOptions
) -> Reply:
    check_text(command.model_dump(mode="json"))
    if not principal.may_see(command.site):
        raise api_error(
            403,
            "forbidden",
            f"you may not open incidents at property {command.site!r}",
            field="site",
        )

    def produce(once: Once | None) -> Outcome:
        try:
            outcome = ctx.rec.open(
                command, actor=principal.actor(), channel=options.channel, once=once
            )
        except UnknownPlaybookError as exc:
            where = "playbook" if command.playbook is not None else "incident_type"
            raise CommandRejectedError(str(exc), field=where) from None
        ctx.sites.put(outcome.id, command.site)
        return outcome

    def reply_of(outcome: Outcome) -> Reply:
        return outcome_reply(outcome, 201, {"Location": f"/incidents/{outcome.id}"})

    parts = ("POST", "/incidents", command.model_dump(mode="json"), options.channel)
    return _once(ctx, principal, options, parts, produce, reply_of)


def run_command(
    ctx: ApiContext,
    principal: Principal,
    incident_id: str,
    command: IncidentCommand,
    options: CommandOptions,
) -> Reply:
    check_text(command.model_dump(mode="json"))
    ctx.check_scope(principal, incident_id)

    def execute(once: Once | None) -> Outcome:
        if isinstance(command, StepAction) and command.name in LETTER_ACTIONS:
            return _letter_action(ctx, principal, incident_id, command, options, once)
        return ctx.rec.execute(
            incident_id,
            command,
            actor=principal.actor(),
            channel=options.channel,
            expected_version=options.expected_version,
            once=once,
        )

    def produce(once: Once | None) -> Outcome:
        try:
            return execute(once)
        except ConflictError as exc:
            raise conflict_error(ctx.rec.get(incident_id), exc) from exc

    def reply_of(outcome: Outcome) -> Reply:
        return outcome_reply(outcome, 200)

    parts = (
        "POST",
        incident_id,
        type(command).__name__,
        command.model_dump(mode="json"),
        options.expected_version,
        options.channel,
    )
    return _once(ctx, principal, options, parts, produce, reply_of)
