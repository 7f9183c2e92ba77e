"""Each failure the sandbox must survive, as a stored heuristic's run on both databases: the
job fails with a clear message, the previous votes stay, and the next run works."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from assay import Workbench
from assay.config import Settings
from assay.runtime.sandbox import Limits, Record

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
    # The server's own data dir is private (protect) and not in the code's filesystem.
    "open": (
        "clickbait",
        "def h(record):\n    return open(TARGET).read()\n",
        "No such file or directory",
    ),
    "os.open": (
        "clickbait",
        "import os\n\ndef h(record):\n    return os.read(os.open(TARGET, os.O_RDONLY), 99)\n",
        "No such file or directory",
    ),
    "ctypes": (
        "clickbait",
        "import ctypes, os\n\ndef h(record):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    fd = libc.open(TARGET.encode(), os.O_RDONLY)\n"
        "    if fd < 0:\n"
        "        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), TARGET)\n"
        "    return os.read(fd, 99)\n",
        "No such file or directory",
    ),
    "subprocess": (
        "clickbait",
        "import subprocess\n\ndef h(record):\n"
        "    done = subprocess.run(['cat', TARGET], capture_output=True, text=True)\n"
        "    if done.returncode:\n"
        "        raise OSError(done.stderr)\n"
        "    return 'yes'\n",
        "No such file or directory",
    ),
    # What the sandbox's own filesystem keeps out (each worked before it had one).
    "postgresql socket": (
        "clickbait",
        "import psycopg\n\ndef h(record):\n"
        "    psycopg.connect(host=SOCKETS, user='postgres', dbname='postgres').close()\n"
        "    return 'yes'\n",
        "OperationalError: .*No such file or directory",
    ),
    "another data dir": (
        "clickbait",
        "def h(record):\n    open(OTHER_DB, 'rb').read(16)\n    return 'yes'\n",
        "FileNotFoundError: .*No such file or directory",
    ),
    "server's working directory": (
        "clickbait",
        "def h(record):\n    open(SERVER_FILE, 'rb').read(16)\n    return 'yes'\n",
        "FileNotFoundError: .*No such file or directory",
    ),
    "/tmp carry-over": (  # an earlier run left the file (constants)
        "clickbait",
        "def h(record):\n    open(CARRIED).read()\n    return 'yes'\n",
        "FileNotFoundError: .*No such file or directory",
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


def socket_folder(request: pytest.FixtureRequest) -> str:
    """The folder of PostgreSQL's Unix socket on this machine (a skip where there is none)."""
    engine = create_engine(request.getfixturevalue("postgres_url"))
    with engine.connect() as conn:
        folders = str(conn.execute(text("show unix_socket_directories")).scalar_one())
    engine.dispose()
    folder = folders.split(",")[0].strip()
    if not Path(folder).is_dir():
        pytest.skip(f"PostgreSQL has no socket folder on this machine ({folders!r})")
    return folder


@pytest.fixture
def other_db() -> Iterator[Path]:
    """Another Workbench's database, made by ``assay import`` in a folder anyone may enter."""
    base = Path(tempfile.mkdtemp(prefix="assay-other-"))
    base.chmod(0o755)
    other = Workbench(Settings(data_dir=base / "data"))
    try:
        other.import_dataframe(pd.DataFrame({"secret": ["the other project's row"]}), "other")
        yield base / "data" / "assay.db"
    finally:
        other.close()
        shutil.rmtree(base)


def constants(wb: Workbench, request: pytest.FixtureRequest, attack: str) -> str:
    """The names an attack's code uses, as lines of code."""
    names: dict[str, str] = {"TARGET": str(target(wb))}
    if attack == "postgresql socket":
        names["SOCKETS"] = socket_folder(request)
    if attack == "another data dir":
        names["OTHER_DB"] = str(request.getfixturevalue("other_db"))
    if attack == "server's working directory":
        found = sorted(path for path in Path.cwd().iterdir() if path.is_file())
        if not found:
            pytest.skip(f"no file in the working directory {Path.cwd()} to read")
        names["SERVER_FILE"] = str(found[0])
    if attack == "/tmp carry-over":
        names["CARRIED"] = carried = f"/tmp/assay-carried-{uuid.uuid4().hex}"
        plant = f"import os\n\ndef p(record):\n    open({carried!r}, 'w').write('left')\n"
        wb.sandbox.run(plant + f"    os.chmod({carried!r}, 0o666)\n", [Record(1, {})])
        # Where that was the host's /tmp, the file stays there.
        request.addfinalizer(lambda: Path(carried).unlink(missing_ok=True))
    return "".join(f"{name} = {value!r}\n" for name, value in names.items())


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
    wb: Workbench, project: str, attack: str, request: pytest.FixtureRequest
) -> None:
    task, code, message = ATTACKS[attack]
    name, good = ("s", SPAN) if task == "things" else ("h", GOOD)
    wb.add_heuristic(project, task, name, good)
    assert wb.run_heuristics(project, [name], wait=True, limits=FAST)["status"] == "done"
    before = votes(wb, project, task)
    assert before > 0

    wb.update_heuristic(project, name, code=constants(wb, request, attack) + code)
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
