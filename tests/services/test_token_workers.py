"""The import's tokenizer workers die with their parent and keep none of its sockets or
signal handlers (a server's listening socket held by a worker kept its port taken)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")

# A parent like the server: a listening socket and a SIGTERM handler of its own, then the
# import's workers; it prints their pids and the socket's inode, and waits to be killed.
PARENT = """
import json, os, signal, socket, sys, time
from assay.services import tokens
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
signal.signal(signal.SIGTERM, lambda *_: None)
with tokens.workers("en") as pool:
    assert pool.submit(os.getpid).result(timeout=60)
    pids = list(pool._processes)
    print(json.dumps({"pids": pids, "socket": os.fstat(listener.fileno()).st_ino}), flush=True)
    time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # a zombie: ended, not yet reaped


def _wait_gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(_gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not _gone(p)]


@contextlib.contextmanager
def _parent() -> Iterator[tuple[subprocess.Popen[str], list[int], int]]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    workers: list[int] = []
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, "the parent did not start its workers within 60 s"
        started = json.loads(parent.stdout.readline())
        workers = started["pids"]
        assert len(workers) == 2
        yield parent, workers, started["socket"]
    finally:
        for pid in [parent.pid, *workers]:  # only what this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.wait(10)


def test_workers_die_with_a_killed_parent_and_hold_none_of_its_sockets() -> None:
    with _parent() as (parent, workers, inode):
        for pid in workers:
            held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            assert f"socket:[{inode}]" not in held, f"worker {pid} holds the listening socket"
        parent.kill()  # kill -9: no clean-up of its own runs
        parent.wait(10)
        assert _wait_gone(workers) == [], "workers outlived their killed parent"


def test_a_worker_stops_on_sigterm() -> None:
    with _parent() as (_parent_process, workers, _inode):
        os.kill(workers[0], signal.SIGTERM)
        assert _wait_gone(workers[:1]) == [], "a worker ignored SIGTERM (its parent's handler)"
