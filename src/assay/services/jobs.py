"""Jobs: long work recorded in the database, run by an executor, with progress and cancel.

The functions here read and write the job rows; running a job (progress, live state,
stop) is the runtime's job runner, ``runtime/job_runner.py``, whose ``run``,
``JobFunction`` and ``JobProgress`` the Workbench reaches through this module.
"""

from __future__ import annotations

import os
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import NotFound, ValidationError
from assay.runtime import job_runner
from assay.runtime.job_runner import RUNNER
from assay.services import projects
from assay.storage.models import Job, can_be_id, utcnow

FINAL = ("done", "failed", "cancelled")


def create(session: Session, kind: str, project_id: int | None, message: str = "") -> Job:
    job = Job(kind=kind, project_id=project_id, status="queued", message=message)
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id) if can_be_id(job_id) else None
    if job is None:
        raise NotFound(f"no job {job_id}", job=job_id)
    return job


def describe(job: Job) -> documents.JobPublic:
    state = job_runner.live(job.id)
    running = job.status == "running" and state is not None
    return {
        "id": job.id,
        "kind": job.kind,
        "project_id": job.project_id,
        "status": cast(documents.JobStatus, job.status),
        "progress": state.progress if running and state else job.progress,
        "message": state.message if running and state else job.message,
        "error": job.error,
        "result": job.result,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def create_for(session: Session, kind: str, project: str | None, message: str) -> Job:
    """A job of the project named ``project`` (none while an import creates it)."""
    found = projects.find(session, project) if project else None
    return create(session, kind, found.id if found else None, message)


def list_for(session: Session, project: str | None, limit: int = 50) -> list[Job]:
    """The newest jobs (of the project named ``project``)."""
    project_id = projects.get(session, project).id if project else None
    return list_all(session, project_id, limit)


def list_all(session: Session, project_id: int | None = None, limit: int = 50) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    return list(session.scalars(query))


def cancel(session: Session, job_id: int) -> Job:
    job = get(session, job_id)
    if job.status in FINAL:
        raise ValidationError(f"job {job_id} has already ended ({job.status})", job=job_id)
    job.cancel_requested = True
    state = job_runner.live(job_id)
    if state is not None:
        state.cancel.set()
    if job.status == "queued":
        job.status = "cancelled"
        job.finished_at = utcnow()
    return job


def dead(session: Session) -> list[Job]:
    """Running jobs whose process, on this host, is gone (it crashed or was killed)."""
    host = RUNNER.rsplit(":", 1)[0]
    found = []
    for job in session.scalars(select(Job).where(Job.status == "running")):
        runner_host, _, pid = (job.runner or "").rpartition(":")
        if runner_host == host and pid.isdigit() and not _alive(int(pid)):
            found.append(job)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
