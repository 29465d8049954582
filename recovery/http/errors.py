"""Errors to HTTP: every error a caller can cause becomes a 4xx with a JSON body that says
what went wrong and, where it can, which field and what is allowed instead.

    IncidentNotFoundError (also: out of the caller's scope)   404
    NotFoundError (a webhook endpoint; also: not the caller's) 404
    PermissionDeniedError                                     403
    NotAllowedNowError           409  + state, allowed
    ConflictError                409  + current_version (+ the incident, when known)
    CommandRejectedError, InvalidEvidenceError                422  + field
    PlaybookError                                             422  + problems
    UnknownPlaybookError                                      404
    request validation (pydantic, JSON)                       422  + field, problems
    IntegrityError (a stored history does not verify)         500  + incident_id, seq
    StorageError (the database failed)                        503  + Retry-After
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    IncidentNotFoundError,
    IntegrityError,
    NotAllowedNowError,
    NotFoundError,
    PermissionDeniedError,
    PlaybookError,
    RecoveryError,
    StorageError,
    UnknownPlaybookError,
)

log = logging.getLogger("recovery.api")

# A lost database is mostly a restart or a fail-over: seconds. The server reconnects by
# itself (stale pooled connections are replaced), so a client may simply retry then.
RETRY_AFTER_SECONDS = 2
UNAVAILABLE_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class JSON(Response):
    """A JSON response encoded with orjson (fast, and it knows dataclasses and datetimes)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """An HTTP error with its JSON body, raised by the API's own checks."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        super().__init__(body.get("message", ""))


def api_error(
    status: int, code: str, message: str, *, field: str | None = None, **extra: Any
) -> ApiError:
    body: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return ApiError(status, body)


def status_of(exc: RecoveryError) -> int:
    if isinstance(exc, IncidentNotFoundError | UnknownPlaybookError | NotFoundError):
        return 404
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotAllowedNowError | ConflictError):
        return 409
    if isinstance(exc, CommandRejectedError | PlaybookError):
        return 422
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, IntegrityError):
        return 500
    return 400


def field_of(loc: Sequence[str | int]) -> str:
    """`('body', 'customer', 'name')` → `customer.name`; `('query', 'limit')` stays
    `query.limit`, so a caller can tell a body field from a parameter."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    problems = []
    for error in errors:
        loc = error.get("loc", ())
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "missing":
            message = "this field is required"
        elif error.get("type") == "extra_forbidden":
            message = "this field is not allowed here"
        elif error.get("type") == "json_invalid":
            message = f"the body is not valid JSON: {error.get('ctx', {}).get('error', '')}"
        where = "body" if error.get("type") == "json_invalid" else field_of(loc)
        problems.append({"field": where, "message": message})
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return {
        "error": "invalid_request",
        "message": f"{first['field']}: {first['message']}",
        "field": first["field"],
        "problems": problems,
    }


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSON(exc.body, status_code=exc.status, headers=exc.headers)

    async def on_recovery_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RecoveryError)
        status = status_of(exc)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        if status == 503:
            body = {**exc.to_dict(), "retry_after": RETRY_AFTER_SECONDS}
            return JSON(body, status_code=status, headers=UNAVAILABLE_HEADERS)
        return JSON(exc.to_dict(), status_code=status)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSON(validation_body(exc.errors()), status_code=422)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # a body that could not even be parsed: bad input
            return JSON(
                {"error": "invalid_request", "message": f"body: {exc.detail}", "field": "body"},
                status_code=422,
            )
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        return JSON(
            {"error": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return JSON(
            {"error": "internal_error", "message": "an unexpected error; it has been logged"},
            status_code=500,
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RecoveryError, on_recovery_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
