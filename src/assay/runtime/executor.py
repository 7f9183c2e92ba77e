"""Executors: where jobs and their heavy pure work run.

Every executor runs job functions in small thread pools in the server process (they write
through their own sessions and keep write transactions short, so the pools never block
requests for long): one for jobs that run user code, one for the others, so that runaway
user code (each run may take its whole timeout) never holds up an import or an export.
A job hands its heavy pure work, item by item, to the executor's ``map``: the local
executor runs it in the job's own thread, the Dask executor (``dask_executor.py``, chosen
by ``ASSAY_EXECUTOR=dask://host:port``) on a cluster's workers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from assay.errors import AssayError, ExecutorError, ValidationError
from assay.runtime import job_runner
from assay.runtime.job_runner import JobFunction
from assay.storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# An executor's ``map`` as job code takes it: a function of one item, and the items; it
# yields the function's results in the items' order.
MapFunction = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


class LocalExecutor:
    def __init__(self, db: Database, workers: int = 2) -> None:
        self.db = db
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assay-job")
        self.user_code_pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="assay-user-code-job"
        )
        self.running: dict[int, Future[Any]] = {}

    def submit(self, job_id: int, function: JobFunction, *, user_code: bool = False) -> Future[Any]:
        """Queue a job; ``user_code``: it runs user code (heuristics, calculated attributes)
        and queues behind other such jobs only."""
        pool = self.user_code_pool if user_code else self.pool
        future = pool.submit(self._run, job_id, function)
        self.running[job_id] = future
        future.add_done_callback(lambda _: self.running.pop(job_id, None))
        return future

    def _run(self, job_id: int, function: JobFunction) -> dict[str, Any]:
        try:
            return job_runner.run(self.db, job_id, function)
        except AssayError as exc:  # recorded on the job; the log keeps a line of it
            log.info("job %s failed: %s", job_id, exc.message.splitlines()[0])
            return {}

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``function`` of each item, in order, computed lazily in the calling thread (a
        job's thread): the heavy part (user code) already runs in sandbox processes."""
        return (function(item) for item in items)

    def shutdown(self) -> None:
        """Stop: running and queued jobs stop at their next progress report and end
        ``cancelled`` (an import's staged records are discarded)."""
        for job_id in list(self.running):
            job_runner.stop(job_id)
        self.pool.shutdown(wait=True)
        self.user_code_pool.shutdown(wait=True)


def open_executor(db: Database, setting: str) -> LocalExecutor:
    """The executor that the ``executor`` setting names: ``local`` or ``dask://host:port``."""
    if setting == "local":
        return LocalExecutor(db)
    if re.fullmatch(r"dask://[^\s/]+:\d{1,5}", setting):
        try:
            from assay.runtime.dask_executor import DaskExecutor
        except ImportError as exc:
            if exc.name not in ("dask", "distributed"):
                raise
            raise ExecutorError(
                f"the executor {setting} needs Dask, which is not installed: "
                "pip install 'assay[dask]'",
                executor=setting,
            ) from None
        return DaskExecutor(db, setting)
    raise ValidationError(
        f"unknown executor {setting!r} (ASSAY_EXECUTOR): use 'local' or 'dask://host:port'",
        executor=setting,
    )
