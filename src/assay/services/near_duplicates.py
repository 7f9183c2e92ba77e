"""Near-duplicate groups of a project's records: exact (normalized text), lexical (MinHash
LSH) and semantic (an embedding threshold through the vector index); groups whose records
carry different manual labels are flagged. Resumable: signatures and neighbours are chunks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from assay import documents
from assay.runtime.job_runner import Progress, no_progress
from assay.services.database import Database
from assay.storage.models import Project

JOB_KIND = "duplicates"


def check(
    session: Session,
    project: Project,
    *,
    kind: str = "exact",
    attribute: str | None = None,
    embedding: str | None = None,
    threshold: float | None = None,
) -> None:
    """Refuse, before any job (422/404): an unknown kind, an attribute that is not text, a
    missing or unready embedding (semantic), a threshold outside (0, 1]."""
    raise NotImplementedError


def run(
    db: Database,
    project: str,
    *,
    kind: str = "exact",
    attribute: str | None = None,
    embedding: str | None = None,
    threshold: float | None = None,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.DuplicatesResult:
    """The duplicates job's work: group, store the groups, summarize."""
    raise NotImplementedError


def page(
    session: Session,
    project: Project,
    *,
    kind: str = "exact",
    mixed_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> documents.DuplicatesPage:
    """A page of the groups of the project's newest run of ``kind``, largest first."""
    raise NotImplementedError


def group_ids(session: Session, project: Project, record_ids: Sequence[int]) -> np.ndarray:
    """For a split: a group id per record (-1: alone), joining the records that share an exact
    group now or a group of the newest lexical or semantic run."""
    raise NotImplementedError
