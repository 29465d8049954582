"""The HTTP entry point: one FastAPI app with two faces over the same services.

- `app.py`: `create_app`, the JSON API and the web pages as one app;
- `api/`: the JSON face (OpenAPI at /docs): incidents, playbooks, reports, sign-in, admin;
- `web/`: the web face, server-rendered pages for people;
- `auth/`: who is calling, for both faces;
- `context`, `runner`, `errors`, `idempotency`: what the handlers of either face use.

    import recovery
    from recovery.http import create_app

    app = create_app(recovery.connect("sqlite:///recovery.db"))
"""

from recovery.http.app import create_app

__all__ = ["create_app"]
