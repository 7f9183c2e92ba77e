"""The sandbox's process machinery, the server's side: the zygote that forks workers, the
uids they run under, and a run's worker as the server sees it (its folder, pipes, messages
and exit).

A run's worker is forked by the *zygote*, a process started fresh with ``subprocess`` that
imports spaCy once; the worker confines itself (``sandbox_worker.py``: its own uid, limits,
filesystem) before it runs any code. What travels over the pipes is
``sandbox_protocol.py``'s.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import CpuLimitExceeded, SandboxError, SandboxUnavailable, WorkerCrashed
from assay.runtime.sandbox_protocol import Limits, Lines, encode

WORKER = Path(__file__).with_name("sandbox_worker.py")
# Uids the workers run under, one per concurrent run; numbers that an account or a group on
# this machine uses are skipped, so that a run owns no file and shares no group.
DEFAULT_UIDS = range(64_000, 64_256)
LOCKS = Path("/run/assay-sandbox")  # a lock file per uid in use, across processes
STOP_TIMEOUT_S = 10.0
STDERR_TAIL = 4096

# Told of every run started in this context, before its worker is asked for (it may refuse
# it by raising): a try-run that its user may cancel records them (runtime/try_runs.py).
spawn_watcher: ContextVar[Callable[[Zygote, str], None] | None] = ContextVar(
    "spawn_watcher", default=None
)
# The whole environment of the zygote and its workers: no ASSAY_* settings, no secrets.
CLEAN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",  # threads count against the process limit
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


class Zygote:
    """The process that forks the workers: started with ``subprocess`` (a fresh interpreter
    running ``sandbox_worker.py``, clean environment, no inherited descriptors, never a fork
    of the server), asked for workers and kills over a control socket; restarted when it
    ended. Safe to use from several threads."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._ensure()

    def _ensure(self) -> socket.socket:
        if self._control is not None and self._process is not None:
            if self._process.poll() is None:
                return self._control
            self._control.close()
        if os.geteuid() != 0:
            raise SandboxUnavailable(
                "user code runs only when the server runs as root: each run needs a uid of "
                "its own, and a process that is not root cannot switch to one"
            )
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-I", str(WORKER), str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=CLEAN_ENV,
                cwd="/",
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        self._control = ours
        return ours

    def spawn(self, request: dict[str, Any], fds: Sequence[int]) -> None:
        """Ask the zygote for a worker with these pipes (restarting it once if it ended)."""
        payload = [json.dumps(request).encode()]
        watcher = spawn_watcher.get()
        if watcher is not None:
            watcher(self, request["run"])
        with self._lock:
            for attempt in (1, 2):
                control = self._ensure()
                try:
                    socket.send_fds(control, payload, list(fds))
                    return
                except OSError:
                    if attempt == 2:
                        raise
                    if self._process is not None:
                        self._process.kill()
                        self._process.wait()

    def kill(self, run_id: str) -> None:
        """Ask the zygote to end a run's worker; its exit status then reports the end."""
        with self._lock:
            if self._control is not None:
                with contextlib.suppress(OSError):  # a zygote that ended took its workers
                    self._control.send(json.dumps({"kill": run_id}).encode())

    def close(self) -> None:
        with self._lock:
            if self._control is not None:
                self._control.close()  # the zygote ends its workers and exits
                self._control = None
            if self._process is not None:
                try:
                    self._process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._process = None


class Uids:
    """The uids of the sandbox, handed out in turn, one per run in progress.

    A uid in use is also locked (``flock`` on a file in a root-only folder), so that two
    servers on one machine, or a server and a test run, never share one: the sweep after a
    run kills every process of its uid."""

    def __init__(self, uids: range) -> None:
        self.uids = uids
        self.held: dict[int, int] = {}  # uid -> its lock file's descriptor
        self.turn = 0
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
            for _ in range(len(self.uids)):
                uid = self.uids[self.turn % len(self.uids)]
                self.turn += 1
                if uid in self.held or _has_owner(uid):
                    continue
                fd = os.open(LOCKS / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)  # another process's run has it
                    continue
                self.held[uid] = fd
                return uid
        raise SandboxUnavailable(
            f"all {len(self.uids)} sandbox uids are in use: too many runs at once"
        )

    def give(self, uid: int) -> None:
        with self.lock:
            os.close(self.held.pop(uid))


def _has_owner(number: int) -> bool:
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(number)
            return True
        except KeyError:
            pass
    return False


class Expired(Exception):
    """A worker's deadline passed."""


class Worker:
    """One run's worker as the server sees it: its pipes, its messages and its exit."""

    @classmethod
    def start(cls, zygote: Zygote, uids: Uids, language: str) -> Worker:
        """A worker of its own uid, asked of the zygote (the uid is given back if that fails)."""
        uid = uids.take()
        try:
            return cls(zygote, uids, uid, language)
        except BaseException:
            uids.give(uid)
            raise

    def __init__(self, zygote: Zygote, uids: Uids, uid: int, language: str) -> None:
        self.zygote = zygote
        self.uids = uids
        self.uid = uid
        self.run_id = uuid.uuid4().hex
        # The run's folder, the server's: "root", where the worker mounts the root of its
        # own filesystem, and "work", the code's working directory, the run uid's.
        self.folder = tempfile.mkdtemp(prefix="assay-run-")
        self.workdir = os.path.join(self.folder, "work")
        os.mkdir(os.path.join(self.folder, "root"), 0o700)
        os.mkdir(self.workdir, 0o700)
        os.chown(self.workdir, uid, uid)
        theirs: list[int] = []
        ours: list[int] = []
        for server_reads in (False, True, True, True):  # stdin, stdout, stderr, exit status
            read, write = os.pipe()
            ours.append(read if server_reads else write)
            theirs.append(write if server_reads else read)
        self.stdin, self.stdout, self.stderr, self.status = ours
        for fd in ours:
            os.set_blocking(fd, False)
        self.open = set(ours)
        self.pending: deque[memoryview] = deque()  # to write, in order
        self.lines = Lines()
        self.status_buffer = bytearray()
        self.messages: deque[dict[str, Any]] = deque()
        self.stderr_tail = b""
        self.exit: dict[str, Any] | None = None
        request = {
            "run": self.run_id,
            "uid": uid,
            "gid": uid,
            "root": os.path.join(self.folder, "root"),
            "workdir": self.workdir,
            "language": language,
        }
        try:
            zygote.spawn(request, theirs)
        except BaseException:
            for fd in ours:
                os.close(fd)
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        finally:
            for fd in theirs:
                os.close(fd)

    def put(self, name: str, array: np.ndarray) -> None:
        """An array as ``name`` (.npy) in the working directory, readable by the run's uid
        and no other (written before the worker runs any code)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(os.path.join(self.workdir, name), flags, 0o400)
        with os.fdopen(fd, "wb") as out:
            os.fchown(fd, self.uid, self.uid)
            np.save(out, array, allow_pickle=False)

    def send(self, message: dict[str, Any]) -> None:
        self.pending.append(memoryview(encode(message)))

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The worker's next message; None once it has ended and everything it ran is gone
        (its exit status is then in ``exit``). Raises ``Expired`` at the deadline."""
        while not self.messages:
            if self.status not in self.open and self.stdout not in self.open:
                return None
            self._pump(deadline)
        return self.messages.popleft()

    def _pump(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Expired
        reads = [fd for fd in (self.stdout, self.stderr, self.status) if fd in self.open]
        writes = [self.stdin] if self.pending and self.stdin in self.open else []
        readable, writable, _ = select.select(reads, writes, [], remaining)
        if writable:
            try:
                written = os.write(self.stdin, self.pending[0])
                if written == len(self.pending[0]):
                    self.pending.popleft()
                else:
                    self.pending[0] = self.pending[0][written:]
            except BrokenPipeError:
                self._close(self.stdin)
                self.pending.clear()
        for fd in readable:
            data = os.read(fd, 1 << 20)
            if not data:
                self._close(fd)
            elif fd == self.stdout:
                self.messages.extend(self.lines.feed(data))
            elif fd == self.stderr:
                self.stderr_tail = (self.stderr_tail + data)[-STDERR_TAIL:]
            else:
                self.status_buffer += data
        if self.status not in self.open and self.exit is None:
            try:
                self.exit = json.loads(self.status_buffer)
            except ValueError:
                self.exit = {"error": "the sandbox's process manager ended"}

    def _close(self, fd: int) -> None:
        if fd in self.open:
            self.open.discard(fd)
            os.close(fd)

    def stop(self) -> None:
        """End the worker if it still runs, wait until everything of its uid is gone, clean up."""
        if self.status in self.open:
            self.zygote.kill(self.run_id)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            self.messages.clear()
            try:
                while self.receive(deadline) is not None:
                    self.messages.clear()
            except Expired:
                pass
        for fd in list(self.open):
            self._close(fd)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.exit is not None and "status" in self.exit:
            self.uids.give(self.uid)  # else processes of it may remain: never reused

    def ended(self, limits: Limits) -> SandboxError:
        """Why the worker ended without its answer."""
        detail = {"stderr": self.stderr_tail.decode(errors="replace") or None}
        if self.exit is None or "status" not in self.exit:
            reason = (self.exit or {}).get("error", "it did not report how it ended")
            return WorkerCrashed(f"the sandbox process was lost: {reason}", **detail)
        status = int(self.exit["status"])
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            if number == signal.SIGXCPU or (
                number == signal.SIGKILL and float(self.exit.get("cpu", 0)) >= limits.cpu_s
            ):
                return CpuLimitExceeded(
                    f"the code used more than its {limits.cpu_s} s of CPU time and was stopped",
                    cpu_s=limits.cpu_s,
                )
            name = signal.Signals(number).name
            return WorkerCrashed(f"the sandbox process was killed by {name}", **detail)
        return WorkerCrashed(
            f"the sandbox process ended unexpectedly (exit status {os.WEXITSTATUS(status)})",
            **detail,
        )
