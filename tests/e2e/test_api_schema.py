"""schemathesis against the OpenAPI description of a real server: no input, however odd,
ever produces a server error, and every answer matches what the description documents.

Kept short (a few examples per operation, a fixed seed, no coverage phase) so that it runs
with the suite; `schemathesis run URL --phases coverage` is the long version.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from tests.e2e.test_api_helpers import Api, running_api

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, catalog: Catalog) -> Iterator[Api]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    with running_api(url, catalog) as running:
        running.open()  # something to find, besides the 404s
        yield running


def schemathesis(
    api: Api, token: str, paths: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{api.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--include-path-regex",
        paths,
        "--checks",
        CHECKS,
        "--max-examples",
        "6",
        "--seed",
        "20260704",
        "--phases",
        "examples,fuzzing",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--max-failures",
        "5",
        "--no-color",
        "--request-timeout",
        "20",
    ]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)


def test_no_request_described_by_the_openapi_document_produces_a_server_error(
    api: Api, tmp_path: Path
) -> None:
    for token, paths in [
        (api.tokens["manager"], "^/(incidents|playbooks|health)"),
        (api.tokens["admin"], "^/(admin|auth)"),
    ]:
        run = schemathesis(api, token, paths, tmp_path)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
