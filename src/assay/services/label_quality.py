"""Which labels are probably wrong: suspected label errors among a task's manual labels
(confident learning on out-of-fold probabilities with the embedding's neighbourhood), records
where manual and weak labels disagree with high confidence, and annotator disagreement; each
a ranked static slice to review in the labeling suite. Resumable: the folds are chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from assay import documents
from assay.runtime.job_runner import Progress, no_progress
from assay.services.database import Database
from assay.storage.models import Project

JOB_KIND = "quality"


def check(
    session: Session,
    project: Project,
    task: str,
    *,
    embedding: str | None = None,
    folds: int = 5,
    neighbours: int = 10,
    weak_threshold: float = 0.8,
) -> None:
    """Refuse, before any job (422/404, nothing stored): an extraction task, a task with one
    class or too few labels for out-of-fold probabilities, a missing or unready embedding."""
    raise NotImplementedError


def run(
    db: Database,
    project: str,
    task: str,
    *,
    embedding: str | None = None,
    folds: int = 5,
    neighbours: int = 10,
    weak_threshold: float = 0.8,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.QualityResult:
    """The quality job's work: rank, store the lists and their slices, summarize."""
    raise NotImplementedError


def page(
    session: Session,
    project: Project,
    task: str,
    *,
    list_name: str = "label_error",
    limit: int = 50,
    cursor: str | None = None,
) -> documents.QualityPage:
    """A page of one list of the task's newest quality run, most suspect first."""
    raise NotImplementedError
