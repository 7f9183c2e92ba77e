"""assay: a data-centric workbench for NLP training data.

The Python API is :class:`Workbench` (with its :class:`Settings`); every error it raises is an
:class:`AssayError` of the tree below, each importable from here (docs/api.md lists their
codes).
"""

import importlib.metadata

from assay.config import Settings
from assay.errors import (
    ArtifactInvalid,
    AssayError,
    Conflict,
    CpuLimitExceeded,
    ExecutorError,
    Forbidden,
    ImportFileError,
    InvalidCode,
    InvalidOutput,
    JobCancelled,
    MemoryLimitExceeded,
    NoLiveModel,
    NotFound,
    ProcessLimitExceeded,
    RecordFailure,
    SandboxError,
    SandboxTimeout,
    SandboxUnavailable,
    TooLarge,
    TryRunCancelled,
    Unauthorized,
    UserCodeError,
    ValidationError,
    WorkerCrashed,
)
from assay.services.heuristic_kinds import HeuristicNotRunnable
from assay.services.heuristic_runs import HeuristicRunFailed
from assay.workbench import Workbench

__all__ = [
    "ArtifactInvalid",
    "AssayError",
    "Conflict",
    "CpuLimitExceeded",
    "ExecutorError",
    "Forbidden",
    "HeuristicNotRunnable",
    "HeuristicRunFailed",
    "ImportFileError",
    "InvalidCode",
    "InvalidOutput",
    "JobCancelled",
    "MemoryLimitExceeded",
    "NoLiveModel",
    "NotFound",
    "ProcessLimitExceeded",
    "RecordFailure",
    "SandboxError",
    "SandboxTimeout",
    "SandboxUnavailable",
    "Settings",
    "TooLarge",
    "TryRunCancelled",
    "Unauthorized",
    "UserCodeError",
    "ValidationError",
    "Workbench",
    "WorkerCrashed",
]
__version__ = importlib.metadata.version("assay")  # written once, in pyproject.toml
