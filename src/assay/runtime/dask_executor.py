"""The Dask executor (``ASSAY_EXECUTOR=dask://host:port``): jobs run in the server as with
the local executor (the job function, its database reads and writes, its progress); what a
job hands to ``map`` runs on the workers of a Dask distributed cluster.

``map`` ships each item with its function (both pickled: top-level functions and plain
values) and keeps a few items in flight, so a job's items are read as they are needed and
its results come back in order. Workers never see the database: they get items and return
values. User code in an item still runs in the sandbox, the worker process's own
(:func:`assay.runtime.sandbox.default_sandbox`), so workers must run as root too.

A worker lost mid-map costs only its items: the scheduler runs them again on another worker
(``distributed.scheduler.allowed-failures`` times, 3 by default); after that, or when the
cluster has had no worker for ``NO_WORKERS_S``, or the scheduler is lost, the job fails with
an :class:`ExecutorError` that names the cluster. An error raised on a worker comes back as
itself (assay's errors pickle with their details).
"""

from __future__ import annotations

import itertools
import pickle
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from dask.utils import funcname
from distributed import Client, Future, KilledWorker
from distributed import TimeoutError as DaskTimeout
from distributed.client import FutureCancelledError

from assay.errors import ExecutorError
from assay.runtime.executor import LocalExecutor
from assay.storage.db import Database

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT_S = 10.0
NO_WORKERS_S = 120.0  # how long a map waits for a cluster without workers
_POLL_S = 5.0


class DaskExecutor(LocalExecutor):
    """Jobs in the server's thread pool, ``map`` items on the cluster at ``setting``
    (``dask://host:port``). The client connects on the first ``map``, so that jobs without
    such work (imports) do not need the cluster; a failed connection is tried again by the
    next ``map``."""

    def __init__(
        self,
        db: Database,
        setting: str,
        *,
        in_flight: int | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        no_workers_s: float = NO_WORKERS_S,
    ) -> None:
        super().__init__(db)
        self.setting = setting
        self.address = "tcp://" + setting.removeprefix("dask://")
        self.in_flight = in_flight  # None: twice the cluster's threads
        self.connect_timeout_s = connect_timeout_s
        self.no_workers_s = no_workers_s
        self._client: Client | None = None
        self._lock = threading.Lock()

    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                try:
                    self._client = Client(
                        self.address, timeout=self.connect_timeout_s, set_as_default=False
                    )
                except OSError as exc:  # refused, unknown host, timed out
                    raise self._error(
                        f"cannot reach the Dask scheduler at {self.address}: {exc}"
                    ) from None
            return self._client

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        client = self.client()
        window = self.in_flight or max(2, 2 * sum(client.nthreads().values()))
        return self._ordered(client, function, iter(items), window)

    def _ordered(
        self, client: Client, function: Callable[[T], R], items: Iterator[T], window: int
    ) -> Iterator[R]:
        # The function (a partial with the codes and lookup lists) travels once: a task that
        # returns it, which every item's task depends on (and which Dask can run again).
        shared = client.submit(_same, function, key=f"assay-function-{uuid.uuid4().hex}")
        name = funcname(function)
        pending: deque[tuple[int, Future[R]]] = deque()
        numbered = enumerate(items, 1)
        try:
            while True:
                for number, item in itertools.islice(numbered, window - len(pending)):
                    key = f"{name}-{uuid.uuid4().hex}"
                    # Pickled here, once: the scheduler passes bytes on (it would unpickle
                    # and pickle a partition of records again, several times slower).
                    blob = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
                    pending.append((number, client.submit(_apply, shared, blob, key=key)))
                if not pending:
                    return
                yield self._result(client, *pending.popleft())
        finally:  # the job failed or stopped reading: what is still queued is dropped
            for _, future in pending:
                future.cancel()
            shared.release()

    def _result(self, client: Client, number: int, future: Future[R]) -> R:
        idle_since: float | None = None
        while True:
            try:
                return future.result(timeout=_POLL_S)
            except DaskTimeout:
                if client.nthreads():
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > self.no_workers_s:
                    future.cancel()
                    raise self._error(
                        f"the Dask cluster at {self.address} has had no workers for "
                        f"{self.no_workers_s:.0f} s; item {number} of the job did not run"
                    ) from None
            except KilledWorker as exc:
                raise self._error(
                    f"Dask workers at {self.address} died running item {number} of the job, "
                    f"which was tried on {exc.allowed_failures + 1} workers; the last: "
                    f"{exc.last_worker.address}"
                ) from None
            except FutureCancelledError as exc:
                raise self._error(
                    f"item {number} of the job was lost on the Dask cluster at "
                    f"{self.address}: {exc.reason or 'cancelled'}"
                ) from None

    def _error(self, message: str) -> ExecutorError:
        return ExecutorError(message, executor=self.setting)

    def shutdown(self) -> None:
        super().shutdown()
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _same(value: T) -> T:
    return value


def _apply(function: Callable[[T], R], blob: bytes) -> R:
    item: T = pickle.loads(blob)
    return function(item)
