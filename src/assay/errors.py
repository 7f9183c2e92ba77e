"""The one error tree of assay.

Every error a user can cause is an :class:`AssayError` carrying an HTTP status and a
user-facing message; the API renders them in one JSON shape, the CLI as one line on stderr.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class AssayError(Exception):
    """Base of all errors that assay reports to its users."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = {k: v for k, v in detail.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its attributes, not by calling __init__ again (whose arguments a
        # subclass may change): errors raised on a Dask worker come back as they were.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[AssayError], args: tuple[Any, ...]) -> AssayError:
    return cls.__new__(cls, *args)


class Unauthorized(AssayError):
    """A request without the server's access token (see ``assay.api.door``)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(AssayError):
    """A request the server's door refuses whoever sends it: a foreign Host or Origin."""

    status_code = 403
    code = "forbidden"


class NotFound(AssayError):
    status_code = 404
    code = "not_found"


class Conflict(AssayError):
    status_code = 409
    code = "conflict"


class ValidationError(AssayError):
    status_code = 422
    code = "invalid"


class TooLarge(AssayError):
    """An upload over the server's limit (``ASSAY_MAX_UPLOAD_BYTES``)."""

    status_code = 413
    code = "too_large"


class NoLiveModel(Conflict):
    """A prediction on a task that has no live model (train one, or promote a version)."""

    code = "no_live_model"


class ArtifactInvalid(Conflict):
    """A stored model artifact that cannot be loaded: not in assay's own format, over the size
    cap, or not the bytes that were stored (its sha256 differs). The serving model stays."""

    code = "artifact_invalid"


class ImportFileError(ValidationError):
    """A file that cannot be imported; ``detail`` names the file, row and column."""

    code = "invalid_file"


class JobCancelled(AssayError):
    status_code = 409
    code = "cancelled"


class ExecutorError(AssayError):
    """The executor could not run a job's work: its cluster is unreachable, lost its
    workers, or is not installed. The job fails; nothing of it is stored."""

    status_code = 503
    code = "executor_unavailable"


# Errors of the sandbox that runs user code (``assay.runtime.sandbox``).


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """What a :class:`UserCodeError` reports for one failing record."""

    record_id: int | None  # None: the code failed while loading
    error: str  # "ValueError: ..."
    traceback: str
    output: str


class SandboxError(AssayError):
    """A run of user code that ended without results; the message says why."""

    status_code = 422
    code = "sandbox_error"


class InvalidCode(SandboxError):
    """The code does not compile (``detail``: line, offset, text), or names no function."""

    code = "invalid_code"


class UserCodeError(SandboxError):
    """The code raised: while loading, or on records (``failures``: ids and tracebacks)."""

    code = "user_code_error"

    def __init__(self, message: str, failures: list[RecordFailure]) -> None:
        super().__init__(message, failures=[asdict(failure) for failure in failures])
        self.failures = failures


class InvalidOutput(SandboxError):
    """A value that the task cannot take: an unknown label, a span outside the text."""

    code = "invalid_output"


class SandboxTimeout(SandboxError):
    code = "timeout"


class CpuLimitExceeded(SandboxError):
    code = "cpu_limit"


class MemoryLimitExceeded(SandboxError):
    code = "memory_limit"


class ProcessLimitExceeded(SandboxError):
    code = "process_limit"


class WorkerCrashed(SandboxError):
    """The worker ended without an answer (``detail.stderr``: the end of what it wrote)."""

    code = "worker_crashed"


class SandboxUnavailable(SandboxError):
    """The sandbox cannot confine code on this machine; nothing ran."""

    status_code = 503
    code = "sandbox_unavailable"


class TryRunCancelled(SandboxError):
    """The try-run was cancelled by its user: its code was stopped, nothing was kept
    (``assay.runtime.try_runs``)."""

    code = "cancelled"
