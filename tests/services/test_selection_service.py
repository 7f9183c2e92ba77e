"""What to label next (services/selection.py) on a small project of three topics, on SQLite
and PostgreSQL: every strategy picks into a static slice in its order, checked against the
selectors run on the stored vectors and labels; bad input is refused before anything is
stored; a rerun on unchanged inputs is the stored run (its slice made again if deleted)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import Workbench
from assay.algorithms import selection as selectors
from assay.errors import AssayError, Conflict, NotFound, ValidationError
from assay.services import embeddings, model_inputs, model_registry, projects, selection, tasks
from assay.storage.models import AnalysisRun, Annotation, DataSlice, Heuristic, Job, RunChunk

PROJECT = "topics"
EMBEDDING = "text-tfidf-svd"
RECORDS = 240
LABELED = 30  # the first records carry a manual label of task "topic"
TOPICS = {
    "fruit": "apple banana cherry grape lemon mango orange peach pear plum",
    "travel": "car truck bus train plane boat bike scooter tram ship",
    "colour": "red green blue yellow purple pink brown black white grey",
}
WORDS = {topic: words.split(" ") for topic, words in TOPICS.items()}
UNLABELED = {"task": "topic", "state": "none"}
SIZE = 15  # hybrid clusters the 10 x SIZE most uncertain of the 210 unlabeled


def _frame(records: int = RECORDS, seed: int = 0) -> pd.DataFrame:
    """Texts of three topics; manual labels on the first ones; a weak label with a
    confidence on every record."""
    rng = random.Random(seed)
    topics = [rng.choice(sorted(WORDS)) for _ in range(records)]
    return pd.DataFrame(
        {
            "id": range(records),
            "text": [" ".join(rng.choice(WORDS[t]) for _ in range(8)) for t in topics],
            "__topic__MANUAL": [t if i < LABELED else None for i, t in enumerate(topics)],
            "__topic__WEAK_SUPERVISION": topics,
            "__topic__WEAK_SUPERVISION__confidence": [
                round(rng.uniform(0.34, 1.0), 4) for _ in topics
            ],
        }
    )


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.import_dataframe(_frame(), PROJECT, primary_key=["id"])
    job = wb.add_embedding(PROJECT, "text", wait=True)
    assert job["status"] == "done", job
    return PROJECT


def _select(wb: Workbench, **options: Any) -> dict[str, Any]:
    job = wb.select(PROJECT, wait=True, **options)
    assert job["status"] == "done", job["error"]
    assert job["result"] is not None
    return job["result"]


def _ids(wb: Workbench, where: Any = None, **params: Any) -> list[int]:
    found = wb.query(PROJECT, where, limit=1000, **params)
    return [int(r["id"]) for r in found["records"]]


def _slice_ids(wb: Workbench, name: str) -> list[int]:
    return _ids(wb, {"slice": name}, order_by=f"slice:{name}")


def _vectors(wb: Workbench) -> embeddings.Vectors:
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, PROJECT), EMBEDDING)
        return embeddings.load(wb.settings.data_dir, found)


def _confidences(wb: Workbench) -> dict[int, float]:
    """Each record's weak-supervision confidence, by record id."""
    frame = _frame()
    by_key = dict(zip(frame["id"], frame["__topic__WEAK_SUPERVISION__confidence"], strict=True))
    found = wb.query(PROJECT, None, limit=1000)["records"]
    return {int(r["id"]): float(by_key[r["data"]["id"]]) for r in found}


def _stored(wb: Workbench) -> tuple[int, int, int]:
    """Selection runs, slices and selection jobs stored."""
    with wb.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(AnalysisRun)) or 0,
            s.scalar(select(func.count()).select_from(DataSlice)) or 0,
            s.scalar(select(func.count()).select_from(Job).where(Job.kind == "selection")) or 0,
        )


def test_every_strategy_picks_into_a_slice_in_its_order(wb: Workbench, project: str) -> None:
    labeled = set(_ids(wb, {"task": "topic", "state": "labeled"}))
    pool = _ids(wb, UNLABELED)
    assert len(labeled) == LABELED and len(pool) == RECORDS - LABELED
    confidence = _confidences(wb)
    vectors = _vectors(wb)
    for strategy in ("random", "coreset", "typical", "cluster", "uncertainty", "hybrid", "auto"):
        result = _select(wb, strategy=strategy, size=SIZE, where=UNLABELED, seed=3)
        picks = _slice_ids(wb, result["slice"])
        assert result["slice"] == f"selection-{result['run']['id']}", strategy
        assert result["strategy"] == strategy and result["size"] == SIZE == len(picks)
        assert result["pool"] == len(pool) and set(picks) <= set(pool), strategy
        assert len(set(picks)) == SIZE
        assert [r["id"] for r in result["records"]] == picks, strategy  # all shown
        first = result["records"][0]
        assert first["key"] is not None and first["position"] is None  # a keyed project
        assert first["data"] == wb.get_record(PROJECT, first["id"])["data"]
        assert result["run"]["status"] == "done" and not result["run"]["reused"]
        assert result["run"]["params"]["strategy"] == strategy
        scores = [r["score"] for r in result["records"]]
        if strategy == "random":
            rows, _ = selectors.random_rows(len(pool), SIZE, seed=3)
            assert picks == [pool[r] for r in rows]
        if strategy in ("coreset", "typical", "cluster", "hybrid", "auto"):
            assert result["embedding"] == EMBEDDING, strategy
        if strategy == "coreset":  # the labeled records are centres: the selector on the
            # stored vectors of the pool and the labeled records gives the same picks
            every = np.asarray(sorted(set(pool) | labeled))
            rows = np.searchsorted(vectors.ids, every)
            centres = np.searchsorted(every, sorted(labeled))
            expected, expected_scores = selectors.k_center(
                np.asarray(vectors.matrix[rows]), SIZE, centres=centres, seed=3
            )
            assert picks == every[expected].tolist()
            assert scores == pytest.approx(expected_scores.tolist(), abs=1e-5)
            assert scores == sorted(scores, reverse=True)
        if strategy == "uncertainty":  # the least confident weak labels, least first
            assert result["task"] == "topic"  # the project's only classification task
            worst = max(confidence[i] for i in picks)
            assert all(confidence[i] >= worst for i in set(pool) - set(picks))
            assert [confidence[i] for i in picks] == sorted(confidence[i] for i in picks)
            assert scores == sorted(scores, reverse=True)
        if strategy == "hybrid":  # among the ten times as many least confident
            cut = sorted(confidence[i] for i in pool)[SIZE * 10 - 1]
            assert all(confidence[i] <= cut for i in picks)
        if strategy == "auto":
            used, reason = selectors.auto_strategy(LABELED, 3, True)
            assert (result["used"], result["reason"]) == (used, reason)
        else:
            assert result["used"] == strategy and result["reason"] == ""


def test_session_named_slice_and_pool_of_a_slice(wb: Workbench, project: str) -> None:
    wb.create_slice(PROJECT, "first-half", where={"attribute": "id", "op": "lt", "value": 120})
    result = _select(wb, strategy="random", size=10, slice="first-half", name="next batch")
    assert result["slice"] == "next batch"
    assert result["session"] == {
        "slice": "next batch",
        "where": {"slice": "next batch"},
        "order_by": "slice:next batch",
        "path": "/projects/topics/labeling?slice=next%20batch&order=slice%3Anext%20batch",
    }
    assert result["pool"] == 120
    assert set(_slice_ids(wb, "next batch")) <= set(_ids(wb, {"slice": "first-half"}))
    # the same name again: the selection's own slice holds the new picks
    again = _select(wb, strategy="random", size=5, slice="first-half", name="next batch", seed=1)
    assert again["run"]["id"] != result["run"]["id"]
    assert _slice_ids(wb, "next batch") == [r["id"] for r in again["records"]]
    # a slice no selection made is not overwritten
    before = _stored(wb)
    with pytest.raises(Conflict, match="first-half"):
        wb.select(PROJECT, strategy="random", size=5, name="first-half")
    assert _stored(wb) == before


def test_bad_input_is_refused_and_nothing_stored(wb: Workbench, project: str) -> None:
    wb.create_slice(PROJECT, "mine", where={"attribute": "id", "op": "lt", "value": 10})
    with wb.db.session() as s:
        embeddings.create(s, projects.get(s, PROJECT), "text", reducer="pca-8", name="queued")
    wb.add_task(PROJECT, "spans", "extraction", attribute="text")
    before = _stored(wb)
    refusals: list[tuple[type[AssayError], str, dict[str, Any]]] = [
        (ValidationError, "unknown selection strategy 'best'", {"strategy": "best"}),
        (ValidationError, "unknown uncertainty measure", {"measure": "doubt"}),
        (ValidationError, "unknown uncertainty source", {"source": "oracle"}),
        (ValidationError, "at least 1 record", {"size": 0}),
        (ValidationError, "the pool holds 240 records", {"strategy": "random", "size": 241}),
        (
            ValidationError,
            "the pool holds 210 records with a vector in embedding 'text-tfidf-svd' and no "
            "manual label",
            {"strategy": "coreset", "size": 211},
        ),
        (ValidationError, "the pool holds 10 records", {"slice": "mine", "size": 11}),
        (NotFound, "slice 'nothing'", {"slice": "nothing"}),
        (ValidationError, "unknown", {"where": {"attribute": "id", "op": "near", "value": 1}}),
        (
            ValidationError,
            "invalid filter at \\$: unknown attribute 'nope'",
            {"where": {"attribute": "nope", "op": "eq", "value": 1}},
        ),
        (NotFound, "embedding 'gone'", {"strategy": "coreset", "embedding": "gone"}),
        (ValidationError, "no vectors yet", {"strategy": "cluster", "embedding": "queued"}),
        (ValidationError, "no live model", {"strategy": "uncertainty", "source": "model"}),
        (NotFound, "heuristic 'nobody'", {"strategy": "hybrid", "heuristic": "nobody"}),
        (ValidationError, "extraction task", {"strategy": "uncertainty", "task": "spans"}),
        (NotFound, "task 'gone'", {"strategy": "uncertainty", "task": "gone"}),
        (Conflict, "slice 'mine' that no selection made", {"name": "mine"}),
    ]
    for error, message, options in refusals:
        options = {"strategy": "random", "size": 5, **options}
        with pytest.raises(error, match=message):
            wb.select(PROJECT, **options)
        assert _stored(wb) == before, options
    # several classification tasks: an uncertainty needs the task named
    wb.add_task(PROJECT, "other", "classification", labels=["x", "y"])
    with pytest.raises(ValidationError, match="name the task \\(one of 'topic', 'other'\\)"):
        wb.select(PROJECT, strategy="uncertainty", size=5)
    with pytest.raises(ValidationError, match="neither a live model nor weak-supervision"):
        wb.select(PROJECT, strategy="uncertainty", size=5, task="other")
    assert _stored(wb) == before


def test_rerun_on_unchanged_inputs_is_the_stored_run(wb: Workbench, project: str) -> None:
    first = _select(wb, strategy="coreset", size=12, name="diverse")
    picks = _slice_ids(wb, "diverse")
    assert first["run"]["chunks"] >= 1  # the k-center state, stored
    with wb.db.session() as s:
        chunks = s.scalar(select(func.count()).select_from(RunChunk))
    again = _select(wb, strategy="coreset", size=12, name="diverse")
    assert again["run"]["reused"] and again["run"]["resumed_chunks"] == 0
    assert again["run"]["id"] == first["run"]["id"]
    assert {k: v for k, v in again.items() if k != "run"} == {
        k: v for k, v in first.items() if k != "run"
    }
    wb.delete_slice(PROJECT, "diverse")
    third = _select(wb, strategy="coreset", size=12, name="diverse")
    assert third["run"]["reused"] and _slice_ids(wb, "diverse") == picks  # made again
    with wb.db.session() as s:
        assert s.scalar(select(func.count()).select_from(RunChunk)) == chunks  # none added
    # another label: the centres changed, a new run picks around them
    wb.annotate(PROJECT, f"id={_frame()['id'][200]}", "topic", "fruit", "tester")
    fourth = _select(wb, strategy="coreset", size=12, name="diverse")
    assert not fourth["run"]["reused"] and fourth["run"]["id"] != first["run"]["id"]
    assert _slice_ids(wb, "diverse") == [r["id"] for r in fourth["records"]]
    # random reads no labels: the same run
    assert _select(wb, strategy="random", size=12)["run"]["reused"] is False
    assert _select(wb, strategy="random", size=12)["run"]["reused"] is True


def test_uncertainty_from_the_live_model_in_stored_chunks(
    wb: Workbench, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = wb.train_model(PROJECT, "topic", algorithm="tfidf-logreg", wait=True)
    assert job["status"] == "done", job["error"]
    monkeypatch.setattr(selection, "PROBABILITY_CHUNK", 64)
    result = _select(wb, strategy="uncertainty", size=20, where=UNLABELED, measure="entropy")
    assert result["run"]["params"]["source"] == "model"
    assert result["run"]["chunks"] == -(-(RECORDS - LABELED) // 64)  # one per 64 records
    pool = _ids(wb, UNLABELED)
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, PROJECT), "topic")
        live = model_registry.live(s, task)
        assert live is not None
        classifier = model_registry.load(s, live)
        texts = model_inputs.texts_of(s, task, pool)
    proba = classifier.predict_proba(texts=texts)
    entropy = -(proba * np.log(np.maximum(proba, 1e-12))).sum(axis=1) / np.log(proba.shape[1])
    by_id = dict(zip(pool, entropy.tolist(), strict=True))
    picks = _slice_ids(wb, result["slice"])
    assert [r["score"] for r in result["records"]] == pytest.approx(
        [by_id[i] for i in picks], abs=1e-4
    )
    lowest = min(by_id[i] for i in picks)
    assert all(by_id[i] <= lowest + 1e-5 for i in set(pool) - set(picks))


def test_uncertainty_from_an_active_learners_votes(wb: Workbench, project: str) -> None:
    name = wb.add_active_learner(PROJECT, "topic", embedding=EMBEDDING)["name"]
    with pytest.raises(ValidationError, match="no votes with a confidence"):
        wb.select(PROJECT, strategy="uncertainty", size=5, heuristic=name)  # not run yet
    job = wb.run_heuristics(PROJECT, [name], wait=True)
    assert job["status"] == "done", job["error"]
    result = _select(
        wb, strategy="uncertainty", size=SIZE, heuristic=name, measure="least_confidence"
    )
    assert result["run"]["params"]["source"] == "heuristic"
    with wb.db.session() as s:
        heuristic_id = s.scalar(select(Heuristic.id).where(Heuristic.name == name))
        voted = dict(
            s.execute(
                select(Annotation.record_id, Annotation.confidence).where(
                    Annotation.source == "heuristic", Annotation.source_id == str(heuristic_id)
                )
            ).all()
        )
    assert 0 < len(voted) < RECORDS
    # a record without a vote is as uncertain as can be: one in three for each label
    confidence = {i: voted.get(i, 1 / 3) for i in _ids(wb)}
    picks = _slice_ids(wb, result["slice"])
    assert [r["score"] for r in result["records"]] == pytest.approx(
        [1 - confidence[i] for i in picks], abs=1e-5
    )
    assert all(
        confidence[i] >= max(confidence[p] for p in picks) for i in confidence.keys() - picks
    )
