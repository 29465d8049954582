"""Helpers for the HTTP API tests (no tests here): a real uvicorn server on a free port,
with one API token per role, and httpx clients that present them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from recovery import Catalog, Recovery
from recovery.bootstrap import over_engine
from recovery.http import create_app
from recovery.http.server import serve_in_thread
from recovery.service import secrets
from recovery.storage.database import create_db_engine

# label: (role, sites)
CALLERS: dict[str, tuple[str, list[str]]] = {
    "desk": ("front_desk", ["ribe"]),
    "desk_vejle": ("front_desk", ["vejle"]),
    "manager": ("manager", ["ribe"]),
    "auditor": ("auditor", ["*"]),
    "auditor_vejle": ("auditor", ["vejle"]),
    "pms": ("integration", ["ribe"]),
    "admin": ("admin", ["*"]),
}

HOTEL = {
    "incident_type": "hotel.walked_guest",
    "site": "ribe",
    "customer": {"name": "Mette Jensen", "contact": "mette@example.com"},
    "summary": "Booked for June instead of July; arrived 2 hours before a wedding",
}


@dataclass
class Api:
    base_url: str
    rec: Recovery
    tokens: dict[str, str]
    engine: Engine  # to look at the stored rows themselves
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, who: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def open(self, who: str = "desk", **changes: Any) -> dict[str, Any]:
        response = self.client(who).post("/incidents", json={**HOTEL, **changes})
        assert response.status_code == 201, response.text
        incident: dict[str, Any] = response.json()["incident"]
        return incident


@contextmanager
def running_api(db_url: str, catalog: Catalog) -> Iterator[Api]:
    engine = create_db_engine(db_url)
    rec = over_engine(engine, catalog)
    app = create_app(rec)
    accounts = app.state.ctx.accounts
    tokens = {}
    for label, (role, sites) in CALLERS.items():
        _row, secret = accounts.create_token(label, role, sites)
        tokens[label] = secret
    try:
        with serve_in_thread(app) as base_url:
            api = Api(base_url, rec, tokens, engine)
            try:
                yield api
            finally:
                for client in api.clients:
                    client.close()
    finally:
        engine.dispose()


def watch_password_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """From now on, each password check appends whether it ran on an event loop's thread
    (a server's, in these tests) to the list returned."""
    on_loop: list[bool] = []
    real = secrets.verify_password

    def watched(stored: str | None, password: str) -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            on_loop.append(False)
        else:
            on_loop.append(True)
        return real(stored, password)

    monkeypatch.setattr(secrets, "verify_password", watched)
    return on_loop
