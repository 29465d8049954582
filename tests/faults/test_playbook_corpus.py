"""Broken playbook files: each is one located error, never a traceback.

The corpus is written by the tests (a 10 MB file and 50,000-deep nesting are not worth
storing). Each case is checked three ways a person meets it: loading the file, loading
the folder as the server does, and `recovery playbooks validate` / `recovery serve` run
as commands (exit code 3, one line per problem, no traceback).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recovery.bootstrap import connect
from recovery.catalog import Catalog, load_file
from recovery.cli.playbooks import drifted
from recovery.domain.commands import Actor, CustomerProfile, OpenIncident
from recovery.errors import PlaybookError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: corpus
version: 1
title: Corpus playbook
incident_types: [corpus.case]
roles: [care_team]
limits:
  front_desk: {max_amount: 50}
kinds:
  checked:
    states: [open, checked, done]
    transitions:
      - {trigger: check, source: open, dest: checked}
      - {trigger: complete, source: checked, dest: done}
    resolved: [done]
steps:
  - id: apologise
    title: Apologise
    owner: front_desk
    due: 5m
  - id: pay
    kind: compensation
    title: Pay back
    owner: care_team
    due: 1h
    evidence: [{name: amount, type: money}]
  - id: verify
    kind: checked
    title: Check it
    owner: manager
    due: 2d
"""


def _deep(depth: int) -> str:
    return GOOD.replace("title: Corpus playbook", "title: " + "[" * depth + "]" * depth)


# name -> (file bytes, field path of the problem ("" for the whole file), words it says)
CORPUS: dict[str, tuple[bytes, str, str]] = {
    "latin1": (
        GOOD.replace("Apologise", "Undskyld, caf\xe9").encode("latin-1"),
        "line 17",
        "not UTF-8",
    ),
    "binary": (bytes(range(256)) * 64, "line 2", "not UTF-8"),
    "nul-bytes": (b"id: x\x00\x01\x02\n", "", "not valid YAML"),
    "deep-50000": (_deep(50_000).encode(), "line 3, column 39", "nested deeper than 32"),
    "version-5000-digits": (
        GOOD.replace("version: 1", "version: " + "9" * 5000).encode(),
        "line 2, column 10",
        "5000 digits",
    ),
    "due-overflow": (
        GOOD.replace("due: 5m", "due: 99999999999999w").encode(),
        "steps[0].due",
        "out of range",
    ),
    "due-zero": (GOOD.replace("due: 5m", "due: 0m").encode(), "steps[0].due", "out of range"),
    "due-negative": (GOOD.replace("due: 5m", "due: -5").encode(), "steps[0].due", "out of range"),
    "owner-typo": (
        GOOD.replace("owner: front_desk", "owner: frnt_desk").encode(),
        "steps[0].owner",
        "did you mean 'front_desk'",
    ),
    "team-undeclared": (
        GOOD.replace("roles: [care_team]", "roles: []").encode(),
        "steps[1].owner",
        "unknown role 'care_team'",
    ),
    "limit-role-typo": (
        GOOD.replace("front_desk: {max", "frontdesk: {max").encode(),
        "limits.frontdesk",
        "did you mean 'front_desk'",
    ),
    "kind-never-resolves": (
        GOOD.replace("source: checked, dest: done", "source: checked, dest: checked").encode(),
        "kinds.checked.resolved",
        "could never be done",
    ),
    "duplicate-key": (
        GOOD.replace("    due: 5m\n", "    due: 5m\n    due: 1w\n").encode(),
        "line 20, column 5",
        "duplicate key 'due' (first at line 19)",
    ),
    "ten-megabytes": ((GOOD + "#" + "x" * 10_000_000 + "\n").encode(), "", "over 1,048,576 bytes"),
    "alias-bomb": (
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            )
        ).encode(),
        "line 2, column 8",
        "aliases (*a) are not supported",
    ),
    "bad-date": (
        GOOD.replace("title: Corpus playbook", "title: 2026-13-45").encode(),
        "line 3, column 8",
        "cannot read this value",
    ),
    "version-bool": (
        GOOD.replace("version: 1", "version: true").encode(),
        "version",
        "valid integer",
    ),
    "limit-inf": (
        GOOD.replace("max_amount: 50", "max_amount: .inf").encode(),
        "limits.front_desk.max_amount",
        "finite number",
    ),
    "limit-bool": (
        GOOD.replace("max_amount: 50", "max_amount: true").encode(),
        "limits.front_desk.max_amount",
        "valid number",
    ),
    "not-a-mapping": (b"- just\n- a list\n", "", "must be a mapping"),
    "empty": (b"", "", "must be a mapping"),
}


def _write(folder: Path, name: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_bytes(CORPUS[name][0])
    return path


def test_the_good_playbook_of_the_corpus_loads(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    assert load_file(path).key == ("corpus", 1)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_broken_file_is_one_located_problem(tmp_path: Path, name: str) -> None:
    _, location, words = CORPUS[name]
    path = _write(tmp_path, name)
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    problems = caught.value.problems
    assert [(p.source, p.location) for p in problems] == [(str(path), location)], problems
    assert words in problems[0].message
    with pytest.raises(PlaybookError) as folder:  # what the server does at start
        Catalog.from_directory(tmp_path)
    assert folder.value.problems == problems


def test_a_field_problem_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as caught:
        load_file(_write(tmp_path, "owner-typo"))
    assert caught.value.problems[0].message.endswith("(line 18)")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "500"}
    env.pop("RECOVERY_PLAYBOOKS", None)
    return subprocess.run(
        [sys.executable, "-m", "recovery.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_validate_prints_one_located_line_per_file_and_exits_3(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paths = {name: _write(corpus, name) for name in CORPUS}
    done = _cli("playbooks", "validate", str(corpus), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == PlaybookError.exit_code, out
    assert "Traceback" not in out
    for name, path in paths.items():
        _, location, words = CORPUS[name]
        lines = [line for line in done.stdout.splitlines() if f"{path}:" in line]
        assert len(lines) == 1, (name, lines)
        assert lines[0].startswith(f"error {path}: " + (f"{location}: " if location else ""))
        assert words in lines[0], (name, lines[0])
    assert done.stderr.strip() == f"error: {len(CORPUS)} problems in {len(CORPUS)} files"


@pytest.mark.parametrize("name", ["binary", "deep-50000", "version-5000-digits", "due-overflow"])
def test_serve_refuses_a_broken_folder_in_one_line(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path = _write(corpus, name)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    done = _cli("serve", "--playbooks", str(corpus), "--db", db, "--port", "1", cwd=tmp_path)
    assert done.returncode == PlaybookError.exit_code, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and str(path) in done.stderr, done.stderr


def test_an_edited_file_without_a_version_bump_is_refused_by_validate(tmp_path: Path) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    path = folder / "corpus.yaml"
    path.write_text(GOOD)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    rec = connect(db, playbooks=folder)
    try:
        rec.open(
            OpenIncident(
                incident_type="corpus.case", site="s1", customer=CustomerProfile(name="Mette")
            ),
            actor=Actor(id="ana", role="front_desk"),
        )
    finally:
        rec.dispose()
    assert _cli("playbooks", "validate", str(folder), "--db", db, cwd=tmp_path).returncode == 0
    path.write_text(GOOD.replace("due: 5m", "due: 10m"))  # same version, other rules
    done = _cli("playbooks", "validate", str(folder), "--db", db, cwd=tmp_path)
    assert done.returncode == PlaybookError.exit_code
    assert f"error {path}: version: corpus v1 differs from the v1 that recorded incidents use" in (
        done.stdout
    ), done.stdout
    rec = connect(db, playbooks=folder)  # what `recovery serve` warns about as it starts
    try:
        assert [str(p) for p in drifted(rec)] == [
            f"{path}: version: corpus v1 differs from the v1 that recorded incidents use; "
            "bump 'version' (incidents keep the rules they opened with)"
        ]
    finally:
        rec.dispose()
    path.write_text(GOOD.replace("due: 5m", "due: 10m").replace("version: 1", "version: 2"))
    assert _cli("playbooks", "validate", str(folder), "--db", db, cwd=tmp_path).returncode == 0


def test_a_definition_stored_by_an_earlier_release_still_replays() -> None:
    """Bounds added to files do not strand incidents recorded under older rules."""
    stored = {
        "id": "old",
        "version": 3,
        "title": "Old",
        "incident_types": ["old.case"],
        "steps": [{"id": "now", "title": "Now", "owner": "desk", "due": "0s"}],
    }
    catalog = Catalog()
    compiled = catalog.add_definition(stored, "database:old@v3")
    assert compiled.playbook.step("now").due.total_seconds() == 0
    assert catalog.latest() == []  # replay only: never served to new incidents


def test_a_pipe_named_like_a_playbook_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(PlaybookError) as caught:
        Catalog.from_directory(tmp_path)
    assert [p.message for p in caught.value.problems] == ["not a regular file"]
