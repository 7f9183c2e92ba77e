"""The sandbox that runs user code: labeling functions, calculated attributes, the record IDE.

User code never runs in the server process (the threat model is DESIGN.md's "Runtime"). Each
run gets a worker process of its own, forked from a *zygote*: a process started fresh with
``subprocess`` (clean environment, no inherited descriptors, never forked from the server),
which imports spaCy once and then forks a worker per run. The worker drops, for good, to a uid
of its own with CPU-time, address-space, process-count, file-size and open-file limits, no
network, an empty working directory, and only the records it is sent; the server enforces the
wall-clock timeout and validates every value it gets back. ``sandbox_worker.py`` is the
process side; docs/architecture.md ("Sandbox") lists exactly what is enforced and how.

Records go to the worker as JSON lines in batches, results come back as JSON lines (never
pickle): a worker's messages are untrusted input to the server and are checked as such.

The server calls :func:`protect` on its data dir at start, so that no sandbox uid can read the
database or any other file below it. This module imports nothing of the database.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import errno
import fcntl
import grp
import itertools
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import (
    CpuLimitExceeded,
    InvalidCode,
    InvalidOutput,
    MemoryLimitExceeded,
    ProcessLimitExceeded,
    RecordFailure,
    SandboxError,
    SandboxTimeout,
    SandboxUnavailable,
    UserCodeError,
    ValidationError,
    WorkerCrashed,
)

# The sandbox's public face: its values, its entry points, and its errors (defined, like
# every error of assay, in assay.errors).
__all__ = [
    "DEFAULT_UIDS",
    "CpuLimitExceeded",
    "InvalidCode",
    "InvalidOutput",
    "Learned",
    "LearnerInput",
    "Limits",
    "MemoryLimitExceeded",
    "OutputSpec",
    "ProcessLimitExceeded",
    "Record",
    "RecordFailure",
    "RecordResult",
    "Sandbox",
    "SandboxError",
    "SandboxTimeout",
    "SandboxUnavailable",
    "UserCodeError",
    "WorkerCrashed",
    "check_classification",
    "check_extraction",
    "check_multi_label",
    "default_sandbox",
    "knowledge_module",
    "make_data_dir",
    "module_name",
    "protect",
    "run_function",
    "spawn_watcher",
]

WORKER = Path(__file__).with_name("sandbox_worker.py")
# Uids the workers run under, one per concurrent run; numbers that an account or a group on
# this machine uses are skipped, so that a run owns no file and shares no group.
DEFAULT_UIDS = range(64_000, 64_256)
LOCKS = Path("/run/assay-sandbox")  # a lock file per uid in use, across processes
BATCH = 1000  # records per message
LEARNER_CHUNK = 50_000  # rows an active learner predicts, and answers, at a time
_IN_FLIGHT = 2  # batches sent ahead, so that encoding here overlaps the worker's work
_MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one message from a worker
_START_TIMEOUT_S = 120.0  # the zygote imports spaCy on its first run
_STOP_TIMEOUT_S = 10.0
_STDERR_TAIL = 4096

# Told of every run started in this context, before its worker is asked for (it may refuse
# it by raising): a try-run that its user may cancel records them (runtime/try_runs.py).
spawn_watcher: ContextVar[Callable[[Sandbox, str], None] | None] = ContextVar(
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


# ------------------------------------------------------------------------------ run values


@dataclass(frozen=True)
class Limits:
    """What one run may use. ``timeout_s`` counts from the moment the code starts loading."""

    timeout_s: float = 60.0  # wall clock for the whole run
    cpu_s: int = 60  # CPU time of the worker process
    memory_mb: int = 1024  # address space the code may add to the worker (RLIMIT_AS)
    processes: int = 16  # processes and threads of the run's uid, the worker included
    file_mb: int = 64  # largest file the code may write
    open_files: int = 64
    max_errors: int = 10  # failing records after which the run stops
    output_chars: int = 2000  # printed output kept per record
    network: bool = False  # True: the code may reach the network

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name != "network" and not value > 0:
                raise ValidationError(f"the limit {name} must be positive", limit=name)

    def for_worker(self) -> dict[str, Any]:
        return {
            "cpu_s": self.cpu_s,
            "memory_mb": self.memory_mb,
            "processes": self.processes,
            "file_mb": self.file_mb,
            "open_files": self.open_files,
            "output_chars": self.output_chars,
            "network": self.network,
        }


@dataclass(frozen=True, slots=True)
class Record:
    """A record as the code sees it: ``data`` (JSON values by attribute) where each attribute
    in ``tokens`` (its int32 (start, end) offsets, as ``record_tokens`` stores them) becomes a
    spaCy ``Doc``."""

    id: int
    data: dict[str, Any]
    tokens: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordResult:
    record_id: int
    value: Any  # what the function returned; a generator's items as a list
    output: str  # what it printed


@dataclass(frozen=True)
class LearnerInput:
    """What an active learner's run gets: the rows (records, or tokens for extraction) as
    float vectors, and the training examples: their rows, label names ("" outside spans)
    and cross-fitting folds (-1: never held out, then never answered for)."""

    embeddings: np.ndarray  # n x d, float32 or float16
    rows: np.ndarray  # int64 row of each training example
    labels: np.ndarray  # str label of each
    folds: np.ndarray  # int64 fold of each

    def files(self) -> dict[str, np.ndarray]:
        """The .npy files of the worker's working directory (``sandbox_worker.learn``)."""
        return {
            "embeddings.npy": self.embeddings,
            "train_rows.npy": np.asarray(self.rows, dtype=np.int64),
            "train_labels.npy": np.asarray(self.labels, dtype=str),
            "train_folds.npy": np.asarray(self.folds, dtype=np.int64),
        }


@dataclass(frozen=True)
class Learned:
    """An active learner's answer: per row the index of its best class (-1: none) and that
    class's probability, and the learner's ``min_confidence``, ``labels`` (those it may
    vote; None: all) and printed output."""

    classes: list[str]
    min_confidence: float
    labels: list[str] | None
    best: np.ndarray
    probability: np.ndarray
    output: str


# ------------------------------------------------------------------------------ knowledge


def module_name(list_name: str) -> str:
    """The attribute a lookup list has in the ``knowledge`` module: lower case, spaces to
    ``_``, other non-word characters dropped, a leading digit prefixed with ``_``
    ("account blocked" -> ``account_blocked``). Applied to its own result it changes nothing,
    so lists may be given by name or by module name."""
    name = re.sub(r"\W", "", list_name.strip().lower().replace(" ", "_"))
    return f"_{name}" if name[:1].isdigit() else name


def knowledge_module(lists: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The ``knowledge`` module's attributes for lookup lists by name."""
    module: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for list_name, terms in lists.items():
        name = module_name(list_name)
        if not name:
            raise ValidationError(
                f"the lookup list {list_name!r} has no letter, digit or '_' to import it by",
                list=list_name,
            )
        if name in names:
            raise ValidationError(
                f"the lookup lists {names[name]!r} and {list_name!r} both import as {name!r}",
                list=list_name,
            )
        names[name] = list_name
        module[name] = list(terms)
    return module


# ----------------------------------------------------------------------- output validation


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _bad(record_id: int, message: str, value: Any) -> InvalidOutput:
    return InvalidOutput(f"record {record_id}: {message}", record_id=record_id, value=_shown(value))


def check_classification(record_id: int, value: Any, labels: Collection[str]) -> str | None:
    """A label name of the task, or None (abstain)."""
    if value is None or (isinstance(value, str) and value in labels):
        return value
    raise _bad(
        record_id,
        f"the function returned {_shown(value)}, which is neither a label of the task "
        f"({', '.join(sorted(labels))}) nor None",
        value,
    )


def check_multi_label(record_id: int, value: Any, labels: Collection[str]) -> list[str] | None:
    """A list of label names of the task (repeats dropped), or None (abstain)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad(record_id, f"the function returned {_shown(value)}, not a list of labels", value)
    for item in value:
        if not (isinstance(item, str) and item in labels):
            raise _bad(
                record_id,
                f"the function returned {_shown(item)}, which is not a label of the task "
                f"({', '.join(sorted(labels))})",
                value,
            )
    return list(dict.fromkeys(value))


def check_extraction(
    record_id: int, value: Any, labels: Collection[str], n_tokens: int
) -> list[tuple[str, int, int]]:
    """Spans ``(label, start_token, end_token)`` with end exclusive, inside the text's tokens."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(
            record_id,
            f"the function returned {_shown(value)}; yield (label, start token, end token)",
            value,
        )
    spans = []
    for item in value:
        if not (isinstance(item, list | tuple) and len(item) == 3):
            raise _bad(
                record_id,
                f"the function yielded {_shown(item)}, not (label, start token, end token)",
                item,
            )
        item = tuple(item)
        label, start, end = item
        if not (isinstance(label, str) and label in labels):
            raise _bad(
                record_id,
                f"the function yielded the label {_shown(label)}, which is not a label of "
                f"the task ({', '.join(sorted(labels))})",
                item,
            )
        if not (type(start) is int and type(end) is int and 0 <= start < end <= n_tokens):
            raise _bad(
                record_id,
                f"the function yielded the span {_shown(item)}, which is not inside the "
                f"text's {n_tokens} tokens (0 <= start < end <= {n_tokens})",
                item,
            )
        spans.append((label, start, end))
    return spans


@dataclass(frozen=True)
class OutputSpec:
    """What the function must return for a labeling task; a run without one (calculated
    attributes, the record IDE) takes any JSON value."""

    task_type: str  # "classification", "multi-label" or "extraction"
    labels: frozenset[str]
    attribute: str | None = None  # extraction: the text attribute whose tokens spans index

    def check(self, record: Record, value: Any) -> Any:
        if self.task_type == "classification":
            return check_classification(record.id, value, self.labels)
        if self.task_type == "multi-label":
            return check_multi_label(record.id, value, self.labels)
        blob = record.tokens.get(self.attribute or "", b"")
        return check_extraction(record.id, value, self.labels, len(blob) // 8)


# ------------------------------------------------------------------------------ protection


# A default ACL (``system.posix_acl_default``, version 2: owner rwx, group and others
# nothing): what is created below a folder that has it gets no permission for group or
# others, whatever the creating process's umask, and folders created below inherit it.
_PRIVATE_BELOW = struct.pack("<I", 2) + b"".join(
    struct.pack("<HHI", tag, permissions, 0xFFFFFFFF)
    for tag, permissions in ((0x01, 0o7), (0x04, 0), (0x20, 0))
)


def private_below(folder: Path) -> None:
    """Make everything later created below ``folder`` private (folders 0700, files 0600,
    whatever the umask). Where the filesystem keeps no ACLs, the umask decides, and only a
    private ``folder`` keeps the rest of the machine out."""
    with contextlib.suppress(NotImplementedError, AttributeError):  # not Linux
        try:
            os.setxattr(folder, "system.posix_acl_default", _PRIVATE_BELOW)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                raise


def make_data_dir(path: Path) -> None:
    """The data dir, private from the start: created 0700 (its parents as the umask says),
    and where this process's user owns it, mode 0700 and :func:`private_below`, so that the
    database, uploads, exports and embeddings written into it are 0600 (folders 0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.geteuid():
        os.chmod(path, 0o700)
        private_below(path)


def protect(path: Path) -> None:
    """Make ``path`` (the data dir; or a SQLite file kept elsewhere) private to the server's
    user: owned by it, mode 0700 (0600 for a file; a folder also :func:`private_below`).
    Everything below a private folder is out of a sandbox uid's reach, whether it asks by
    ``open``, ``os.open``, a libc call through ``ctypes`` or a subprocess: the kernel answers
    EACCES to all of them (and the sandbox's filesystem does not even hold it)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
    status = path.stat()
    if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
        os.chown(path, os.geteuid(), os.getegid())
    os.chmod(path, 0o700 if path.is_dir() else 0o600)
    if path.is_dir():
        private_below(path)


# --------------------------------------------------------------------------------- sandbox


class _Uids:
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


class _Expired(Exception):
    pass


class _Worker:
    """One run's worker as the server sees it: its pipes, its messages and its exit."""

    def __init__(self, sandbox: Sandbox, uid: int, language: str) -> None:
        self.sandbox = sandbox
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
        self.buffer = bytearray()
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
            sandbox.spawn(request, theirs)
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
        self.pending.append(memoryview(json.dumps(message).encode() + b"\n"))

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The worker's next message; None once it has ended and everything it ran is gone
        (its exit status is then in ``exit``). Raises ``_Expired`` at the deadline."""
        while not self.messages:
            if self.status not in self.open and self.stdout not in self.open:
                return None
            self._pump(deadline)
        return self.messages.popleft()

    def _pump(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Expired
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
                self._parse(data)
            elif fd == self.stderr:
                self.stderr_tail = (self.stderr_tail + data)[-_STDERR_TAIL:]
            else:
                self.status_buffer += data
        if self.status not in self.open and self.exit is None:
            try:
                self.exit = json.loads(self.status_buffer)
            except ValueError:
                self.exit = {"error": "the sandbox's process manager ended"}

    def _parse(self, data: bytes) -> None:
        lines = data.split(b"\n")
        if len(lines) == 1:  # a message still incomplete
            self.buffer += data
            if len(self.buffer) > _MAX_MESSAGE:
                self.messages.append({"too_large": True})
                self.buffer.clear()
            return
        lines[0] = bytes(self.buffer) + lines[0]
        self.buffer = bytearray(lines.pop())
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            self.messages.append(message if isinstance(message, dict) else {"malformed": True})

    def _close(self, fd: int) -> None:
        if fd in self.open:
            self.open.discard(fd)
            os.close(fd)

    def stop(self) -> None:
        """End the worker if it still runs, wait until everything of its uid is gone, clean up."""
        if self.status in self.open:
            self.sandbox.kill(self.run_id)
            deadline = time.monotonic() + _STOP_TIMEOUT_S
            self.messages.clear()
            try:
                while self.receive(deadline) is not None:
                    self.messages.clear()
            except _Expired:
                pass
        for fd in list(self.open):
            self._close(fd)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.exit is not None and "status" in self.exit:
            self.sandbox.uids.give(self.uid)  # else processes of it may remain: never reused

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


class Sandbox:
    """Runs user code in confined worker processes; safe to use from several threads.

    ``start`` (also done by the first run) starts the zygote; ``close`` ends it and every
    worker still running."""

    def __init__(self, *, uids: range = DEFAULT_UIDS, batch_size: int = BATCH) -> None:
        self.uids = _Uids(uids)
        self.batch_size = batch_size
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._ensure_zygote()

    def _ensure_zygote(self) -> socket.socket:
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
                control = self._ensure_zygote()
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
                    self._process.wait(_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._process = None

    def run(
        self,
        code: str,
        records: Iterable[Record],
        *,
        function: str | None = None,
        language: str = "en",
        knowledge: Mapping[str, Sequence[str]] | None = None,
        output: OutputSpec | None = None,
        limits: Limits = Limits(),
    ) -> list[RecordResult]:
        """Run ``function`` of ``code`` (or its one top-level function) on each record.

        Returns a result per record, in order. Raises a :class:`SandboxError` when the run
        ends without results: the code does not compile or names no function
        (``InvalidCode``), it raised (``UserCodeError``: on up to ``limits.max_errors``
        records, with their ids, tracebacks and output), it returned a value the task cannot
        take (``InvalidOutput``), or it passed a limit."""
        (found,) = self.run_each(
            [code],
            records,
            function=function,
            language=language,
            knowledge=knowledge,
            outputs=[output],
            limits=limits,
        )
        if isinstance(found, SandboxError):
            raise found
        return found

    def run_each(
        self,
        codes: Sequence[str],
        records: Iterable[Record],
        *,
        function: str | None = None,
        language: str = "en",
        knowledge: Mapping[str, Sequence[str]] | None = None,
        outputs: Sequence[OutputSpec | None] | None = None,
        limits: Limits = Limits(),
    ) -> list[list[RecordResult] | SandboxError]:
        """Run several codes (each checked by its own ``outputs`` spec) on the same records in
        one worker, which builds each record's Docs once for all of them.

        Returns, per code, its results or the error that ended it alone (as :meth:`run`
        raises it); the others go on. Raises the error that ended the whole run: a limit
        passed (it cannot tell whose code did it), the sandbox lost or unavailable."""
        lists = knowledge_module(knowledge or {})
        specs: list[OutputSpec | None] = list(outputs or [None] * len(codes))
        uid = self.uids.take()
        try:
            worker = _Worker(self, uid, language)
        except BaseException:
            self.uids.give(uid)
            raise
        try:
            return self._exchange(worker, list(codes), function, records, lists, specs, limits)
        finally:
            worker.stop()

    def _exchange(
        self,
        worker: _Worker,
        codes: list[str],
        function: str | None,
        records: Iterable[Record],
        lists: dict[str, list[str]],
        outputs: list[OutputSpec | None],
        limits: Limits,
    ) -> list[list[RecordResult] | SandboxError]:
        header = {"codes": codes, "function": function, "knowledge": lists}
        deadline = self._begin(worker, header, limits)
        try:
            loaded = self._loaded(worker, worker.receive(deadline), len(codes), limits)
            return self._work(worker, records, outputs, limits, deadline, loaded)
        except _Expired:
            raise _timeout(limits) from None

    def _begin(self, worker: _Worker, header: dict[str, Any], limits: Limits) -> float:
        """Send the run's header, wait until the worker is confined; the run's deadline."""
        worker.send({**header, "limits": limits.for_worker()})
        try:
            started = worker.receive(time.monotonic() + _START_TIMEOUT_S)
        except _Expired:
            raise WorkerCrashed(
                f"the sandbox did not start within {_START_TIMEOUT_S:.0f} s"
            ) from None
        if started is not None and "setup_error" in started:
            raise SandboxUnavailable(
                f"the sandbox could not prepare the run: {started['setup_error']}"
            )
        self._expect(worker, started, "started", limits)
        return time.monotonic() + limits.timeout_s

    def learn(
        self,
        code: str,
        examples: LearnerInput,
        *,
        classes: Collection[str],
        function: str | None = None,
        limits: Limits = Limits(),
    ) -> Learned:
        """Fit the class that ``code`` defines (or ``function`` names) on the examples and
        predict every row, cross-fitted by ``examples.folds`` (see ``sandbox_worker.learn``).

        The arrays reach the worker as .npy files in its working directory, readable by its
        uid alone. ``classes``: the labels its model may name (a task's labels, and ""
        outside spans). Raises like :meth:`run` (a failure in ``fit`` or ``predict_proba`` is
        a ``UserCodeError`` without a record id)."""
        uid = self.uids.take()
        try:
            worker = _Worker(self, uid, "en")
        except BaseException:
            self.uids.give(uid)
            raise
        try:
            for name, array in examples.files().items():
                worker.put(name, array)
            header = {
                "codes": [code],
                "function": function,
                "knowledge": {},
                "learner": {"chunk": LEARNER_CHUNK},
            }
            deadline = self._begin(worker, header, limits)
            try:
                return self._learned(worker, len(examples.embeddings), classes, limits, deadline)
            except _Expired:
                raise _timeout(limits) from None
        finally:
            worker.stop()

    def _learned(
        self,
        worker: _Worker,
        n: int,
        allowed: Collection[str],
        limits: Limits,
        deadline: float,
    ) -> Learned:
        """The learner's answer, checked: its classes, settings and a prediction per row."""
        (problem,) = self._loaded(worker, worker.receive(deadline), 1, limits)
        if problem is not None:
            raise problem
        message = worker.receive(deadline)
        if message is not None and "learn_failure" in message:
            try:
                error, trace, printed = (str(part) for part in message["learn_failure"])
            except (TypeError, ValueError):
                raise WorkerCrashed("the sandbox process sent a malformed message") from None
            raise UserCodeError(
                f"the code raised {error} while learning",
                [RecordFailure(None, error, trace, printed)],
            )
        learned = self._expect(worker, message, "learned", limits)["learned"]
        try:
            settings = _learner_settings(learned, n, allowed)
        except (KeyError, TypeError, ValueError):
            raise WorkerCrashed("the sandbox process sent a malformed message") from None
        best = np.empty(n, dtype=np.int64)
        probability = np.empty(n, dtype=np.float64)
        filled = 0
        while filled < n:
            message = self._expect(worker, worker.receive(deadline), "best", limits)
            try:
                part_best = np.asarray(message["best"], dtype=np.int64)
                part_probability = np.asarray(message["probability"], dtype=np.float64)
                end = filled + len(part_best)
                well_formed = (
                    part_best.ndim == 1
                    and part_probability.shape == part_best.shape
                    and end <= n
                    and bool(np.all((part_best >= -1) & (part_best < len(settings.classes))))
                    and bool(np.all((part_probability >= 0) & (part_probability <= 1)))
                    and len(part_best) > 0
                )
            except (KeyError, TypeError, ValueError, OverflowError):
                well_formed = False
            if not well_formed:
                raise WorkerCrashed("the sandbox process sent a malformed message")
            best[filled:end], probability[filled:end] = part_best, part_probability
            filled = end
        self._expect(worker, worker.receive(deadline), "done", limits)
        return dataclasses.replace(settings, best=best, probability=probability)

    def _work(
        self,
        worker: _Worker,
        records: Iterable[Record],
        outputs: list[OutputSpec | None],
        limits: Limits,
        deadline: float,
        errors: list[SandboxError | None],
    ) -> list[list[RecordResult] | SandboxError]:
        """Stream the records in batches while any code still runs; collect each code's
        results, and the error that ends a code (failing records, an invalid value)."""
        n = len(outputs)
        results: list[list[RecordResult]] = [[] for _ in range(n)]
        failures: list[list[RecordFailure]] = [[] for _ in range(n)]
        remaining = iter(records)  # read as batches go out: records may stream from a query
        in_flight: deque[list[Record]] = deque()
        while not all(errors):
            while len(in_flight) < _IN_FLIGHT and (
                chunk := list(itertools.islice(remaining, self.batch_size))
            ):
                worker.send({"records": [_encode(record) for record in chunk]})
                in_flight.append(chunk)
            if not in_flight:
                break
            chunk = in_flight.popleft()
            values, printed, failed = self._batch(
                worker, worker.receive(deadline), chunk, n, limits
            )
            for index, number, error, trace in failed:
                if errors[number] is None and len(failures[number]) < limits.max_errors:
                    output = printed.get((index, number), "")
                    failures[number].append(RecordFailure(chunk[index].id, error, trace, output))
            failed_at = {(index, number) for index, number, _, _ in failed}
            for number, spec in enumerate(outputs):
                if errors[number] is not None:
                    continue
                if len(failures[number]) >= limits.max_errors:
                    errors[number] = _user_code_error(failures[number], limits)
                    continue
                # An abstain (None) needs no check, except where it becomes no spans.
                skip_none = spec is not None and spec.task_type != "extraction"
                try:
                    for index, record in enumerate(chunk):
                        if (index, number) not in failed_at:
                            value = values[index][number]
                            if spec is not None and (value is not None or not skip_none):
                                value = spec.check(record, value)
                            output = printed.get((index, number), "")
                            results[number].append(RecordResult(record.id, value, output))
                except InvalidOutput as exc:
                    errors[number] = exc
        for number, found in enumerate(failures):
            if found and errors[number] is None:
                errors[number] = _user_code_error(found, limits)
        if not all(errors):
            worker.send({"end": True})
            self._expect(worker, worker.receive(deadline), "done", limits)
        return [error or found for error, found in zip(errors, results, strict=True)]

    def _loaded(
        self, worker: _Worker, message: dict[str, Any] | None, n: int, limits: Limits
    ) -> list[SandboxError | None]:
        """Per code: None where it compiled, ran its top level and named its function; else
        why not."""
        loaded = self._expect(worker, message, "loaded", limits)["loaded"]
        if not (isinstance(loaded, list) and len(loaded) == n):
            raise WorkerCrashed("the sandbox process sent a malformed message")
        try:
            return [_load_error(problem) for problem in loaded]
        except (KeyError, TypeError, ValueError):  # the code wrote a message of its own
            raise WorkerCrashed("the sandbox process sent a malformed message") from None

    def _batch(
        self,
        worker: _Worker,
        message: dict[str, Any] | None,
        chunk: list[Record],
        n: int,
        limits: Limits,
    ) -> tuple[list[Any], dict[tuple[int, int], str], list[tuple[int, int, str, str]]]:
        """A batch's answer, checked for shape: values by record and code, printed output
        and failures by (record index, code index)."""
        message = self._expect(worker, message, "values", limits)
        values: Any = message["values"]
        size = len(chunk)
        try:
            printed = {
                (int(index), int(number)): text
                for index, number, text in message.get("outputs", [])
                if isinstance(text, str)
            }
            failed = [
                (int(index), int(number), str(error), _traceback(str(trace), int(number), n))
                for index, number, error, trace in message.get("failures", [])
            ]
            well_formed = (
                isinstance(values, list)
                and len(values) == size
                and all(isinstance(row, list) and len(row) == n for row in values)
                and all(0 <= i < size and 0 <= j < n for i, j in printed)
                and all(0 <= i < size and 0 <= j < n for i, j, _, _ in failed)
            )
        except (TypeError, ValueError):
            well_formed = False
        if not well_formed:
            raise WorkerCrashed("the sandbox process sent a malformed message")
        return values, printed, failed

    @staticmethod
    def _expect(
        worker: _Worker, message: dict[str, Any] | None, key: str, limits: Limits
    ) -> dict[str, Any]:
        """``message`` if it carries ``key``; else the error that ended the run."""
        if message is not None and key in message:
            return message
        raise _ended(worker, message, limits)


def _timeout(limits: Limits) -> SandboxTimeout:
    return SandboxTimeout(
        f"the code ran longer than its {limits.timeout_s:g} s and was stopped",
        timeout_s=limits.timeout_s,
    )


def _learner_settings(learned: dict[str, Any], n: int, allowed: Collection[str]) -> Learned:
    """The learner's classes and settings from its worker, checked (no rows yet)."""
    classes = learned["classes"]
    if not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise ValueError("classes")
    unknown = [c for c in classes if c not in allowed]
    if unknown:
        shown = ", ".join(sorted(repr(c) for c in allowed if c))
        raise InvalidOutput(
            f"the learner's classes name {_shown(unknown[0])}, which is not a label of the "
            f"task ({shown})",
            value=_shown(unknown),
        )
    minimum = learned["min_confidence"]
    if not (isinstance(minimum, int | float) and 0 <= minimum <= 1):
        raise InvalidOutput(
            f"min_confidence must be a number from 0 to 1, not {_shown(minimum)}",
            value=_shown(minimum),
        )
    voting = learned["labels"]
    if voting is not None and not (
        isinstance(voting, list) and all(isinstance(v, str) and v in allowed for v in voting)
    ):
        raise InvalidOutput(
            f"labels must be None or a list of the task's labels, not {_shown(voting)}",
            value=_shown(voting),
        )
    if learned["rows"] != n or not isinstance(learned["output"], str):
        raise ValueError("rows")
    empty = np.empty(0)
    return Learned(classes, float(minimum), voting, empty, empty, learned["output"])


def _ended(worker: _Worker, message: dict[str, Any] | None, limits: Limits) -> SandboxError:
    if message is None:
        return worker.ended(limits)
    if message.get("fatal") == "memory":
        return MemoryLimitExceeded(
            f"the code needed more than its {limits.memory_mb} MB of memory and was stopped",
            memory_mb=limits.memory_mb,
        )
    if message.get("fatal") == "processes":
        return ProcessLimitExceeded(
            f"the code started more processes than its limit of {limits.processes} "
            "(threads and the code's own process count) and was stopped",
            processes=limits.processes,
        )
    if "too_large" in message:
        return WorkerCrashed(f"the code's results for one batch exceed {_MAX_MESSAGE} bytes")
    return WorkerCrashed("the sandbox process sent a malformed message")


def _load_error(problem: dict[str, Any] | None) -> SandboxError | None:
    """The error a worker reported for loading one code (None: it loaded)."""
    if problem is None:
        return None
    if "syntax_error" in problem:
        error = problem["syntax_error"]
        return InvalidCode(
            f"syntax error on line {error['line']}: {error['message']}",
            line=error["line"],
            offset=error["offset"],
            text=error["text"],
        )
    if "invalid_code" in problem:
        return InvalidCode(str(problem["invalid_code"]))
    error, trace, printed = (str(part) for part in problem["load_failure"])
    return UserCodeError(
        f"the code raised {error} while loading", [RecordFailure(None, error, trace, printed)]
    )


def _traceback(trace: str, number: int, n: int) -> str:
    """A traceback as the code's author reads it: a run of several codes names each file
    ``<code N>`` in the worker; here it is ``<code>`` again."""
    return trace if n == 1 else trace.replace(f'"<code {number}>"', '"<code>"')


def _user_code_error(failures: list[RecordFailure], limits: Limits) -> UserCodeError:
    first = failures[0]
    if len(failures) == 1:
        message = f"the code raised {first.error} on record {first.record_id}"
    else:
        ids = ", ".join(str(failure.record_id) for failure in failures)
        message = (
            f"the code raised exceptions on {len(failures)} records (ids {ids}); "
            f"the first: {first.error}"
        )
    if len(failures) >= limits.max_errors:
        message += f"; the run stopped at {limits.max_errors} failing records"
    return UserCodeError(message, failures)


def _encode(record: Record) -> list[Any]:
    tokens = {name: base64.b64encode(blob).decode("ascii") for name, blob in record.tokens.items()}
    return [record.data, tokens]


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process's shared sandbox."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
        return _default


def run_function(
    code: str,
    records: Iterable[Record],
    *,
    function: str | None = None,
    language: str = "en",
    knowledge: Mapping[str, Sequence[str]] | None = None,
    output: OutputSpec | None = None,
    limits: Limits = Limits(),
) -> list[RecordResult]:
    """:meth:`Sandbox.run` on the process's shared sandbox."""
    return default_sandbox().run(
        code,
        records,
        function=function,
        language=language,
        knowledge=knowledge,
        output=output,
        limits=limits,
    )
