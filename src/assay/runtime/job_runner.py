"""The job runner: runs a job function in this thread, with progress, live state and stop.

A job is recorded in the database (its row: ``storage.models.Job``; the service functions
over rows are ``services/jobs.py``); this module runs one. Progress lives in memory while a
job runs in this process (a progress write must never wait for the job's own write
transaction on SQLite) and is written to the job's row when it ends. Cancellation is
cooperative: the job's progress callback raises :class:`JobCancelled`.
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

from assay.errors import AssayError, JobCancelled, NotFound
from assay.storage.db import Database
from assay.storage.models import Job, can_be_id, utcnow

# What long work reports its progress through: the fraction done (0 to 1) and a message.
Progress = Callable[[float, str], None]


def no_progress(_done: float, _message: str) -> None:
    """The progress of work that nobody watches."""


RUNNER = f"{socket.gethostname()}:{os.getpid()}"  # this process, as a job's row names it

log = logging.getLogger(__name__)


@dataclass
class LiveState:
    progress: float = 0.0
    message: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)


_live: dict[int, LiveState] = {}
_lock = threading.Lock()


def live(job_id: int) -> LiveState | None:
    """The state of a job that runs in this process (or was asked to stop); else None."""
    return _live.get(job_id)


class JobProgress:
    """The :data:`Progress` that :func:`run` gives a job function: it knows its job
    (``job_id``) and raises JobCancelled once a cancel was asked.

    A cancel from this process arrives at once (an in-memory event); one from another
    process (``assay jobs cancel`` against a server's job) through the job's row, which is
    read at most once a second.
    """

    POLL_SECONDS = 1.0

    def __init__(
        self, job_id: int, listener: Progress | None = None, db: Database | None = None
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


# A job's body: it reports through its progress and returns the job's result.
JobFunction = Callable[[JobProgress], dict[str, Any]]


def stop(job_id: int) -> None:
    """Ask a job running in this process to stop at its next progress report (the server is
    shutting down): it ends ``cancelled``, as after ``services.jobs.cancel``."""
    with _lock:
        state = _live.setdefault(job_id, LiveState())
    state.cancel.set()


def run(
    db: Database, job_id: int, function: JobFunction, listener: Progress | None = None
) -> dict[str, Any]:
    """Run a job function now, in this thread, and record how it ended."""
    with db.session() as session:
        job = session.get(Job, job_id) if can_be_id(job_id) else None
        if job is None:
            raise NotFound(f"no job {job_id}", job=job_id)
        if job.status == "cancelled":
            return {}
        kind = job.kind
        job.status = "running"
        job.started_at = utcnow()
        job.runner = RUNNER
    progress = JobProgress(job_id, listener, db)
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
