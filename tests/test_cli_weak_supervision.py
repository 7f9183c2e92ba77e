"""``assay weak-supervise --show``: the last run's info, in-process, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import Run, run  # noqa: F401  (the fixture)


def test_show_last_run(run: Run, tmp_path: Path) -> None:  # noqa: F811
    run("sample", "clickbait", "--project", "cb")
    show = ("weak-supervise", "-p", "cb", "--task", "clickbait", "--show")
    assert json.loads(run(*show)[0]) is None
    code = tmp_path / "lf.py"
    code.write_text(
        "def lf(record):\n    return 'yes' if '?' in record['headline'].text else None\n"
    )
    run("heuristics", "add", "-p", "cb", "--task", "clickbait", "--name", "q", "--file", str(code))
    run("heuristics", "run", "-p", "cb", "--all")
    result = json.loads(run("weak-supervise", "-p", "cb", "--task", "clickbait")[0])
    info = json.loads(run(*show)[0])
    assert info["model"] == "generative" and info["stale"] is False
    assert info["labeled"] == result["labeled"] and info["finished_at"] == result["finished_at"]
