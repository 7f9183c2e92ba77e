"""assay: a data-centric workbench for NLP training data."""

import importlib.metadata

from assay.config import Settings
from assay.errors import (
    AssayError,
    Conflict,
    ImportFileError,
    JobCancelled,
    NotFound,
    ValidationError,
)
from assay.workbench import Workbench

__all__ = [
    "AssayError",
    "Conflict",
    "ImportFileError",
    "JobCancelled",
    "NotFound",
    "Settings",
    "ValidationError",
    "Workbench",
]
__version__ = importlib.metadata.version("assay")  # written once, in pyproject.toml
