"""What to label next (``select``): a strategy picks ``size`` records from a pool (a filter
or slice), the picks become a static slice in their order, with a labeling session on it.
The run is stored (strategy, parameters, inputs), resumable and reused on unchanged inputs
(:mod:`assay.services.stored_runs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from assay import documents
from assay.runtime.job_runner import Progress, no_progress
from assay.services.database import Database
from assay.storage.models import Project

JOB_KIND = "selection"


def check(
    session: Session,
    project: Project,
    *,
    strategy: str,
    size: int,
    where: Any = None,
    slice: str | None = None,
    embedding: str | None = None,
    task: str | None = None,
    measure: str = "margin",
    source: str | None = None,
    heuristic: str | None = None,
    name: str | None = None,
) -> None:
    """Refuse, before any job, what cannot be selected (422/404, nothing stored): an unknown
    strategy or measure, a size below 1 or above the pool, an embedding that does not exist
    or is not ready, a strategy that needs a task or probabilities without them."""
    raise NotImplementedError


def run(
    db: Database,
    project: str,
    *,
    strategy: str,
    size: int,
    where: Any = None,
    slice: str | None = None,
    embedding: str | None = None,
    task: str | None = None,
    measure: str = "margin",
    source: str | None = None,
    heuristic: str | None = None,
    seed: int = 0,
    name: str | None = None,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.SelectionResult:
    """The selection job's work: pick, store the slice, return the result document."""
    raise NotImplementedError
