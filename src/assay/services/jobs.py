"""Jobs: long work recorded in the database, run by an executor, with progress and cancel.

Progress lives in memory while a job runs in this process (a progress write must never wait
for the job's own write transaction on SQLite) and is written to the job's row when it ends.
Cancellation is cooperative: the job's progress callback raises :class:`JobCancelled`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.errors import AssayError, JobCancelled, NotFound, ValidationError
from assay.storage.db import Database
from assay.storage.models import Job, can_be_id, utcnow

FINAL = ("done", "failed", "cancelled")
RUNNER = f"{socket.gethostname()}:{os.getpid()}"

log = logging.getLogger(__name__)


@dataclass
class LiveState:
    progress: float = 0.0
    message: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)


_live: dict[int, LiveState] = {}
_lock = threading.Lock()

JobFunction = Callable[["Progress"], dict[str, Any]]


class Progress:
    """What a job function reports through; raises JobCancelled once a cancel was asked.

    A cancel from this process arrives at once (an in-memory event); one from another
    process (``assay jobs cancel`` against a server's job) through the job's row, which is
    read at most once a second.
    """

    POLL_SECONDS = 1.0

    def __init__(
        self,
        job_id: int,
        listener: Callable[[float, str], None] | None = None,
        db: Database | None = None,
    ) -> None:
        self.job_id = job_id
        self.listener = listener
        self.db = db
        self._polled = time.monotonic()
        with _lock:
            self.state = _live.setdefault(job_id, LiveState())

    def _cancel_requested_elsewhere(self) -> bool:
        if self.db is None or time.monotonic() - self._polled < self.POLL_SECONDS:
            return False
        self._polled = time.monotonic()
        with self.db.session() as session:
            return bool(session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id)))

    def __call__(self, done: float, message: str = "") -> None:
        if self.state.cancel.is_set() or self._cancel_requested_elsewhere():
            raise JobCancelled(f"job {self.job_id} was cancelled", job=self.job_id)
        self.state.progress = max(0.0, min(1.0, done))
        self.state.message = message
        if self.listener is not None:
            self.listener(self.state.progress, message)


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


def describe(job: Job) -> dict[str, Any]:
    state = _live.get(job.id)
    running = job.status == "running" and state is not None
    return {
        "id": job.id,
        "kind": job.kind,
        "project_id": job.project_id,
        "status": job.status,
        "progress": state.progress if running and state else job.progress,
        "message": state.message if running and state else job.message,
        "error": job.error,
        "result": job.result,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def list_jobs(session: Session, project_id: int | None = None, limit: int = 50) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    return list(session.scalars(query))


def cancel(session: Session, job_id: int) -> Job:
    job = get(session, job_id)
    if job.status in FINAL:
        raise ValidationError(f"job {job_id} has already ended ({job.status})", job=job_id)
    job.cancel_requested = True
    state = _live.get(job_id)
    if state is not None:
        state.cancel.set()
    if job.status == "queued":
        job.status = "cancelled"
        job.finished_at = utcnow()
    return job


def stop(job_id: int) -> None:
    """Ask a job running in this process to stop at its next progress report (the server is
    shutting down): it ends ``cancelled``, as after :func:`cancel`."""
    with _lock:
        state = _live.setdefault(job_id, LiveState())
    state.cancel.set()


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


def run(
    db: Database,
    job_id: int,
    function: JobFunction,
    listener: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """Run a job function now, in this thread, and record how it ended."""
    with db.session() as session:
        job = get(session, job_id)
        if job.status == "cancelled":
            return {}
        kind = job.kind
        job.status = "running"
        job.started_at = utcnow()
        job.runner = RUNNER
    progress = Progress(job_id, listener, db)
    status, error, result = "done", None, None
    raised: BaseException | None = None
    try:
        result = function(progress)
    except JobCancelled as exc:
        status, raised = "cancelled", exc
    except AssayError as exc:
        status, error, raised = "failed", exc.message, exc
    except Exception as exc:  # a bug: recorded on the job, then re-raised
        # The user sees what failed and where to look; the traceback (server paths, code)
        # goes to the server's log only.
        log.error("job %s (%s) failed", job_id, kind, exc_info=exc)
        status, raised = "failed", exc
        error = (
            f"internal error in this {kind} job ({type(exc).__name__}); "
            f"the server's log has the details under job {job_id}"
        )
    finally:
        with _lock:
            state = _live.pop(job_id, None)
    with db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=status,
                error=error,
                result=result,
                progress=1.0 if status == "done" else (state.progress if state else 0.0),
                message="done" if status == "done" else (state.message if state else ""),
                finished_at=utcnow(),
            )
        )
    if raised is not None:
        raise raised
    return result or {}
