"""The local executor: a small thread pool in the server process.

Job functions write through their own sessions and keep write transactions short, so the
pool never blocks requests for long.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from assay.errors import AssayError
from assay.services import jobs
from assay.storage.db import Database

log = logging.getLogger(__name__)


class LocalExecutor:
    def __init__(self, db: Database, workers: int = 2) -> None:
        self.db = db
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assay-job")

    def submit(self, job_id: int, function: jobs.JobFunction) -> Future[Any]:
        return self.pool.submit(self._run, job_id, function)

    def _run(self, job_id: int, function: jobs.JobFunction) -> dict[str, Any]:
        try:
            return jobs.run(self.db, job_id, function)
        except AssayError as exc:  # recorded on the job; the log keeps a line of it
            log.info("job %s failed: %s", job_id, exc.message.splitlines()[0])
            return {}

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
