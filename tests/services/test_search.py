"""Neural search and outliers over real embeddings of the clickbait sample, on both
databases: results checked against a brute-force computation over the stored vectors."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from assay import NotFound, ValidationError, Workbench
from assay.services import embeddings, projects, search

EMBEDDING = "headline-tfidf-svd"
YOU = {"attribute": "headline", "op": "contains", "value": "you"}


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    job = wb.add_embedding("cb", "headline", wait=True)
    assert job["status"] == "done", job
    return "cb"


def _vectors(wb: Workbench, project: str) -> embeddings.Vectors:
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, project), EMBEDDING)
        return embeddings.load(wb.settings.data_dir, found)


def _brute(
    vectors: embeddings.Vectors, query: np.ndarray, ids: np.ndarray, exclude: int | None
) -> list[tuple[int, float]]:
    """Every record of ``ids`` but ``exclude`` with its score, best first (ties by id)."""
    rows = [vectors.row_of(int(i)) for i in ids if int(i) != exclude]
    scores = np.asarray(vectors.matrix)[rows] @ query
    pairs = [(int(vectors.ids[r]), float(s)) for r, s in zip(rows, scores, strict=True)]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def _record_id(wb: Workbench, project: str, key: str) -> int:
    return int(wb.get_record(project, key)["id"])


def _new_version(wb: Workbench, project: str) -> int:
    """Change a headline: the import reruns the embedding (a job); wait for its version."""
    before = wb.get_embedding(project, EMBEDDING)["last_run"]["version"]
    frame = pd.DataFrame({"running_id": [1], "headline": ["A headline changed by the test"]})
    wb.import_dataframe(frame, project)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = wb.get_embedding(project, EMBEDDING)
        if found["last_run"]["version"] > before and found["state"] == "ready":
            job = wb.get_job(found["job_id"])
            if job["status"] == "done":
                return int(found["last_run"]["version"])
        time.sleep(0.2)
    raise AssertionError(f"no new version of {EMBEDDING}: {wb.get_embedding(project, EMBEDDING)}")


def test_similar_to_a_record_is_the_exact_top(wb: Workbench, project: str) -> None:
    vectors = _vectors(wb, project)
    own = _record_id(wb, project, "running_id=6")
    found = wb.similar(project, record="running_id=6", limit=8)
    assert found["embedding"] == EMBEDDING
    assert found["threshold"] == search.default_threshold("tfidf-svd")
    expected = _brute(vectors, np.asarray(vectors.matrix[vectors.row_of(own)]), vectors.ids, own)
    expected = [p for p in expected if p[1] >= found["threshold"]][:8]
    assert [r["id"] for r in found["records"]] == [i for i, _ in expected]
    assert [r["score"] for r in found["records"]] == pytest.approx([s for _, s in expected], 1e-5)
    assert own not in [r["id"] for r in found["records"]]
    first = found["records"][0]
    assert set(first) == {"id", "key", "position", "score", "data"}
    assert first["data"] == wb.get_record(project, first["id"])["data"]
    # by internal id, the same
    assert wb.similar(project, record=own, limit=8)["records"] == found["records"]


def test_threshold_is_applied_and_changeable(wb: Workbench, project: str) -> None:
    loose = wb.similar(project, record="running_id=6", limit=200, threshold=-1.0)
    assert len(loose["records"]) == 200 and loose["threshold"] == -1.0
    scores = [r["score"] for r in loose["records"]]
    assert scores == sorted(scores, reverse=True)
    strict = wb.similar(project, record="running_id=6", limit=200, threshold=0.9)
    assert strict["records"] == [r for r in loose["records"] if r["score"] >= 0.9]
    for bad in (float("nan"), float("inf")):  # NaN matched nothing and broke the JSON answer
        with pytest.raises(ValidationError, match="threshold must be a finite number"):
            wb.similar(project, record="running_id=6", threshold=bad)


def test_filter_gives_the_full_limit(wb: Workbench, project: str) -> None:
    vectors = _vectors(wb, project)
    own = _record_id(wb, project, "running_id=6")
    where = {"and": [YOU, {"task": "clickbait", "state": "none"}]}
    ids = np.asarray([r["id"] for r in wb.query(project, where, limit=1000)["records"]])
    assert 30 < len(ids) < 1000
    found = wb.similar(project, record=own, where=where, limit=25, threshold=-1.0)["records"]
    assert len(found) == 25  # not what is left of a top 25 after filtering
    expected = _brute(vectors, np.asarray(vectors.matrix[vectors.row_of(own)]), ids, own)[:25]
    assert [r["id"] for r in found] == [i for i, _ in expected]
    # more than match: every match, once
    everything = wb.similar(project, record=own, where=where, limit=1000, threshold=-1.0)
    assert sorted(r["id"] for r in everything["records"]) == sorted(set(ids.tolist()) - {own})


def test_search_through_the_hnsw_index(wb: Workbench, project: str) -> None:
    """Above the size threshold the graph serves, persisted in the version's folder, and a
    selective filter still gets its full limit."""
    wb.settings.exact_search_below = 100
    try:
        vectors = _vectors(wb, project)
        own = _record_id(wb, project, "running_id=6")
        query = np.asarray(vectors.matrix[vectors.row_of(own)])
        found = wb.similar(project, record=own, limit=10, threshold=-1.0)["records"]
        home = embeddings.folder(wb.settings.data_dir, wb.get_embedding(project, EMBEDDING)["id"])
        index = home / f"v{vectors.version}" / search.INDEX_FILE
        assert index.exists()
        exact = _brute(vectors, query, vectors.ids, own)[:10]
        assert len(found) == 10
        overlap = {r["id"] for r in found} & {i for i, _ in exact}
        assert len(overlap) >= 9
        # about 1% of the records: the graph's top k holds few of them; the limit comes anyway
        few = [int(i) for i in vectors.ids[::97]]
        where = {"ids": few}
        filtered = wb.similar(project, record=own, where=where, limit=10, threshold=-1.0)
        assert len(filtered["records"]) == 10
        assert {r["id"] for r in filtered["records"]} <= set(few)
        # an unchanged rerun keeps the version and its index
        assert wb.run_embedding(project, EMBEDDING, wait=True)["status"] == "done"
        assert index.exists()
        # a new version of the vectors gets its own index, the old one goes with its folder
        version = _new_version(wb, project)
        assert not index.exists()
        # built by the embedding job, not left to the first search
        assert (home / f"v{version}" / search.INDEX_FILE).exists()
        assert len(wb.similar(project, record=own, limit=3, threshold=-1.0)["records"]) == 3
    finally:
        wb.settings.exact_search_below = search.EXACT_BELOW


def test_similar_to_a_text(wb: Workbench, project: str) -> None:
    record = wb.get_record(project, "running_id=6")
    found = wb.similar(project, text=record["data"]["headline"], limit=3)["records"]
    assert found[0]["id"] == record["id"]  # a text is no record: nothing is left out
    assert found[0]["score"] == pytest.approx(1.0, abs=1e-4)
    # no word of it is known to TF-IDF: a zero vector finds nothing
    assert wb.similar(project, text="qqqzzz xxyyzz", threshold=-1.0)["records"] == []


def test_similar_errors(wb: Workbench, project: str) -> None:
    with pytest.raises(ValidationError, match="either a record or a text"):
        wb.similar(project)
    with pytest.raises(ValidationError, match="either a record or a text"):
        wb.similar(project, record=1, text="x")
    with pytest.raises(ValidationError, match="limit"):
        wb.similar(project, record=1, limit=0)
    with pytest.raises(NotFound, match="no embedding 'nope'"):
        wb.similar(project, embedding="nope", record=1)
    with pytest.raises(NotFound):
        wb.similar(project, record="running_id=999999")
    with pytest.raises(ValidationError, match="invalid filter"):
        wb.similar(project, record=1, where={"attribute": "nope", "op": "eq", "value": 1})
    wb.create_project("empty")
    with pytest.raises(ValidationError, match="no ready embedding"):
        wb.similar("empty", text="x")


def test_outliers_by_density_then_by_labels(wb: Workbench, project: str) -> None:
    vectors = _vectors(wb, project)
    matrix = np.asarray(vectors.matrix)
    first = wb.outliers(project, EMBEDDING, limit=5)
    assert first["method"] == "density" and len(first["records"]) == 5
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    density = 1.0 - np.sort(similarity, axis=1)[:, -10:].mean(axis=1)
    top = np.lexsort((vectors.ids, -density))[:5]
    assert [r["id"] for r in first["records"]] == vectors.ids[top].tolist()
    assert [r["score"] for r in first["records"]] == pytest.approx(density[top].tolist(), 1e-4)

    labeled = [int(i) for i in vectors.ids[:4]]
    for i in labeled:
        wb.annotate(project, i, "clickbait", "yes", "ann")
    second = wb.outliers(project, EMBEDDING, limit=5)
    assert second["method"] == "labeled"
    rows = [vectors.row_of(i) for i in labeled]
    to_labeled = 1.0 - (matrix @ matrix[rows].T).mean(axis=1)  # all 4 labeled are neighbours
    to_labeled[rows] = -np.inf
    top = np.lexsort((vectors.ids, -to_labeled))[:5]
    assert [r["id"] for r in second["records"]] == vectors.ids[top].tolist()
    assert not {r["id"] for r in second["records"]} & set(labeled)


def test_outlier_slice_is_static_and_refreshed(wb: Workbench, project: str) -> None:
    made = wb.create_outlier_slice(project, EMBEDDING, size=7)
    assert (made["name"], made["kind"], made["records"]) == (
        f"outliers-{EMBEDDING}",
        "static",
        7,
    )
    ranked = [r["id"] for r in wb.outliers(project, EMBEDDING, limit=7)["records"]]
    order = f"slice:{made['name']}"
    inside = wb.query(project, {"slice": made["name"]}, order_by=order, limit=100)["records"]
    assert [r["id"] for r in inside] == ranked  # stored ranked: most unusual first
    wb.annotate(project, ranked[0], "clickbait", "yes", "ann")
    again = wb.create_outlier_slice(project, EMBEDDING, size=3)
    assert again["id"] == made["id"] and again["records"] == 3
    inside = {r["id"] for r in wb.query(project, {"slice": made["name"]}, limit=100)["records"]}
    assert ranked[0] not in inside  # labeled now: the slice follows the labels
    with pytest.raises(ValidationError, match="between 1 and"):
        wb.create_outlier_slice(project, EMBEDDING, size=0)
    wb.delete_slice(project, made["name"])
    wb.create_slice(project, made["name"], {"search": "a"})  # a dynamic one of that name
    with pytest.raises(ValidationError, match="dynamic slice"):
        wb.create_outlier_slice(project, EMBEDDING)


def test_outliers_through_the_index(wb: Workbench, project: str) -> None:
    exact = wb.outliers(project, EMBEDDING, limit=20)["records"]
    wb.settings.exact_search_below = 100
    try:
        # the density scores are kept with the version: force a new version
        version = _new_version(wb, project)
        # The job made them with the graph, so no request waits for them.
        folder = embeddings.folder(wb.settings.data_dir, wb.get_embedding(project, EMBEDDING)["id"])
        made = {p.name for p in (folder / f"v{version}").iterdir()}
        assert {"index.usearch", "outliers-density-10.npy"} <= made
        graph = wb.outliers(project, EMBEDDING, limit=20)["records"]
    finally:
        wb.settings.exact_search_below = search.EXACT_BELOW
    assert len({r["id"] for r in graph} & {r["id"] for r in exact}) >= 17


def test_no_vectors_yet(wb: Workbench) -> None:
    wb.create_sample("clickbait", "initial", "cb2")
    with wb.db.session() as s:
        found = projects.get(s, "cb2")
        embeddings.create(s, found, "headline")
    with pytest.raises(ValidationError, match="no vectors yet"):
        wb.similar("cb2", embedding=EMBEDDING, record="running_id=6")
