"""What the person sent: form bodies (each POST carries a CSRF token) and the ids and codes
in page addresses.

The CSRF token is an HMAC of the session secret (nothing extra to store), or for the
sign-in form, where there is no session yet, a random value also set as a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from recovery.domain.words import say
from recovery.http.web.errors import BadForm, CsrfError, not_found
from recovery.http.web.translations import N_

LOGIN_COOKIE = "recovery_login"
MAX_FORM_BYTES = 64 * 1024
CSRF_FIELD = "csrf"
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"recovery-web-csrf", hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Form:
    pairs: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def text(self, name: str) -> str | None:
        """The field stripped, or None when empty."""
        value = self.get(name).strip()
        return value or None

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def values(self) -> dict[str, Any]:
        """For re-showing what was typed: one value per field, lists for repeated ones."""
        out: dict[str, Any] = {}
        for key, value in self.pairs:
            if key == CSRF_FIELD:
                continue
            if key in out:
                previous = out[key]
                out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                out[key] = value
        return out


async def read_form(request: Request, expected_csrf: str | None) -> Form:
    """The urlencoded body; refused unless its CSRF field matches `expected_csrf`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadForm(N_("this page accepts only its own forms"))
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadForm(N_("the form is too large (64 KB at most)"))
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            max_num_fields=400,
            strict_parsing=False,
        )
    except ValueError:
        raise BadForm(N_("the form has too many fields")) from None
    form = Form(pairs)
    if expected_csrf is None or not hmac.compare_digest(
        form.get(CSRF_FIELD).encode(), expected_csrf.encode()
    ):
        raise CsrfError()
    for key, value in pairs:
        if "\x00" in value or "\x00" in key:
            raise BadForm(
                say("{field}: text may not contain NUL characters", field=key[:64]), field=key
            )
    return form


def local_path(target: str | None, default: str = "/") -> str:
    """Only a path on this site (never `//host` or `http://host`) is followed."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


def check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise not_found("incident")
    return value


def check_code(value: str, what: str = "page") -> str:
    if not CODE_PATTERN.match(value):
        raise not_found(what)
    return value
