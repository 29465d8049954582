"""Helpers for the web page tests (no tests here): a real uvicorn server on a free port
with a fresh database and one user per role, and a form-posting client that signs in and
carries each page's CSRF token like a browser would."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from recovery import Catalog, Recovery
from recovery.bootstrap import over_engine
from recovery.http import create_app
from recovery.http.server import serve_in_thread
from recovery.letters import FileMailer
from recovery.service.letter_delivery import deliver_letters
from recovery.storage.database import create_db_engine

PASSWORD = "correct horse battery"
# username: (role, properties)
USERS: dict[str, tuple[str, list[str]]] = {
    "ana": ("front_desk", ["ribe"]),
    "vera": ("front_desk", ["vejle"]),
    "mads": ("manager", ["ribe"]),
    "aud": ("auditor", ["*"]),
    "root": ("admin", ["*"]),
}
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no form with a CSRF token"
    return found[1]


@dataclass
class Site:
    base_url: str
    rec: Recovery
    app: Any
    mail_dir: Path
    engine: Engine  # to look at (or tamper with) the stored rows themselves
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, timeout=30, follow_redirects=False)
        self.clients.append(client)
        return client

    def signed_in(self, username: str) -> Person:
        person = Person(self.client())
        person.sign_in(username)
        return person

    def run_mailer(self) -> None:
        """What the mail worker does between two clicks: mail queued letters."""
        deliver_letters(self.rec, FileMailer(self.mail_dir))


@dataclass
class Person:
    """A browser without JavaScript: follows redirects by hand, posts forms with CSRF."""

    http: httpx.Client
    page: str = ""

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        form = self.http.get("/login")
        assert form.status_code == 200, form.text
        response = self.http.post(
            "/login",
            data={
                "csrf": csrf_of(form.text),
                "username": username,
                "password": password,
                "next": "/",
            },
        )
        assert response.status_code == 303, response.text
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.page = response.text
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """Post a form with the CSRF token of the last page seen."""
        body = {"csrf": csrf_of(self.page), **(data or {})}
        response = self.http.post(path, data=body, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.page = response.text
        return response

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, (response.status_code, response.text[:2000])
        return self.get(response.headers["location"])

    def flash_link(self) -> str | None:
        """The link a flash message of the last page carries (a new status link)."""
        found = re.search(r'id="flash-link" type="text" readonly value="([^"]+)"', self.page)
        return html.unescape(found[1]) if found else None


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


HOTEL_FORM = {
    "incident_type": "hotel.walked_guest",
    "site": "ribe",
    "customer.name": "Mette Jensen",
    "customer.contact": "mette@example.com",
    "customer.member_since": "",
    "customer.language": "da",
    "summary": "Booked for June instead of July; arrived 2 hours before a wedding",
    "channel": "desk",
    "customer.order_value": "",
}


@contextmanager
def running_site(
    db_url: str, catalog: Catalog, mail_dir: Path, clock: Callable[[], datetime] | None = None
) -> Iterator[Site]:
    engine = create_db_engine(db_url)
    rec = over_engine(engine, catalog, clock=clock) if clock else over_engine(engine, catalog)
    app = create_app(rec)
    accounts = app.state.ctx.accounts
    for username, (role, sites) in USERS.items():
        accounts.add_user(username, PASSWORD, role, sites)
    try:
        with serve_in_thread(app) as base_url:
            site = Site(base_url, rec, app, mail_dir, engine)
            try:
                yield site
            finally:
                for client in site.clients:
                    client.close()
    finally:
        engine.dispose()
