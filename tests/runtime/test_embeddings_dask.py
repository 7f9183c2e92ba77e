"""Embedding batches on a Dask cluster (a LocalCluster of two worker processes): the same
vectors as the local executor gives, for the built-in embedder and a model2vec folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assay.config import Settings
from assay.services import embeddings, projects
from assay.workbench import Workbench

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
    ) as local:
        yield local


def _vectors(wb: Workbench, project: str, name: str) -> np.ndarray:
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, project), name)
        return np.array(embeddings.load(wb.settings.data_dir, found).matrix)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_embedding_batches_run_on_the_cluster(
    cluster: Any,
    database: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = None
    if database == "postgresql":
        url = request.getfixturevalue("pg_wb").settings.database_url
    setting = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
    monkeypatch.setitem(embeddings.BATCH, "tfidf-svd", 100)  # 14 items for the cluster
    remote = Workbench(Settings(data_dir=tmp_path / "remote", database_url=url, executor=setting))
    try:
        remote.create_sample("clickbait", "initial", "cb")
        job = remote.add_embedding("cb", "headline", wait=True)
        assert job["status"] == "done", job
        on_cluster = _vectors(remote, "cb", "headline-tfidf-svd")
        tasks = cluster.scheduler.task_prefixes  # what the workers ran
        assert any(prefix.startswith("encode_batch") for prefix in tasks), list(tasks)
        remote.delete_project("cb")
        local = Workbench(Settings(data_dir=tmp_path / "local", database_url=url))
        try:
            local.create_sample("clickbait", "initial", "cb")
            assert local.add_embedding("cb", "headline", wait=True)["status"] == "done"
            assert np.allclose(on_cluster, _vectors(local, "cb", "headline-tfidf-svd"), atol=1e-5)
        finally:
            local.close()
    finally:
        remote.close()
