"""The sandbox, with real worker processes: what user code can do, and the attacks it must not
get away with. Each attack runs as the code it names; afterwards the same sandbox still runs
ordinary code, and nothing of the attack is left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from assay.errors import (
    CpuLimitExceeded,
    InvalidCode,
    InvalidOutput,
    MemoryLimitExceeded,
    ProcessLimitExceeded,
    SandboxTimeout,
    SandboxUnavailable,
    UserCodeError,
    ValidationError,
    WorkerCrashed,
)
from assay.runtime.sandbox import (
    DEFAULT_UIDS,
    Limits,
    OutputSpec,
    Record,
    Sandbox,
    knowledge_module,
    module_name,
    protect,
)
from assay.runtime.sandbox_checks import check_classification, check_extraction, check_multi_label
from assay.services.tokens import token_texts, tokenize

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the sandbox switches uids, which only root can do"
)

FAST = Limits(timeout_s=20, cpu_s=10, memory_mb=256, processes=8)
HEADLINES = [
    "You will not believe what this cat did next",
    "Stocks fall on rate fears",
    "Ten things only 90s kids know",
    "Parliament passes the budget",
]
SECRET = "TOP-SECRET-ROW-4711"


def make_records(texts: list[str], start: int = 1) -> list[Record]:
    return [
        Record(i, {"headline": text, "rank": i}, {"headline": blob})
        for i, (text, blob) in enumerate(zip(texts, tokenize(texts, "en"), strict=True), start)
    ]


RECORDS = make_records(HEADLINES)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    box.start()
    yield box
    box.close()


def sandbox_processes() -> list[int]:
    """Pids of this test's live processes under a sandbox uid (another sandbox on the machine
    may run its own meanwhile)."""
    found = []
    for pid in sorted(descendants()):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) in DEFAULT_UIDS:
            found.append(pid)
    return found


def descendants() -> set[int]:
    """Pids of the live processes below this one: the zygote, its workers and what they
    started (the zygote adopts orphans)."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parents[int(entry)] = int(parent)
    found: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def still_works(sandbox: Sandbox) -> None:
    """The sandbox runs ordinary code, and nothing of an earlier run is left."""
    results = sandbox.run("def lf(record):\n    return record['rank'] * 2\n", RECORDS)
    assert [result.value for result in results] == [2, 4, 6, 8]
    assert sandbox_processes() == []


def run_one(sandbox: Sandbox, code: str, limits: Limits = FAST) -> Any:
    """The value of ``code``'s function on one record."""
    return sandbox.run(code, RECORDS[:1], limits=limits)[0].value


# ------------------------------------------------------------------------ what code can do


def test_classification_with_printed_output(sandbox: Sandbox) -> None:
    code = """
def lf(record):
    headline = record["headline"]
    print("tokens:", len(headline), headline[0].text)
    if "believe" in headline.text or "things" in headline.text:
        return "clickbait"
"""
    spec = OutputSpec("classification", frozenset({"clickbait", "news"}))
    results = sandbox.run(code, RECORDS, output=spec, limits=FAST)
    assert [(r.record_id, r.value) for r in results] == [
        (1, "clickbait"),
        (2, None),
        (3, "clickbait"),
        (4, None),
    ]
    assert [r.output for r in results] == [
        "tokens: 9 You\n",
        "tokens: 5 Stocks\n",
        "tokens: 6 Ten\n",
        "tokens: 4 Parliament\n",
    ]


def test_printed_output_is_capped_per_record(sandbox: Sandbox) -> None:
    code = "def lf(record):\n    print('x' * 100)\n"
    results = sandbox.run(code, RECORDS[:2], limits=Limits(output_chars=10))
    assert [r.output for r in results] == [
        "x" * 10 + "\n[91 more characters of output not kept]"
    ] * 2


def test_multi_label_returns_lists(sandbox: Sandbox) -> None:
    code = "def lf(record):\n    return ['a', 'b', 'a'] if record['rank'] % 2 else None\n"
    spec = OutputSpec("multi-label", frozenset({"a", "b"}))
    results = sandbox.run(code, RECORDS, output=spec, limits=FAST)
    assert [r.value for r in results] == [["a", "b"], None, ["a", "b"], None]


def test_extraction_generator_yields_token_spans(sandbox: Sandbox) -> None:
    code = """
def lf(record):
    for token in record["headline"]:
        if token.text[0].isupper():
            yield "capital", token.i, token.i + 1
"""
    spec = OutputSpec("extraction", frozenset({"capital"}), attribute="headline")
    results = sandbox.run(code, RECORDS, output=spec, limits=FAST)
    assert results[0].value == [("capital", 0, 1)]
    assert results[3].value == [("capital", 0, 1)]


def test_docs_have_the_text_and_the_stored_tokens(sandbox: Sandbox) -> None:
    texts = ["  leading", "a  b\t\tc\n\nd ", "U.S.A. is big.", "東京 タワー", "", "emoji 🎉🎉 ok"]
    records = make_records(texts)
    code = """
def f(record):
    doc = record["headline"]
    return [doc.text, [token.text for token in doc]]
"""
    results = sandbox.run(code, records, limits=FAST)
    for record, result in zip(records, results, strict=True):
        text = record.data["headline"]
        assert result.value == [text, token_texts(text, record.tokens["headline"])]


def test_knowledge_lists_import_by_module_name(sandbox: Sandbox) -> None:
    code = """
from knowledge import country_related, _2nd_list

def lf(record):
    words = {token.text.lower() for token in record["headline"]}
    return sorted(words & set(country_related)) + _2nd_list
"""
    lists = {"Country related": ["parliament", "budget"], "2nd list": ["x"]}
    results = sandbox.run(code, RECORDS, knowledge=lists, limits=FAST)
    assert results[3].value == ["budget", "parliament", "x"]
    assert results[0].value == ["x"]


def test_module_name() -> None:
    assert module_name("account blocked") == "account_blocked"
    assert module_name(" Country-Related! ") == "countryrelated"
    assert module_name("2nd list") == "_2nd_list"
    assert module_name("Städte") == "städte"
    for name in ("account blocked", "2nd list", "Städte"):  # a module name stays as it is
        assert module_name(module_name(name)) == module_name(name)
    assert knowledge_module({"a b": ["x"], "c": ()}) == {"a_b": ["x"], "c": []}
    with pytest.raises(ValidationError, match="has no letter, digit or '_'"):
        knowledge_module({"!!!": []})
    with pytest.raises(ValidationError, match="both import as 'a_b'"):
        knowledge_module({"a b": [], "A-_B": []})


def test_named_function_and_calculated_values(sandbox: Sandbox) -> None:
    code = """
def helper(text):
    return len(text.split())

def words(record):
    return {"words": helper(record["headline"].text), "rank": record["rank"]}
"""
    results = sandbox.run(code, RECORDS[:2], function="words", limits=FAST)
    assert [r.value for r in results] == [{"words": 9, "rank": 1}, {"words": 5, "rank": 2}]
    with pytest.raises(InvalidCode, match=r"defines 2 \(helper, words\): name the one"):
        sandbox.run(code, RECORDS, limits=FAST)
    with pytest.raises(InvalidCode, match="no function named 'lf'"):
        sandbox.run(code, RECORDS, function="lf", limits=FAST)


# -------------------------------------------------------------------- code that goes wrong


def test_syntax_error_names_the_line(sandbox: Sandbox) -> None:
    code = "def lf(record):\n    x = 1\n    return x +\n"
    with pytest.raises(InvalidCode, match="syntax error on line 3") as caught:
        sandbox.run(code, RECORDS, limits=FAST)
    assert caught.value.detail["line"] == 3
    assert caught.value.detail["text"] == "    return x +"
    still_works(sandbox)


def test_exception_on_some_records_ends_the_run_with_ids_and_tracebacks(
    sandbox: Sandbox,
) -> None:
    code = """
def lf(record):
    print("rank", record["rank"])
    return 10 // (record["rank"] % 2)
"""
    with pytest.raises(UserCodeError) as caught:
        sandbox.run(code, RECORDS, limits=FAST)
    error = caught.value
    assert error.message == (
        "the code raised exceptions on 2 records (ids 2, 4); "
        "the first: ZeroDivisionError: integer division or modulo by zero"
    )
    assert [f.record_id for f in error.failures] == [2, 4]
    assert [f.output for f in error.failures] == ["rank 2\n", "rank 4\n"]
    trace = error.failures[0].traceback
    assert 'File "<code>", line 4, in lf' in trace
    assert 'return 10 // (record["rank"] % 2)' in trace
    assert "sandbox_worker" not in trace  # the trace starts in the user's code
    assert error.detail["failures"][1]["record_id"] == 4
    still_works(sandbox)


def test_a_run_stops_at_max_errors(sandbox: Sandbox) -> None:
    records = make_records(["x"] * 5000)
    with pytest.raises(UserCodeError, match="stopped at 3 failing records") as caught:
        sandbox.run(
            "def lf(record):\n    raise ValueError(record['rank'])\n",
            records,
            limits=Limits(max_errors=3),
        )
    assert [f.record_id for f in caught.value.failures] == [1, 2, 3]


def test_exception_while_loading(sandbox: Sandbox) -> None:
    code = "from knowledge import missing_list\n\ndef lf(record):\n    return None\n"
    with pytest.raises(UserCodeError, match=r"raised ImportError.* while loading") as caught:
        sandbox.run(code, RECORDS, limits=FAST)
    assert caught.value.failures[0].record_id is None


def test_values_that_are_not_json_fail_their_records(sandbox: Sandbox) -> None:
    code = "def lf(record):\n    return record['headline'] if record['rank'] == 2 else 1\n"
    with pytest.raises(UserCodeError, match="on record 2") as caught:
        sandbox.run(code, RECORDS, limits=FAST)
    assert (
        caught.value.failures[0].error == "the value returned is not JSON (Doc is not a JSON value)"
    )


def test_unknown_label_ends_the_run(sandbox: Sandbox) -> None:
    code = "def lf(record):\n    return 'clickbait' if record['rank'] < 3 else 'sports'\n"
    spec = OutputSpec("classification", frozenset({"clickbait", "news"}))
    with pytest.raises(InvalidOutput) as caught:
        sandbox.run(code, RECORDS, output=spec, limits=FAST)
    assert caught.value.message == (
        "record 3: the function returned 'sports', which is neither a label of the task "
        "(clickbait, news) nor None"
    )
    assert caught.value.detail == {"record_id": 3, "value": "'sports'"}
    still_works(sandbox)


def test_span_outside_the_text_ends_the_run(sandbox: Sandbox) -> None:
    code = "def lf(record):\n    yield 'capital', 0, len(record['headline']) + 1\n"
    spec = OutputSpec("extraction", frozenset({"capital"}), attribute="headline")
    with pytest.raises(InvalidOutput, match=r"record 1: .*\('capital', 0, 10\).* 9 tokens"):
        sandbox.run(code, RECORDS, output=spec, limits=FAST)
    still_works(sandbox)


def test_output_checks() -> None:
    labels = {"a", "b"}
    assert check_classification(1, "a", labels) == "a"
    assert check_classification(1, None, labels) is None
    for bad in ("c", 1, ["a"]):
        with pytest.raises(InvalidOutput, match="record 1"):
            check_classification(1, bad, labels)
    assert check_multi_label(2, ["b", "a", "b"], labels) == ["b", "a"]
    assert check_multi_label(2, None, labels) is None
    for bad in ("a", ["a", "c"], [1]):
        with pytest.raises(InvalidOutput, match="record 2"):
            check_multi_label(2, bad, labels)
    assert check_extraction(3, [["a", 0, 1], ("b", 2, 5)], labels, 5) == [("a", 0, 1), ("b", 2, 5)]
    assert check_extraction(3, None, labels, 5) == []
    for bad in (
        [("c", 0, 1)],  # unknown label
        [("a", 1, 1)],  # empty
        [("a", -1, 1)],
        [("a", 4, 6)],  # past the end
        [("a", 0, True)],
        [("a", 0)],
        "a",
    ):
        with pytest.raises(InvalidOutput, match="record 3"):
            check_extraction(3, bad, labels, 5)


# ------------------------------------------------------------------------------- limits


def test_two_sandboxes_never_share_a_uid() -> None:
    first = Sandbox()
    uid = first.uids.take()
    try:  # flock-ed: a sandbox in another process skips it just the same
        with pytest.raises(SandboxUnavailable, match="all 1 sandbox uids are in use"):
            Sandbox(uids=range(uid, uid + 1)).uids.take()
    finally:
        first.uids.give(uid)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="the limit cpu_s must be positive"):
        Limits(cpu_s=0)


def test_infinite_loop_times_out_and_every_process_of_the_run_ends(sandbox: Sandbox) -> None:
    code = """
import os, time

def lf(record):
    if os.fork() == 0:
        os.setsid()  # leaves the worker's process group
        time.sleep(600)
    while True:
        pass
"""
    seen: list[int] = []

    def watch() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(seen) < 2:
            seen[:] = sandbox_processes()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    began = time.monotonic()
    with pytest.raises(SandboxTimeout, match=r"ran longer than its 1\.5 s and was stopped"):
        sandbox.run(code, RECORDS, limits=Limits(timeout_s=1.5, cpu_s=30))
    watcher.join()
    assert time.monotonic() - began < 10
    assert len(seen) == 2  # the worker and its child in a session of its own
    assert sandbox_processes() == []
    for pid in seen:
        assert not Path(f"/proc/{pid}").exists()
    still_works(sandbox)


def test_cpu_time_limit(sandbox: Sandbox) -> None:
    with pytest.raises(CpuLimitExceeded, match="more than its 1 s of CPU time"):
        sandbox.run(
            "def lf(record):\n    while True:\n        pass\n", RECORDS, limits=Limits(cpu_s=1)
        )
    still_works(sandbox)


def test_cpu_time_limit_holds_when_the_code_ignores_sigxcpu(sandbox: Sandbox) -> None:
    code = """
import signal
signal.signal(signal.SIGXCPU, signal.SIG_IGN)

def lf(record):
    while True:
        pass
"""
    with pytest.raises(CpuLimitExceeded):
        sandbox.run(code, RECORDS, limits=Limits(cpu_s=1))
    still_works(sandbox)


@pytest.mark.parametrize(
    "code",
    [
        "def lf(record):\n    x = bytearray(10**10)\n",
        "def lf(record):\n    x = []\n    while True:\n        x.append(bytearray(10**6))\n",
        "x = []\ndef lf(record):\n    while True:\n        x.append('.' * 10**5)\n",
    ],
    ids=["one-allocation", "growing-list", "growing-global"],
)
def test_memory_bomb(sandbox: Sandbox, code: str) -> None:
    with pytest.raises(MemoryLimitExceeded, match="more than its 200 MB of memory"):
        sandbox.run(code, RECORDS, limits=Limits(memory_mb=200))
    still_works(sandbox)


@pytest.mark.parametrize(
    "code",
    [
        "import os\n\ndef lf(record):\n    while True:\n        os.fork()\n",
        "import subprocess\n\ndef lf(record):\n"
        "    while True:\n        subprocess.Popen(['sleep', '60'])\n",
    ],
    ids=["os.fork", "subprocess.Popen"],
)
def test_fork_loop_ends_the_run_and_other_runs_go_on(sandbox: Sandbox, code: str) -> None:
    before = descendants()
    others: list[Any] = []

    def other_run() -> None:  # a run of another job, at the same time
        work = "import time\n\ndef lf(record):\n    time.sleep(0.2)\n    return record['rank']\n"
        others.extend(r.value for r in sandbox.run(work, RECORDS, limits=FAST))

    other = threading.Thread(target=other_run)
    other.start()
    with pytest.raises(ProcessLimitExceeded, match="more processes than its limit of 8"):
        sandbox.run(code, RECORDS, limits=Limits(processes=8))
    other.join()
    assert others == [1, 2, 3, 4]
    assert sandbox_processes() == []
    assert descendants() == before  # the zygote alone
    still_works(sandbox)


def test_a_crashing_worker(sandbox: Sandbox) -> None:
    code = "import ctypes\n\ndef lf(record):\n    return ctypes.string_at(0)\n"
    with pytest.raises(WorkerCrashed, match="the sandbox process was killed by SIGSEGV"):
        sandbox.run(code, RECORDS, limits=FAST)
    still_works(sandbox)


def test_messages_the_code_writes_itself_are_not_believed(sandbox: Sandbox) -> None:
    garbage = "import os\n\ndef lf(record):\n    os.write(4, b'not json\\n')\n"
    with pytest.raises(WorkerCrashed, match="malformed message"):
        sandbox.run(garbage, RECORDS, limits=FAST)
    # A well-formed message with made-up values still goes through the output checks.
    forged = (
        "import os\n\ndef lf(record):\n"
        '    os.write(4, b\'{"values": [["sports"]]}\\n\')\n'
        "    os._exit(0)\n"
    )
    spec = OutputSpec("classification", frozenset({"clickbait", "news"}))
    with pytest.raises(InvalidOutput, match="'sports'"):
        sandbox.run(forged, RECORDS[:1], output=spec, limits=FAST)
    still_works(sandbox)


# ---------------------------------------------------------------------- what code can read


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data dir with a database file, in a folder every user may enter: only protect()
    keeps the sandbox out of it."""
    base = Path(tempfile.mkdtemp(prefix="assay-test-"))
    base.chmod(0o755)
    folder = base / "data"
    folder.mkdir(mode=0o755)
    (folder / "assay.db").write_text(f"SQLite format 3 ... {SECRET}\n")
    (folder / "assay.db").chmod(0o644)
    yield folder
    for path in (folder / "assay.db", folder, base):
        path.unlink() if path.is_file() else path.rmdir()


ATTACKS = {
    "open": "def lf(record):\n    return open(DB).read()\n",
    "os.open": """
import os

def lf(record):
    return os.read(os.open(DB, os.O_RDONLY), 999).decode()
""",
    "ctypes": """
import ctypes, os

def lf(record):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.open(DB.encode(), os.O_RDONLY)
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), DB)
    return os.read(fd, 999).decode()
""",
    "cat": """
import subprocess

def lf(record):
    done = subprocess.run(["cat", DB], capture_output=True, text=True)
    return done.stdout + done.stderr
""",
}


def assert_not_found(sandbox: Sandbox, code: str, attack: str) -> None:
    """The code's attempt to read ``DB`` finds no such file, however it asks."""
    if attack == "cat":
        value = run_one(sandbox, code)
        assert "No such file or directory" in value
        assert SECRET not in value
    else:
        with pytest.raises(UserCodeError, match="FileNotFoundError") as caught:
            run_one(sandbox, code)
        assert "No such file or directory" in caught.value.failures[0].error
        assert SECRET not in str(caught.value.to_dict())


@pytest.mark.parametrize("attack", ATTACKS)
def test_another_data_dirs_database_is_not_there(
    sandbox: Sandbox, data_dir: Path, attack: str
) -> None:
    """A data dir that no protect() made private (another Workbench's, another user's) is
    outside the sandbox's filesystem: every way of reading it finds no such file; the same
    once it is private."""
    code = f"DB = {str(data_dir / 'assay.db')!r}\n" + ATTACKS[attack]
    assert_not_found(sandbox, code, attack)
    protect(data_dir)
    assert (data_dir.stat().st_mode & 0o777, data_dir.stat().st_uid) == (0o700, 0)
    assert_not_found(sandbox, code, attack)
    still_works(sandbox)


def test_no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", f"postgresql://assay:{SECRET}@db/assay")
    monkeypatch.setenv("API_TOKEN", SECRET)
    box = Sandbox()  # its zygote starts with these set in the server
    try:
        code = "import os\n\ndef lf(record):\n    return dict(os.environ)\n"
        environment = run_one(box, code)
    finally:
        box.close()
    assert not [name for name in environment if name.startswith("ASSAY_")]
    assert SECRET not in str(environment)
    assert set(environment) <= {
        "PATH",
        "LANG",
        "HOME",
        "TMPDIR",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }


def test_an_empty_working_directory_of_its_own(sandbox: Sandbox) -> None:
    code = """
import os

def lf(record):
    found = os.listdir(".")
    with open("scratch.txt", "w") as f:
        f.write("mine")
    owner = os.stat("scratch.txt").st_uid
    return [os.getcwd(), found, os.getuid(), os.getgid(), os.getgroups(), owner]
"""
    cwd, found, uid, gid, groups, owner = run_one(sandbox, code)
    assert found == []
    assert cwd == "/workdir"
    assert uid in DEFAULT_UIDS and gid == uid and groups == [] and owner == uid


def test_other_processes_environ_and_memory_are_out_of_reach(sandbox: Sandbox) -> None:
    code = f"""
def lf(record):
    denied = []
    for path in ["/proc/1/environ", "/proc/{os.getpid()}/environ", "/proc/{os.getpid()}/mem"]:
        try:
            open(path, "rb").read(10)
        except (PermissionError, FileNotFoundError):  # another uid's, or not even seen
            denied.append(path)
    return denied
"""
    assert len(run_one(sandbox, code)) == 3


def test_no_descriptor_of_the_server_is_inherited(sandbox: Sandbox, data_dir: Path) -> None:
    with open(data_dir / "assay.db") as held:  # as an open database connection would be
        code = """
import os

def lf(record):
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            pass  # listdir's own, closed by now
    return found
"""
        descriptors = run_one(sandbox, code)
        assert held.readable()
    targets = [target for fd, target in descriptors.items() if int(fd) > 4]
    assert not [t for t in targets if str(data_dir) in t]
    assert all(
        t.startswith(("pipe:", "/dev/null")) for fd, t in descriptors.items() if int(fd) <= 4
    )
    assert targets == []  # nothing past the run's pipes


def test_no_network(sandbox: Sandbox) -> None:
    with socket.socket() as server:  # e.g. a database listening on localhost
        server.bind(("127.0.0.1", 0))
        server.listen()
        code = f"""
import socket

def lf(record):
    try:
        socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=2)
    except OSError as exc:
        return type(exc).__name__
    return "connected"
"""
        assert run_one(sandbox, code) == "OSError"


# ------------------------------------------------------------------ the filesystem it sees


def test_the_filesystem_holds_the_python_installation_and_the_system_libraries(
    sandbox: Sandbox,
) -> None:
    """The root holds the system's programs and libraries, the Python installation, a minimal
    /etc and /dev, its own /proc, /tmp and working directory: nothing else."""
    code = """
import os, sys

def lf(record):
    return {
        "/": sorted(os.listdir("/")),
        "/etc": sorted(os.listdir("/etc")),
        "/dev": sorted(os.listdir("/dev")),
        "prefix": os.path.isdir(sys.prefix) and os.path.isdir(sys.base_prefix),
    }
"""
    seen = run_one(sandbox, code)
    python = {Path(prefix).parts[1] for prefix in (sys.prefix, sys.base_prefix)}
    system = {"bin", "lib", "lib32", "lib64", "libx32", "sbin"}
    assert set(seen["/"]) <= {"usr", "dev", "etc", "proc", "tmp", "workdir"} | system | python
    assert {"usr", "dev", "etc", "proc", "tmp", "workdir"} <= set(seen["/"])
    assert not {"run", "var", "home", "srv", "opt", "mnt", "media", "sys", "boot"} & (
        set(seen["/"]) - python
    )
    assert set(seen["/etc"]) <= {"ld.so.cache", "localtime"}
    # With the network, what name lookups and TLS read; still no accounts.
    networked = run_one(sandbox, code, Limits(network=True))["/etc"]
    assert set(networked) - set(seen["/etc"]) <= {
        "resolv.conf",
        "hosts",
        "nsswitch.conf",
        "host.conf",
        "gai.conf",
        "ssl",
    }
    assert ("resolv.conf" in networked) == Path("/etc/resolv.conf").exists()
    assert seen["/dev"] == sorted(
        ["null", "zero", "random", "urandom", "shm", "fd", "stdin", "stdout", "stderr"]
    )
    assert seen["prefix"]


def test_the_installation_is_read_only_and_a_python_subprocess_works(sandbox: Sandbox) -> None:
    code = """
import os, subprocess, sys

def lf(record):
    done = subprocess.run(
        [sys.executable, "-c", "import spacy, numpy; print('imported')"],
        capture_output=True, text=True,
    )
    refused = []
    for folder in (sys.prefix, sys.base_prefix, "/usr", "/etc", "/"):
        try:
            open(os.path.join(folder, "planted"), "w")
        except OSError as exc:
            refused.append(type(exc).__name__)
    return [done.stdout + done.stderr, refused, sys.path]
"""
    printed, refused, path = run_one(sandbox, code)
    assert printed == "imported\n"
    assert len(refused) == 5
    # sys.path: the installation's folders only (no editable install's source checkout).
    assert [entry for entry in path if not entry.startswith((sys.prefix, sys.base_prefix))] == []


def test_an_installation_below_tmp_is_there(tmp_path: Path) -> None:
    """A server whose virtual environment lies below /tmp (a checkout there): the run's own
    /tmp must not hide it. A venv in pytest's tmp folder, reaching assay and spaCy through a
    .pth file, with a module of its own that the code imports."""
    import site

    import spacy

    import assay

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = next(venv.glob("lib/python*/site-packages"))
    reach = [Path(spacy.__file__).parents[1], Path(assay.__file__).parents[1]]
    reach += [Path(p) for p in site.getsitepackages()]
    (packages / "reach.pth").write_text("".join(f"{p}\n" for p in reach), encoding="utf-8")
    (packages / "venv_only.py").write_text("WHERE = 'the venv'\n", encoding="utf-8")
    script = """
from assay.runtime.sandbox import Limits, Record, Sandbox
box = Sandbox()
try:
    code = "import venv_only\\ndef lf(record):\\n    return venv_only.WHERE"
    print(box.run(code, [Record(id=1, data={})], limits=Limits(timeout_s=60))[0].value)
finally:
    box.close()
"""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=300
    )
    assert str(venv).startswith("/tmp/")
    assert done.stdout.strip() == "the venv", done.stdout + done.stderr[-2000:]


def test_the_postgresql_socket_is_not_there(sandbox: Sandbox, postgres_url: str) -> None:
    """No Unix socket of a database on this machine: the empty network namespace does not
    cover sockets in the filesystem, the sandbox's own filesystem does."""
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        folders = conn.execute(text("show unix_socket_directories")).scalar_one()
    engine.dispose()
    folder = folders.split(",")[0].strip()
    if not folder.startswith("/") or not Path(folder).is_dir():
        pytest.skip(f"PostgreSQL has no socket folder on this machine ({folders!r})")
    code = f"""
import psycopg

def lf(record):
    with psycopg.connect(host={folder!r}, user="postgres", dbname="postgres") as conn:
        return conn.execute("select current_user").fetchone()[0]
"""
    with pytest.raises(UserCodeError, match="OperationalError") as caught:
        run_one(sandbox, code)
    assert "No such file or directory" in caught.value.failures[0].error


def test_the_servers_working_directory_and_checkout_are_not_there(sandbox: Sandbox) -> None:
    """Of the server's working directory (here: the project's checkout) the code sees no
    file; at most the folder of a Python environment kept in it."""
    code = f"""
import os

def lf(record):
    found = []
    for attempt in (lambda: os.listdir({os.getcwd()!r}), lambda: open({__file__!r}).read()):
        try:
            found.append(attempt())
        except OSError as exc:
            found.append(f"{{type(exc).__name__}}: {{exc.strerror}}")
    return found
"""
    listed, read = run_one(sandbox, code)
    environments = {
        Path(prefix).relative_to(os.getcwd()).parts[0]
        for prefix in (sys.prefix, sys.base_prefix)
        if Path(prefix).is_relative_to(os.getcwd())
    }
    missing = "FileNotFoundError: No such file or directory"
    assert listed == (sorted(environments) if environments else missing)
    assert read == missing


def test_tmp_and_dev_shm_are_the_runs_own(sandbox: Sandbox) -> None:
    """A file left in /tmp or /dev/shm, even one every user may read, is gone for the next
    run: each run has its own, empty."""
    name = f"assay-carry-{uuid.uuid4().hex}"
    leave = f"""
import os

def lf(record):
    for folder in ("/tmp", "/dev/shm"):
        path = os.path.join(folder, {name!r})
        with open(path, "w") as f:
            f.write("left behind")
        os.chmod(path, 0o666)
    return sorted(os.listdir("/tmp")) + sorted(os.listdir("/dev/shm"))
"""
    find = f"""
import os

def lf(record):
    found = []
    for folder in ("/tmp", "/dev/shm"):
        try:
            found.append(open(os.path.join(folder, {name!r})).read())
        except OSError as exc:
            found.append(type(exc).__name__)
    return found
"""
    # An installation below /tmp (a checkout there) is bound at its own path, read-only.
    installed = {
        Path(prefix).parts[2]
        for prefix in {sys.prefix, sys.base_prefix}
        if Path(prefix).parts[1:2] == ("tmp",)
    }
    try:
        assert run_one(sandbox, leave) == [*sorted([name, *installed]), name]
        assert run_one(sandbox, find) == ["FileNotFoundError", "FileNotFoundError"]
    finally:  # where the sandbox had no /tmp of its own
        for folder in ("/tmp", "/dev/shm"):
            Path(folder, name).unlink(missing_ok=True)


def test_tmp_and_dev_shm_hold_at_most_file_mb(sandbox: Sandbox) -> None:
    code = """
import os

def lf(record):
    found = []
    for folder in ("/tmp", "/dev/shm"):
        written = 0
        try:
            for n in range(8):
                with open(f"{folder}/part{n}", "wb") as f:
                    f.write(b"x" * 700_000)
                written += 1
        except OSError as exc:
            found.append([written, exc.strerror])
    return found
"""
    assert run_one(sandbox, code, Limits(file_mb=2)) == [[2, "No space left on device"]] * 2


def test_proc_shows_the_runs_own_processes_only(sandbox: Sandbox) -> None:
    code = """
import os

def lf(record):
    owners = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            owners.add(os.stat(f"/proc/{entry}").st_uid)
    return [sorted(owners), os.getuid(), os.path.exists(f"/proc/{os.getppid()}")]
"""
    owners, uid, parent_visible = run_one(sandbox, code)
    assert owners == [uid]
    assert not parent_visible  # the zygote, root's


def test_without_a_filesystem_of_its_own_nothing_runs() -> None:
    """Where the kernel refuses the mounts (here: a server without CAP_SYS_ADMIN, as in a
    container that lacks it), the run fails with SandboxUnavailable: never less confined."""
    script = """
import ctypes
from assay.runtime.sandbox import Limits, Record, Sandbox, SandboxUnavailable

libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(24, 21, 0, 0, 0) == 0  # PR_CAPBSET_DROP, CAP_SYS_ADMIN: the zygote lacks it
box = Sandbox()
try:
    box.run("def lf(record):\\n    return 1\\n", [Record(1, {})], limits=Limits(network=True))
    print("ran")
except SandboxUnavailable as exc:
    print(exc.message)
finally:
    box.close()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.startswith(
        "the sandbox could not prepare the run: RuntimeError: cannot give the code a "
        "filesystem of its own, so nothing ran"
    ), done.stdout
    assert "Operation not permitted" in done.stdout


def test_abstract_unix_sockets_are_out_of_reach(sandbox: Sandbox) -> None:
    """Unix sockets with no file (Linux's abstract names) belong to the network namespace:
    the code's own, empty one has none of the host's."""
    name = f"\0assay-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(name)
        server.listen()
        code = f"""
import socket

def lf(record):
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect({name!r})
        except OSError as exc:
            return type(exc).__name__
    return "connected"
"""
        assert run_one(sandbox, code) == "ConnectionRefusedError"
