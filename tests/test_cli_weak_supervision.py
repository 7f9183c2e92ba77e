"""``assay weak-supervise --show``: the last run's info, in-process, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay import Workbench
from assay.cli import main


def test_show_last_run(
    wb: Workbench,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    url = wb.settings.resolved_database_url()

    def run(*args: str) -> str:
        try:
            main([*args, "--database-url", url])
        except SystemExit as exc:
            assert not exc.code, capsys.readouterr()
        return capsys.readouterr().out

    run("sample", "clickbait", "--project", "cb")
    show = ("weak-supervise", "-p", "cb", "--task", "clickbait", "--show")
    assert json.loads(run(*show)) is None
    code = tmp_path / "lf.py"
    code.write_text(
        "def lf(record):\n    return 'yes' if '?' in record['headline'].text else None\n"
    )
    run("heuristics", "add", "-p", "cb", "--task", "clickbait", "--name", "q", "--file", str(code))
    run("heuristics", "run", "-p", "cb", "--all")
    result = json.loads(run("weak-supervise", "-p", "cb", "--task", "clickbait"))
    info = json.loads(run(*show))
    assert info["model"] == "generative" and info["stale"] is False
    assert info["labeled"] == result["labeled"] and info["finished_at"] == result["finished_at"]
