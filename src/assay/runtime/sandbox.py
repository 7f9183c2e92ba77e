"""The sandbox that runs user code: labeling functions, calculated attributes, the record IDE.

User code never runs in the server process (the threat model is DESIGN.md's "Runtime"). Each
run gets a worker process of its own, forked from a *zygote*: a process started fresh with
``subprocess`` (clean environment, no inherited descriptors, never forked from the server),
which imports spaCy once and then forks a worker per run. The worker drops, for good, to a uid
of its own with CPU-time, address-space, process-count, file-size and open-file limits, no
network, an empty working directory, and only the records it is sent; the server enforces the
wall-clock timeout and validates every value it gets back. docs/architecture.md ("Sandbox")
lists exactly what is enforced and how.

This module is the sandbox's face: :class:`Sandbox` (a run, from header to results),
:func:`run_function` and :func:`default_sandbox`, and :func:`protect`. Behind it, by concern:
``sandbox_process.py`` (the zygote, the uids, a worker's pipes and exit),
``sandbox_protocol.py`` (the JSON-lines messages, never pickle, and the values of a run),
``sandbox_checks.py`` (what user code returned, checked), and ``sandbox_worker.py`` (the
process side, which imports nothing of assay). Its errors are ``assay.errors``' (all
``SandboxError``).

The server calls :func:`protect` on its data dir at start, so that no sandbox uid can read the
database or any other file below it. This module imports nothing of the database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import itertools
import os
import struct
import threading
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
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
    WorkerCrashed,
)
from assay.runtime.sandbox_checks import OutputSpec, learner_settings
from assay.runtime.sandbox_process import DEFAULT_UIDS, Expired, Uids, Worker, Zygote
from assay.runtime.sandbox_protocol import (
    Learned,
    LearnerInput,
    Limits,
    Record,
    RecordResult,
    batch_answer,
    best_rows,
    encode_record,
    knowledge_module,
    learn_error,
    load_errors,
    malformed,
    message_error,
    module_name,
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
    "default_sandbox",
    "knowledge_module",
    "make_data_dir",
    "module_name",
    "protect",
    "run_function",
]

BATCH = 1000  # records per message
DEFAULT_LIMITS = Limits()  # a run's, unless it names its own
LEARNER_CHUNK = 50_000  # rows an active learner predicts, and answers, at a time
_IN_FLIGHT = 2  # batches sent ahead, so that encoding here overlaps the worker's work
_START_TIMEOUT_S = 120.0  # the zygote imports spaCy on its first run


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


class Sandbox:
    """Runs user code in confined worker processes; safe to use from several threads.

    ``start`` (also done by the first run) starts the zygote; ``close`` ends it and every
    worker still running."""

    def __init__(self, *, uids: range = DEFAULT_UIDS, batch_size: int = BATCH) -> None:
        self.uids = Uids(uids)
        self.batch_size = batch_size
        self.zygote = Zygote()

    def start(self) -> None:
        self.zygote.start()

    def kill(self, run_id: str) -> None:
        """Ask the zygote to end a run's worker; its exit status then reports the end."""
        self.zygote.kill(run_id)

    def close(self) -> None:
        self.zygote.close()

    def run(
        self,
        code: str,
        records: Iterable[Record],
        *,
        function: str | None = None,
        language: str = "en",
        knowledge: Mapping[str, Sequence[str]] | None = None,
        output: OutputSpec | None = None,
        limits: Limits = DEFAULT_LIMITS,
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
        limits: Limits = DEFAULT_LIMITS,
    ) -> list[list[RecordResult] | SandboxError]:
        """Run several codes (each checked by its own ``outputs`` spec) on the same records in
        one worker, which builds each record's Docs once for all of them.

        Returns, per code, its results or the error that ended it alone (as :meth:`run`
        raises it); the others go on. Raises the error that ended the whole run: a limit
        passed (it cannot tell whose code did it), the sandbox lost or unavailable."""
        lists = knowledge_module(knowledge or {})
        specs: list[OutputSpec | None] = list(outputs or [None] * len(codes))
        worker = Worker.start(self.zygote, self.uids, language)
        try:
            return self._exchange(worker, list(codes), function, records, lists, specs, limits)
        finally:
            worker.stop()

    def _exchange(
        self,
        worker: Worker,
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
        except Expired:
            raise _timeout(limits) from None

    def _begin(self, worker: Worker, header: dict[str, Any], limits: Limits) -> float:
        """Send the run's header, wait until the worker is confined; the run's deadline."""
        worker.send({**header, "limits": limits.for_worker()})
        try:
            started = worker.receive(time.monotonic() + _START_TIMEOUT_S)
        except Expired:
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
        limits: Limits = DEFAULT_LIMITS,
    ) -> Learned:
        """Fit the class that ``code`` defines (or ``function`` names) on the examples and
        predict every row, cross-fitted by ``examples.folds`` (see ``sandbox_worker.learn``).

        The arrays reach the worker as .npy files in its working directory, readable by its
        uid alone. ``classes``: the labels its model may name (a task's labels, and ""
        outside spans). Raises like :meth:`run` (a failure in ``fit`` or ``predict_proba`` is
        a ``UserCodeError`` without a record id)."""
        worker = Worker.start(self.zygote, self.uids, "en")
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
            except Expired:
                raise _timeout(limits) from None
        finally:
            worker.stop()

    def _learned(
        self,
        worker: Worker,
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
            raise learn_error(message["learn_failure"])
        learned = self._expect(worker, message, "learned", limits)["learned"]
        try:
            settings = learner_settings(learned, n, allowed)
        except (KeyError, TypeError, ValueError):
            raise malformed() from None
        best = np.empty(n, dtype=np.int64)
        probability = np.empty(n, dtype=np.float64)
        filled = 0
        while filled < n:
            message = self._expect(worker, worker.receive(deadline), "best", limits)
            part_best, part_probability = best_rows(message, n - filled, len(settings.classes))
            end = filled + len(part_best)
            best[filled:end], probability[filled:end] = part_best, part_probability
            filled = end
        self._expect(worker, worker.receive(deadline), "done", limits)
        return dataclasses.replace(settings, best=best, probability=probability)

    def _work(
        self,
        worker: Worker,
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
                worker.send({"records": [encode_record(record) for record in chunk]})
                in_flight.append(chunk)
            if not in_flight:
                break
            chunk = in_flight.popleft()
            message = self._expect(worker, worker.receive(deadline), "values", limits)
            values, printed, failed = batch_answer(message, len(chunk), n)
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
        self, worker: Worker, message: dict[str, Any] | None, n: int, limits: Limits
    ) -> list[SandboxError | None]:
        """Per code: None where it compiled, ran its top level and named its function; else
        why not."""
        return load_errors(self._expect(worker, message, "loaded", limits)["loaded"], n)

    @staticmethod
    def _expect(
        worker: Worker, message: dict[str, Any] | None, key: str, limits: Limits
    ) -> dict[str, Any]:
        """``message`` if it carries ``key``; else the error that ended the run."""
        if message is not None and key in message:
            return message
        raise worker.ended(limits) if message is None else message_error(message, limits)


def _timeout(limits: Limits) -> SandboxTimeout:
    return SandboxTimeout(
        f"the code ran longer than its {limits.timeout_s:g} s and was stopped",
        timeout_s=limits.timeout_s,
    )


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
    limits: Limits = DEFAULT_LIMITS,
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
