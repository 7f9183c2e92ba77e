"""The Python face of assay: one object over the services, used by the API, the CLI and
notebooks alike. Each method opens a unit of work, calls one service entry point and returns
its document (:mod:`assay.documents`). The Workbench owns only what lives as long as the
process (executor, sandbox, the statistics debouncer), starting jobs, and the reactions to
writes, in one place.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, ClassVar

from assay import documents
from assay.config import Settings
from assay.errors import AssayError, Conflict
from assay.facade.data import Data
from assay.facade.embeddings import Embeddings
from assay.facade.labeling import Labeling
from assay.facade.user_code import UserCode
from assay.runtime.debounce import Debouncer
from assay.runtime.job_runner import JobFunction, JobProgress, Progress
from assay.runtime.job_runner import run as run_job
from assay.runtime.sandbox import Sandbox, default_sandbox, make_data_dir, protect
from assay.services import (
    database,
    embeddings,
    heuristics,
    jobs,
    projects,
    samples,
    tasks,
)


class Workbench(Data, Labeling, UserCode, Embeddings):
    """``Workbench()`` opens the database named by the settings (ASSAY_* variables).

    Its methods come one module per capability (:mod:`assay.facade`); this class holds what
    they share: the process-lifetime objects, starting jobs, the reactions to writes, and
    projects."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or Settings()
        make_data_dir(self.settings.data_dir)  # private from the start, whatever the umask
        self.db = database.open_database(self.settings.resolved_database_url(), migrate=migrate)
        self._executor: Any = None
        self._sandbox: Sandbox | None = None
        self._opening = threading.Lock()  # one executor and one sandbox, however many threads
        # Heuristic statistics follow manual labels off the request path (per task id).
        self.statistics_refresher = Debouncer(
            lambda task_id: heuristics.refresh_task(self.db, task_id)
        )

    def close(self) -> None:
        self.statistics_refresher.close()
        if self._executor is not None:
            self._executor.shutdown()
        if self._sandbox is not None:
            self._sandbox.close()
        self.db.dispose()

    @property
    def executor(self) -> Any:
        """Runs jobs, and their ``map`` work where the ``executor`` setting says."""
        with self._opening:
            if self._executor is None:
                from assay.runtime.executor import open_executor

                self._executor = open_executor(self.db, self.settings.executor)
            return self._executor

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox that runs user code; on first use the data dir becomes private to this
        process's user, so no sandbox uid can read the database below it."""
        with self._opening:
            if self._sandbox is None:
                protect(self.settings.data_dir)
                # The process's own: the one the executor's partitions run in, here.
                self._sandbox = default_sandbox()
            return self._sandbox

    # --- jobs and the reactions to writes: in one place --------------------------------------

    # The changes a job kind's success makes: the reactions they call for follow the job,
    # so that no job body has to remember them.
    _CHANGES: ClassVar[dict[str, tuple[str, ...]]] = {
        "import": ("labels", "records"),  # an archive's restore too
        "calculated_attribute": ("records",),  # an embedding may embed the attribute
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
            return result

        return run

    def after_labels_changed(self, project: str, task_ids: list[int] | None = None) -> None:
        """Labels of the project (of these tasks; default all) changed: its heuristics'
        statistics follow, later, off the request path."""
        if task_ids is None:
            with self.db.session() as s:
                task_ids = tasks.ids(s, projects.find(s, project))
        for task_id in task_ids:
            self.statistics_refresher.mark(task_id)

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

    def get_job(self, job_id: int) -> documents.JobPublic:
        with self.db.session() as s:
            return jobs.describe(jobs.get(s, job_id))

    def list_jobs(self, project: str | None = None) -> list[documents.JobPublic]:
        with self.db.session() as s:
            return [jobs.describe(j) for j in jobs.list_for(s, project)]

    def cancel_job(self, job_id: int) -> documents.JobPublic:
        with self.db.session() as s:
            return jobs.describe(jobs.cancel(s, job_id))

    # --- projects --------------------------------------------------------------------------

    def list_projects(self) -> list[documents.ProjectSummary]:
        with self.db.session() as s:
            return projects.list_all(s)

    def create_project(
        self, name: str, description: str = "", language: str = "en"
    ) -> documents.ProjectPublic:
        with self.db.session() as s:
            return _project_doc(s, projects.create(s, name, description, language))

    def get_project(self, name: str) -> documents.ProjectPublic:
        return self._in(name, _project_doc)

    def delete_project(self, name: str) -> None:
        embedding_ids = self._in(name, embeddings.ids)
        with self.db.session() as s:
            projects.delete_project(s, name)
        for embedding_id in embedding_ids:  # vectors live in the data dir, not the database
            embeddings.remove_files(self.settings.data_dir, embedding_id)

    def create_sample(
        self, sample: str = "clickbait", variant: str = "initial", name: str | None = None
    ) -> documents.ProjectPublic:
        with self.db.session() as s:
            doc = _project_doc(s, samples.create(s, sample, variant, name))
        if variant == "finished":
            self._finish_sample(doc["name"])
        return doc

    def _finish_sample(self, project: str) -> None:
        """The story's heuristics (with step 11's active learner, on step 5's embedding) and
        weak supervision, through the product's own paths; a failure removes the half-made
        project."""
        try:
            for task, name, code in samples.STORY_HEURISTICS:
                self.add_heuristic(project, task, name, code)
            attribute, embedder = samples.STORY_EMBEDDING
            embedded = self.add_embedding(project, attribute, embedder=embedder, wait=True)
            if embedded["status"] != "done":
                raise AssayError(f"sample project {project!r}: {embedded['error']}")
            task, name = samples.STORY_ACTIVE_LEARNER
            embedding = embedded["result"]["embedding"]["name"]
            self.add_active_learner(project, task, embedding=embedding, name=name)
            for job in (
                self.run_heuristics(project, wait=True),
                self.weak_supervise(project, "clickbait", wait=True),
            ):
                if job["status"] != "done":
                    raise AssayError(f"sample project {project!r}: {job['error']}")
        except BaseException:
            self.delete_project(project)
            raise


def _project_doc(s: Any, project: Any) -> documents.ProjectPublic:
    return projects.describe(s, project, tasks.describe_all(s, project))
