"""The sandbox's wire protocol: what the server and a worker exchange, and how.

Messages are JSON objects, one a line (never pickle: a worker's messages are untrusted input
to the server). The server sends a run's header (codes, function, knowledge, limits), then
records in batches (:func:`encode_record`), then ``{"end": true}``; the worker answers
``started``, ``loaded`` (per code), ``values`` per batch (or a learner's ``learned`` and
``best`` chunks) and ``done``, or a ``fatal`` message. Everything read from a worker is
checked here for shape before the server uses it; a message that fails the check ends the
run with :class:`WorkerCrashed`. ``sandbox_worker.py`` is the other side.

The values a run is made of (:class:`Limits`, :class:`Record`, :class:`RecordResult`, an
active learner's :class:`LearnerInput` and :class:`Learned`) are defined here too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from assay.errors import (
    InvalidCode,
    MemoryLimitExceeded,
    ProcessLimitExceeded,
    RecordFailure,
    SandboxError,
    UserCodeError,
    ValidationError,
    WorkerCrashed,
)

MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one message from a worker

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


# --------------------------------------------------------------------------------- framing


def encode(message: dict[str, Any]) -> bytes:
    """A message as the worker reads it: one line of JSON."""
    return json.dumps(message).encode() + b"\n"


def encode_record(record: Record) -> list[Any]:
    tokens = {name: base64.b64encode(blob).decode("ascii") for name, blob in record.tokens.items()}
    return [record.data, tokens]


class Lines:
    """The messages in what a worker writes, read as it arrives: a line that is not a JSON
    object becomes ``{"malformed": True}``, one over ``MAX_MESSAGE`` bytes
    ``{"too_large": True}``."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        lines = data.split(b"\n")
        if len(lines) == 1:  # a message still incomplete
            self.buffer += data
            if len(self.buffer) > MAX_MESSAGE:
                self.buffer.clear()
                return [{"too_large": True}]
            return []
        lines[0] = bytes(self.buffer) + lines[0]
        self.buffer = bytearray(lines.pop())
        messages = []
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            messages.append(message if isinstance(message, dict) else {"malformed": True})
        return messages


# ---------------------------------------------------------------------------- the answers


def malformed() -> WorkerCrashed:
    return WorkerCrashed("the sandbox process sent a malformed message")


def message_error(message: dict[str, Any], limits: Limits) -> SandboxError:
    """The error of a message that is not the one expected: a limit the worker saw passed,
    an answer too large, or a malformed one."""
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
        return WorkerCrashed(f"the code's results for one batch exceed {MAX_MESSAGE} bytes")
    return malformed()


def load_errors(loaded: Any, n: int) -> list[SandboxError | None]:
    """Per code, from a ``loaded`` message: None where it compiled, ran its top level and
    named its function; else why not."""
    if not (isinstance(loaded, list) and len(loaded) == n):
        raise malformed()
    try:
        return [_load_error(problem) for problem in loaded]
    except (KeyError, TypeError, ValueError):  # the code wrote a message of its own
        raise malformed() from None


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


def batch_answer(
    message: dict[str, Any], size: int, n: int
) -> tuple[list[Any], dict[tuple[int, int], str], list[tuple[int, int, str, str]]]:
    """A ``values`` message for a batch of ``size`` records and ``n`` codes, checked for
    shape: values by record and code, printed output and failures by (record index, code
    index)."""
    values: Any = message["values"]
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
        raise malformed()
    return values, printed, failed


def _traceback(trace: str, number: int, n: int) -> str:
    """A traceback as the code's author reads it: a run of several codes names each file
    ``<code N>`` in the worker; here it is ``<code>`` again."""
    return trace if n == 1 else trace.replace(f'"<code {number}>"', '"<code>"')


def learn_error(failure: Any) -> UserCodeError:
    """The error of a ``learn_failure`` message: the learner raised in ``fit`` or
    ``predict_proba``."""
    try:
        error, trace, printed = (str(part) for part in failure)
    except (TypeError, ValueError):
        raise malformed() from None
    return UserCodeError(
        f"the code raised {error} while learning", [RecordFailure(None, error, trace, printed)]
    )


def best_rows(message: dict[str, Any], room: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``best`` message's chunk of rows, checked: each row's best class (-1: none, else
    one of ``n_classes``) and its probability; at least one row, at most ``room``."""
    try:
        best = np.asarray(message["best"], dtype=np.int64)
        probability = np.asarray(message["probability"], dtype=np.float64)
        well_formed = (
            best.ndim == 1
            and probability.shape == best.shape
            and 0 < len(best) <= room
            and bool(np.all((best >= -1) & (best < n_classes)))
            and bool(np.all((probability >= 0) & (probability <= 1)))
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        well_formed = False
    if not well_formed:
        raise malformed()
    return best, probability
