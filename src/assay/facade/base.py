"""What every part of the Workbench shares: its settings and database, a unit of work on a
project found by name, the limits of files it reads; starting jobs and the reactions to
writes, in one place; and, declared for the type checker and defined by
:class:`assay.workbench.Workbench`, the executor, the sandbox and running an embedding."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from assay import documents
from assay.config import Settings
from assay.errors import AssayError, Conflict
from assay.runtime.debounce import Debouncer
from assay.runtime.job_runner import JobFunction, JobProgress, Progress
from assay.runtime.job_runner import run as run_job
from assay.runtime.sandbox import Sandbox
from assay.services import embeddings, files, jobs, projects, tasks
from assay.services.database import Database

if TYPE_CHECKING:
    from assay.services.serving import Serving

T = TypeVar("T")


class Facade:
    settings: Settings
    db: Database
    statistics_refresher: Debouncer
    retrain_watcher: Debouncer

    def _in(self, project: str, work: Callable[[Any, Any], T]) -> T:
        """``work(session, project)`` in one unit of work, the project found by name."""
        with self.db.session() as s:
            return work(s, projects.get(s, project))

    @property
    def _file_limits(self) -> files.Limits:
        return files.Limits(self.settings.max_cell_bytes, self.settings.max_upload_bytes)

    if TYPE_CHECKING:  # the Workbench's own (workbench.py)

        @property
        def executor(self) -> Any: ...

        @property
        def sandbox(self) -> Sandbox: ...

        def run_embedding(
            self, project: str, name: str, *, wait: bool = False
        ) -> documents.JobPublic: ...

        @property
        def serving(self) -> Serving: ...

    # --- jobs and the reactions to writes: in one place --------------------------------------

    # The changes a job kind's success makes: the reactions they call for follow the job,
    # so that no job body has to remember them.
    _CHANGES: ClassVar[dict[str, tuple[str, ...]]] = {
        "import": ("labels", "records"),  # an archive's restore too
        "calculated_attribute": ("records",),  # an embedding may embed the attribute
        "training": ("live",),  # it may have made a new version live
    }

    def _start(
        self,
        kind: str,
        project: str | None,
        message: str,
        work: JobFunction,
        *,
        wait: bool = False,
        user_code: bool = False,
        job_id: int | None = None,
    ) -> documents.JobPublic:
        """Start a job of ``kind`` (``job_id``: one already created) in this thread
        (``wait``) or on the executor (``user_code``: on the slots of jobs that run user
        code, which never hold up the others); returns the job."""
        job_id = job_id if job_id is not None else self._new_job(kind, project, message)
        reacting = self._reacting(kind, project, work)
        if wait:
            with contextlib.suppress(AssayError):  # recorded on the job, which the caller reads
                run_job(self.db, job_id, reacting)
        else:
            self.executor.submit(job_id, reacting, user_code=user_code)
        return self.get_job(job_id)

    def _run_now(
        self, kind: str, project: str, message: str, work: JobFunction, listener: Progress | None
    ) -> dict[str, Any]:
        """Run a job of ``kind`` in this thread; returns its result (raises its error)."""
        job_id = self._new_job(kind, project, message)
        return run_job(self.db, job_id, self._reacting(kind, project, work), listener)

    def _new_job(self, kind: str, project: str | None, message: str) -> int:
        with self.db.session() as s:
            return jobs.create_for(s, kind, project, message).id

    def _reacting(self, kind: str, project: str | None, work: JobFunction) -> JobFunction:
        changes = self._CHANGES.get(kind, ())
        if not changes or project is None:
            return work

        def run(progress: JobProgress) -> dict[str, Any]:
            result = work(progress)
            changed = str(result.get("project") or project)  # a restore names its project
            if "labels" in changes:
                self.after_labels_changed(changed)
            if "records" in changes:
                self.after_records_changed(changed)
            if "live" in changes:
                self.after_live_moved()
            return result

        return run

    def after_labels_changed(self, project: str, task_ids: list[int] | None = None) -> None:
        """Labels of the project (of these tasks; default all) changed: its heuristics'
        statistics follow, later, off the request path; a task with a model trains again
        once it has enough new manual labels (a job, queued off the request path)."""
        if task_ids is None:
            with self.db.session() as s:
                task_ids = tasks.ids(s, projects.find(s, project))
        for task_id in task_ids:
            self.statistics_refresher.mark(task_id)
            self.retrain_watcher.mark(task_id)

    def after_records_changed(self, project: str) -> None:
        """Records of the project were added or changed: its embeddings that have vectors
        follow (a job each; embedded incrementally)."""
        with self.db.session() as s:
            ready = embeddings.ready_names(s, projects.find(s, project))
        for name in ready:
            # Already running: that run may have read the records before this change; the
            # next run (by hand, or after the next import) embeds what it missed.
            with contextlib.suppress(Conflict):
                self.run_embedding(project, name)

    def after_live_moved(self) -> None:
        """This process moved a task's live pointer (a promotion, a rollback, a training that
        promoted): its next predictions read the pointers at once, not after the half-second
        check that catches the moves of other processes."""
        self.serving.recheck()

    def get_job(self, job_id: int) -> documents.JobPublic:
        with self.db.session() as s:
            return jobs.describe(jobs.get(s, job_id))

    def list_jobs(self, project: str | None = None) -> list[documents.JobPublic]:
        with self.db.session() as s:
            return [jobs.describe(j) for j in jobs.list_for(s, project)]

    def cancel_job(self, job_id: int) -> documents.JobPublic:
        with self.db.session() as s:
            return jobs.describe(jobs.cancel(s, job_id))
