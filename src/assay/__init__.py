"""assay: a data-centric workbench for NLP training data."""

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
__version__ = "0.1.0"
