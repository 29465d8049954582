"""The HTTP/JSON API: `create_app(rec)` returns a FastAPI app; `recovery serve` runs it.

import recovery
from recovery.api import create_app

app = create_app(recovery.connect("sqlite:///recovery.db"))
"""

from recovery.api.app import create_app

__all__ = ["create_app"]
