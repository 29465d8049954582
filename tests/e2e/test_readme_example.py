"""The README's embedding example runs as written, and shows the customer's key and
history (what a back office copies first must work)."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_embedding_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Embedding it in Python") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    assert 'key="LOY-118204"' in code and 'rec.customer("LOY-118204")' in code
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(tmp_path / "mail"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(script), run_name="__main__")
    printed = out.getvalue()
    assert "[('Walked guest (no room on arrival)', 'open')] {'EUR': 189.0}" in printed
    assert "https://hotel.example/status/" in printed
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
