"""The interactive API docs (`/docs`, Swagger UI) and the reference (`/redoc`), served with
their scripts and styles from this server: they work with no internet connection and load
nothing from a CDN. The libraries' files come from the `fastapi-offline` package; this
server adds `docs_static/`: a stylesheet that lifts the libraries' pale colours to WCAG AA
contrast, and a script that starts Swagger UI and names the few controls the libraries
leave unlabelled. The pages need no inline script."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
OWN_ASSETS = Path(__file__).with_name("docs_static")
# Nothing from elsewhere, even what the bundles would fetch themselves (ReDoc's logo);
# styles inline are the libraries' own (ReDoc styles by <style> tags); workers are ReDoc's search.
CSP = (
    "default-src 'self'; script-src 'self' blob:; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PREFIX = "/docs-assets"  # the libraries' files; not under /static, which the web pages mount
OWN_PREFIX = "/docs-local"  # this server's additions

# Swagger UI's own parameters (https://swagger.io/docs/open-source-tools/swagger-ui/usage/configuration/)
SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    # deep links put a link inside each operation's expand button (a control in a control)
    "deepLinking": False,
    "showExtensions": True,
    "showCommonExtensions": True,
    "syntaxHighlight": {"activated": True, "theme": "agate"},  # light on dark, >= 4.5:1
}
# ReDoc's own options (https://redocly.com/docs/redoc/config), as attributes of <redoc>
REDOC_THEME: dict[str, Any] = {
    "colors": {
        # the response tabs on the dark right panel (the chosen one is white: see the CSS)
        "responses": {
            "success": {"tabTextColor": "#7ee08a"},
            "error": {"tabTextColor": "#ff8a80"},
            "redirect": {"tabTextColor": "#ffc46b"},
            "info": {"tabTextColor": "#87ceeb"},
        },
    },
    "typography": {"code": {"color": "#a31d18", "wrap": True}},
}


def install_docs(app: FastAPI) -> None:
    app.mount(OWN_PREFIX, StaticFiles(directory=OWN_ASSETS), name="api-docs-local")
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="api-docs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        config = {"url": openapi_url, **SWAGGER_UI_PARAMETERS}
        return _page(
            f"{app.title} · API",
            head=f'<link rel="stylesheet" href="{PREFIX}/swagger-ui.css">',
            body=(
                f'<div id="swagger-ui" data-config="{escape(json.dumps(config))}"></div>\n'
                f'<script src="{PREFIX}/swagger-ui-bundle.js"></script>'
            ),
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(
            f"{app.title} · API reference",
            head="",
            body_class="redoc-page",
            body=(
                "<noscript>The API reference needs JavaScript; the description itself is "
                f'<a href="{escape(openapi_url)}">{escape(openapi_url)}</a>.</noscript>\n'
                f'<redoc spec-url="{escape(openapi_url)}" '
                f'theme="{escape(json.dumps(REDOC_THEME))}"></redoc>\n'
                f'<script src="{PREFIX}/redoc.standalone.js"></script>'
            ),
        )


def _page(title: str, head: str, body: str, body_class: str = "") -> HTMLResponse:
    page = HTMLResponse(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" href="{PREFIX}/favicon.png">\n{head}\n'
        f'<link rel="stylesheet" href="{OWN_PREFIX}/api-docs.css">\n'
        f'<script src="{OWN_PREFIX}/api-docs.js" defer></script>\n'
        f'</head>\n<body class="{body_class}">\n{body}\n</body>\n</html>\n'
    )
    page.headers["Content-Security-Policy"] = CSP
    return page
