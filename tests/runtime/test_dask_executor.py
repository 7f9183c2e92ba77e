"""The Dask executor against a real cluster (a LocalCluster of two worker processes): ordered
and lazy ``map``, user code in each worker's own sandbox, errors that come back as they were
raised, lost workers, an unreachable scheduler; and a heuristic run (and a calculated
attribute, a lexical duplicates run) through a Workbench whose setting names the cluster, on
both databases, with the same results as the local executor."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from assay.config import Settings
from assay.errors import ExecutorError, InvalidCode, UserCodeError, ValidationError
from assay.runtime import sandbox
from assay.runtime.executor import LocalExecutor, open_executor
from assay.runtime.sandbox import Limits, Record, RecordResult
from assay.services import heuristic_runs, near_duplicates
from assay.storage.db import Database
from assay.storage.models import Annotation, Label
from assay.storage.models import Record as RecordRow
from assay.workbench import Workbench

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the sandbox switches uids, which only root can do"
)

# The workers cannot import this test module: its functions travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

FAST = Limits(timeout_s=30, cpu_s=10, memory_mb=256, processes=8)
LF = """
def lf(record):
    print(record["rank"])
    return "big" if record["rank"] > 2 else None
"""
HEADLINES = [f"headline {i}" for i in range(8)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # Two deaths of an item's worker fail it (three by default: shorter to test). The
    # scheduler's HTTP server takes a free port (None still tries 8787).
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        distributed.LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
        ) as local,
    ):
        yield local


@pytest.fixture(scope="module")
def setting(cluster: Any) -> str:
    return "dask://" + cluster.scheduler_address.removeprefix("tcp://")


@pytest.fixture
def executor(setting: str, tmp_path: Path) -> Iterator[Any]:
    found = open_executor(Database(f"sqlite:///{tmp_path / 'jobs.db'}"), setting)
    try:
        yield found
    finally:
        found.shutdown()


def slow_square(number: int) -> int:
    time.sleep(0.2 if number % 2 == 0 else 0.0)  # the even ones finish last
    return number * number


def test_map_keeps_the_order_and_reads_items_as_needed(executor: Any) -> None:
    read: list[int] = []

    def items() -> Iterator[int]:
        for number in range(12):
            read.append(number)
            yield number

    executor.in_flight = 3
    results = executor.map(slow_square, items())
    assert read == []  # nothing is read before the first result is asked for
    assert next(results) == 0
    assert len(read) <= 4  # the first item's result, and at most three in flight
    assert list(results) == [n * n for n in range(1, 12)]


def pid_and_results(records: list[Record]) -> tuple[int, list[RecordResult]]:
    return os.getpid(), sandbox.run_function(LF, records, limits=FAST)


def test_user_code_runs_in_each_workers_sandbox_as_it_runs_here(executor: Any) -> None:
    records = [Record(i, {"headline": text, "rank": i}) for i, text in enumerate(HEADLINES)]
    parts = [records[:3], records[3:6], records[6:]]
    remote = list(executor.map(pid_and_results, parts))
    local = list(LocalExecutor.map(executor, pid_and_results, parts))
    assert {pid for pid, _ in remote}.isdisjoint({os.getpid()})  # ran on the workers
    assert [results for _, results in remote] == [results for _, results in local]
    assert [r.value for _, results in remote for r in results] == [None] * 3 + ["big"] * 5
    assert remote[1][1][0].output == "3\n"


def run_code(code: str, records: list[Record]) -> list[RecordResult]:
    return sandbox.run_function(code, records, limits=FAST)


def test_sandbox_errors_on_a_worker_arrive_as_they_were_raised(executor: Any) -> None:
    records = [Record(i, {"headline": text, "rank": i}) for i, text in enumerate(HEADLINES)]
    failing = "def lf(record):\n    return 1 / (record['rank'] - 5)\n"
    with pytest.raises(UserCodeError) as remote:
        list(executor.map(functools.partial(run_code, failing), [records]))
    with pytest.raises(UserCodeError) as local:
        run_code(failing, records)
    assert remote.value.message == local.value.message
    assert "ZeroDivisionError" in remote.value.message
    assert [f.record_id for f in remote.value.failures] == [5]
    assert remote.value.detail == local.value.detail

    with pytest.raises(InvalidCode) as invalid:
        list(executor.map(functools.partial(run_code, "def lf(record)\n"), [records]))
    assert invalid.value.detail["line"] == 1


def test_an_unreachable_scheduler_is_named(tmp_path: Path) -> None:
    from assay.runtime.dask_executor import DaskExecutor

    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    executor = DaskExecutor(db, "dask://127.0.0.1:9", connect_timeout_s=1)
    with pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler at tcp://127\.0"):
        executor.map(abs, [1])
    executor.shutdown()


def test_a_cluster_without_workers_fails_the_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.runtime import dask_executor

    monkeypatch.setattr(dask_executor, "_POLL_S", 0.2)
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        setting = "dask://" + empty.scheduler_address.removeprefix("tcp://")
        executor = dask_executor.DaskExecutor(db, setting, no_workers_s=0.5)
        try:
            with pytest.raises(ExecutorError, match="has had no workers for 0 s; item 1"):
                list(executor.map(abs, [1, 2]))
        finally:
            executor.shutdown()


def test_settings_that_name_no_executor_or_a_missing_dask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    for wrong in ("dask:/x:1", "dask://host", "dask://host:port", "process"):
        with pytest.raises(ValidationError, match=f"unknown executor '{wrong}'"):
            open_executor(db, wrong)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "assay.runtime.dask_executor")
    with pytest.raises(ExecutorError, match=r"pip install 'assay\[dask\]'"):
        open_executor(db, "dask://127.0.0.1:8786")


# --- a Workbench on the cluster ----------------------------------------------------------

DIGIT = """
def digit(record):
    if record["headline"][0].text.isdigit():
        return "yes"
"""
COUNTRY = """
from knowledge import country_related

def country(record):
    if any(term in record["headline"].text for term in country_related):
        return "no"
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def dask_wb(request: pytest.FixtureRequest, setting: str, tmp_path: Path) -> Iterator[Workbench]:
    """A Workbench whose executor is the cluster, over an empty SQLite or PostgreSQL database."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_wb").settings.database_url  # emptied for this test
    workbench = Workbench(Settings(data_dir=tmp_path / "data", database_url=url, executor=setting))
    try:
        yield workbench
    finally:
        workbench.close()


def votes(wb: Workbench, project: str) -> dict[tuple[str, str], str]:
    """(heuristic, headline) -> label of every heuristic vote in the project."""
    names = {str(h["id"]): h["name"] for h in wb.list_heuristics(project)}
    with wb.db.session() as s:
        rows = s.execute(
            select(Annotation.source_id, RecordRow.data, Label.name)
            .join(RecordRow, RecordRow.id == Annotation.record_id)
            .join(Label, Label.id == Annotation.label_id)
            .where(Annotation.source == "heuristic", Annotation.source_id.in_(names))
        )
        return {(names[source], data["headline"]): label for source, data, label in rows}


def test_a_heuristic_run_on_the_cluster_votes_as_a_local_one(
    dask_wb: Workbench, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heuristic_runs, "PARTITION", 300)  # several items, in order
    local = Workbench(Settings(data_dir=dask_wb.settings.data_dir, **_database(dask_wb)))
    try:
        for wb, project in ((dask_wb, "remote"), (local, "here")):
            wb.create_sample("clickbait", "initial", project)
            wb.add_terms(project, "country_related", ["France", "Iceland"])
            wb.add_heuristic(project, "clickbait", "digit", DIGIT)
            wb.add_heuristic(project, "clickbait", "country", COUNTRY)
            job = wb.run_heuristics(project, wait=True)
            assert job["status"] == "done", job["error"]
        remote, here = votes(dask_wb, "remote"), votes(local, "here")
    finally:
        local.close()
    assert len(remote) > 100
    assert {name for name, _ in remote} == {"digit", "country"}
    assert remote == here
    assert "run_partition" in cluster.scheduler.task_prefixes  # the items ran on the cluster


def _items_run(cluster: Any, name: str) -> int:
    prefix = cluster.scheduler.task_prefixes.get(name)
    return 0 if prefix is None else sum(prefix.state_counts.values())


def test_a_calculated_attribute_is_computed_on_the_cluster(
    dask_wb: Workbench, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heuristic_runs, "PARTITION", 300)  # several items, in order
    before = _items_run(cluster, "run_partition")
    dask_wb.create_sample("clickbait", "initial", "cb")
    code = "def words(record):\n    return len(record['headline'])\n"
    dask_wb.add_calculated_attribute("cb", "words", "integer", code)
    job = dask_wb.run_calculated_attribute("cb", "words", wait=True)
    assert job["status"] == "done", job["error"]
    page = dask_wb.query("cb", where={"attribute": "words", "op": "is_null"}, limit=1)
    assert page["total"] == 0  # every record has its value (several partitions)
    for record in dask_wb.query("cb", limit=40)["records"]:  # spaCy tokens, on a worker
        tokens = dask_wb.get_record("cb", record["id"])["tokens"]["headline"]
        assert record["data"]["words"] == len(tokens)
    deadline = time.monotonic() + 10  # the scheduler counts the items in its own thread
    while _items_run(cluster, "run_partition") < before + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _items_run(cluster, "run_partition") >= before + 3  # the items ran on the cluster


def test_a_lexical_duplicates_run_hashes_its_chunks_on_the_cluster(
    dask_wb: Workbench, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(near_duplicates, "MINHASH_CHUNK", 300)  # several items, in order
    before = _items_run(cluster, "signatures_of")
    local = Workbench(Settings(data_dir=dask_wb.settings.data_dir, **_database(dask_wb)))
    try:
        groups = {}
        for wb, project in ((dask_wb, "remote"), (local, "here")):
            wb.create_sample("clickbait", "initial", project)
            copies = ["Ten cats that changed the internet forever"] * 2
            frame = pd.DataFrame({"running_id": [9001, 9002], "headline": copies})
            wb.import_dataframe(frame, project)  # one pair of copies at least
            job = wb.find_duplicates(project, kind="lexical", wait=True)
            assert job["status"] == "done", job["error"]
            page = wb.duplicate_groups(project, kind="lexical", limit=500)
            groups[project] = sorted(
                sorted(m["data"]["headline"] for m in group["records"]) for group in page["page"]
            )
    finally:
        local.close()
    assert groups["remote"] and groups["remote"] == groups["here"]
    deadline = time.monotonic() + 10  # the scheduler counts the items in its own thread
    while _items_run(cluster, "signatures_of") < before + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _items_run(cluster, "signatures_of") >= before + 3  # the chunks ran on the cluster


def _database(wb: Workbench) -> dict[str, Any]:
    return {"database_url": wb.settings.database_url}


# Last: it kills workers, whose replacements start their sandboxes anew.


def die_once(marker: Path, number: int) -> int:
    """Kills its worker process the first time it runs."""
    if not marker.exists():
        marker.touch()
        os._exit(1)
    return number


def die(number: int) -> int:
    os._exit(1)


def test_a_lost_worker_is_replaced_then_an_item_that_kills_every_worker_fails_the_map(
    executor: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "died"
    assert list(executor.map(functools.partial(die_once, marker), [7])) == [7]
    assert marker.exists()
    with pytest.raises(ExecutorError, match="died running item 1 of the job") as lost:
        list(executor.map(die, [1]))
    assert executor.address in lost.value.message


CENTROIDS = """
import numpy as np

class Centroids:
    min_confidence = 0.0
    labels = None

    def fit(self, embeddings, labels):
        self.classes_ = sorted(set(labels))
        labels = np.asarray(labels)
        self.centres = np.stack([embeddings[labels == c].mean(axis=0) for c in self.classes_])

    def predict_proba(self, embeddings):
        scores = np.exp(embeddings @ self.centres.T)
        return scores / scores.sum(axis=1, keepdims=True)
"""


def test_an_active_learner_runs_on_a_worker_as_it_runs_here(executor: Any) -> None:
    import numpy as np

    from assay.algorithms.active_learning import assign_folds
    from assay.runtime import partitions
    from assay.runtime.sandbox import LearnerInput

    matrix = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    rows = np.arange(0, 40, 2)
    labels = np.where(matrix[rows, 0] > 0, "up", "down")
    examples = LearnerInput(matrix, rows, labels, assign_folds(rows, labels, 5))
    learn = functools.partial(
        partitions.run_learner, code=CENTROIDS, classes=["down", "up"], limits=FAST
    )
    (remote,) = list(executor.map(learn, [examples]))
    local = learn(examples)
    assert not isinstance(remote, Exception) and not isinstance(local, Exception)
    assert remote.classes == local.classes
    assert np.array_equal(remote.best, local.best)
    assert np.allclose(remote.probability, local.probability)
