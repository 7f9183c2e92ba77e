"""Each failure the sandbox must survive, as a stored heuristic's run on both databases: the
job fails with a clear message, the previous votes stay, and the next run works."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from assay import Workbench
from assay.runtime.sandbox import Limits

GOOD = "def h(record):\n    if 'you' in record['headline'].text.lower():\n        return 'yes'\n"
SPAN = "def s(record):\n    yield 'thing', 0, 1\n"
FAST = Limits(timeout_s=3, cpu_s=3, memory_mb=300, processes=8)

# name -> (task, code, what the failed job's error says: a regular expression)
ATTACKS = {
    "syntax error": ("clickbait", "def h(record)\n    return 'yes'\n", "syntax error on line 2"),
    "exception": ("clickbait", "def h(record):\n    return 1 / 0\n", "ZeroDivisionError"),
    # The wall clock and the CPU limit are both 3 s: whichever stops it first says so.
    "infinite loop": (
        "clickbait",
        "def h(record):\n    while True:\n        pass\n",
        "(ran longer|of CPU time)",
    ),
    "memory bomb": (
        "clickbait",
        "def h(record):\n    x = []\n    while True:\n        x.append(bytearray(10**6))\n",
        "memory",
    ),
    "fork loop": (
        "clickbait",
        "import os\n\ndef h(record):\n    while True:\n        os.fork()\n",
        "processes",
    ),
    "unknown label": ("clickbait", "def h(record):\n    return 'maybe'\n", "'maybe'"),
    "span out of range": ("things", "def s(record):\n    yield 'thing', 0, 999\n", "999"),
    "open": ("clickbait", "def h(record):\n    return open(TARGET).read()\n", "Permission"),
    "os.open": (
        "clickbait",
        "import os\n\ndef h(record):\n    return os.read(os.open(TARGET, os.O_RDONLY), 99)\n",
        "Permission",
    ),
    "ctypes": (
        "clickbait",
        "import ctypes, os\n\ndef h(record):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    fd = libc.open(TARGET.encode(), os.O_RDONLY)\n"
        "    if fd < 0:\n"
        "        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), TARGET)\n"
        "    return os.read(fd, 99)\n",
        "Permission",
    ),
    "subprocess": (
        "clickbait",
        "import subprocess\n\ndef h(record):\n"
        "    done = subprocess.run(['cat', TARGET], capture_output=True, text=True)\n"
        "    if done.returncode:\n"
        "        raise PermissionError(done.stderr)\n"
        "    return 'yes'\n",
        "Permission",
    ),
}


def target(wb: Workbench) -> Path:
    """What the code tries to read: the SQLite database file, or on PostgreSQL a file of
    the data dir (where vectors and indexes live)."""
    url = wb.settings.resolved_database_url()
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    secret = wb.settings.data_dir / "secret.txt"
    secret.write_text("the server's own file\n")
    return secret


@pytest.fixture
def project(wb: Workbench) -> str:
    headlines = [f"{n} things you never knew about topic {n}" for n in range(30)]
    headlines += [f"Minister visits city {n}" for n in range(30)]
    wb.import_dataframe(pd.DataFrame({"headline": headlines}), "p")
    wb.add_task("p", "clickbait", "classification", labels=["yes", "no"])
    wb.add_task("p", "things", "extraction", attribute="headline", labels=["thing"])
    return "p"


def votes(wb: Workbench, project: str, task: str) -> int:
    return int(wb.query(project, {"task": task, "source": "heuristic"}, limit=1)["total"])


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_failing_run_keeps_the_votes_and_the_next_run_works(
    wb: Workbench, project: str, attack: str
) -> None:
    task, code, message = ATTACKS[attack]
    name, good = ("s", SPAN) if task == "things" else ("h", GOOD)
    wb.add_heuristic(project, task, name, good)
    assert wb.run_heuristics(project, [name], wait=True, limits=FAST)["status"] == "done"
    before = votes(wb, project, task)
    assert before > 0

    wb.update_heuristic(project, name, code=f"TARGET = {str(target(wb))!r}\n" + code)
    job = wb.run_heuristics(project, [name], wait=True, limits=FAST)
    assert job["status"] == "failed"
    assert re.search(message, job["error"]), job["error"]
    assert job["error"].startswith(f"heuristic {name!r}: ")  # which one failed
    assert votes(wb, project, task) == before
    assert wb.get_heuristic(project, name)["last_run"]["code_version"] == 1

    # The server goes on: another heuristic runs, and so does the repaired one.
    wb.add_heuristic(project, "clickbait", "other", GOOD.replace("def h", "def other"))
    assert wb.run_heuristics(project, ["other"], wait=True, limits=FAST)["status"] == "done"
    wb.update_heuristic(project, name, code=good)
    assert wb.run_heuristics(project, [name], wait=True, limits=FAST)["status"] == "done"
    assert votes(wb, project, task) == before
