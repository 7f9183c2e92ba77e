"""Splitting a task's labeled records into named sets (``train``, ``validation``, ``test``...),
stored on the records (``record_set``), with a report of how well each set represents the
whole. Model training reads it: with a split, a task trains outside ``test`` and is scored
on ``test``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from assay import documents
from assay.runtime.job_runner import Progress, no_progress
from assay.services.database import Database
from assay.storage.models import Project

JOB_KIND = "split"


def check(
    session: Session,
    project: Project,
    *,
    sets: str | Mapping[str, float],
    task: str | None = None,
    embedding: str | None = None,
    seed: int = 0,
) -> None:
    """Refuse, before any job (422/404, nothing stored): sets that do not add up, an unknown
    task or one without labels, an embedding that does not exist or is not ready."""
    raise NotImplementedError


def run(
    db: Database,
    project: str,
    *,
    sets: str | Mapping[str, float],
    task: str | None = None,
    embedding: str | None = None,
    seed: int = 0,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.SplitReport:
    """The split job's work: assign, store on the records, report."""
    raise NotImplementedError


def report(session: Session, project: Project) -> documents.SplitReport:
    """The report of the project's current split (404 when it has none)."""
    raise NotImplementedError


def sets_of(session: Session, project_id: int, record_ids: Sequence[int]) -> dict[int, str]:
    """The set of each of these records that has one."""
    raise NotImplementedError
