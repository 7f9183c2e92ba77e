"""Named splits on a small project of two topics (3:1) with a tfidf-svd embedding: sets of the
asked sizes, stratified on the labels, reproducible with a seed, near-duplicates in one set,
stored on the records (queried with {"set": ...}); a rerun is reused and stores nothing, a new
split replaces the old one; training scores on the "test" set and trains outside it;
refusals store nothing — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import delete, func, select, update

from assay import Workbench
from assay.errors import NotFound, ValidationError
from assay.services import (
    embeddings,
    model_registry,
    projects,
    splits,
    tasks,
    test_splits,
    training,
)
from assay.storage.models import AnalysisRun, Job, RecordSet

SPORT = ("match", "goal", "team", "league", "coach", "player", "score", "season", "striker")
FOOD = ("recipe", "bake", "flour", "sugar", "oven", "dinner", "sauce", "garlic", "pasta")
COUNT, LABELED = 200, 180
TWINS = 10  # records 0..9 repeat the texts (and labels) of records 100..109
SETS = "train=0.7,validation=0.1,test=0.2"


def _topic(n: int) -> str:
    return "food" if n % 4 == 0 else "sport"


def _project(wb: Workbench, *, embedding: bool = True) -> str:
    rng = random.Random(0)
    texts = [" ".join(rng.sample(SPORT if _topic(n) == "sport" else FOOD, 6)) for n in range(COUNT)]
    for n in range(TWINS):
        texts[n] = texts[100 + n].upper()  # the same normalized text: an exact duplicate
    labels = [_topic(100 + n if n < TWINS else n) if n < LABELED else None for n in range(COUNT)]
    frame = pd.DataFrame({"n": range(COUNT), "text": texts, "__topic__MANUAL": labels})
    wb.import_dataframe(frame, "p", primary_key=["n"])
    if embedding:
        job = wb.add_embedding("p", "text", wait=True)
        assert job["status"] == "done", job["error"]
    return "p"


def _split(wb: Workbench, sets: Any = SETS, **options: Any) -> dict[str, Any]:
    job = wb.split("p", sets, wait=True, **options)
    assert job["status"] == "done", job["error"]
    assert job["result"] is not None
    return job["result"]


def _assignment(wb: Workbench) -> dict[int, str]:
    with wb.db.session() as s:
        project = projects.get(s, "p")
        rows = s.execute(select(RecordSet.record_id, RecordSet.name)).all()
        return splits.sets_of(s, project.id, [r for r, _ in rows])


def _key_of(wb: Workbench) -> dict[int, int]:
    """Record id -> n."""
    found = wb.query("p", limit=1000)["records"]
    return {r["id"]: r["data"]["n"] for r in found}


def test_a_split_is_stratified_reproducible_and_keeps_twins_together(wb: Workbench) -> None:
    _project(wb)
    report = _split(wb, seed=3)
    assert report["task"] == "topic" and report["embedding"] == "text-tfidf-svd"
    assert report["records"] == LABELED and report["seed"] == 3
    assert [(s["name"], s["records"]) for s in report["sets"]] == [
        ("train", 126),
        ("validation", 18),
        ("test", 36),
    ]
    food = sum(_topic(100 + n if n < TWINS else n) == "food" for n in range(LABELED))
    for found in report["sets"]:  # each set holds the pool's share of each label
        assert abs(found["labels"]["food"] - food * found["share"]) <= 1
        assert found["labels"]["food"] + found["labels"]["sport"] == found["records"]
    assert [d["name"] for d in report["distances"]] == ["train", "validation", "test"]
    assert report["random_splits"] == 20
    assert all(0 <= d["percentile"] <= 1 and d["mmd"] >= 0 for d in report["distances"])
    assert report["duplicate_groups"] >= TWINS and report["duplicates_across_sets"] == 0

    assigned = _assignment(wb)
    n_of = _key_of(wb)
    by_n = {n_of[r]: name for r, name in assigned.items()}
    assert set(by_n) == set(range(LABELED))  # every labeled record, and only those
    assert all(by_n[n] == by_n[100 + n] for n in range(TWINS))
    test = wb.query("p", {"set": "test"}, limit=1000)
    assert test["total"] == 36
    assert {r["data"]["n"] for r in test["records"]} == {n for n, s in by_n.items() if s == "test"}
    assert wb.query("p", {"not": {"set": "test"}})["total"] == COUNT - 36
    assert wb.split_report("p") == {**report, "run": {**report["run"], "reused": False}}

    # The same seed computed afresh gives the same sets; another seed other ones.
    with wb.db.session() as s:
        s.execute(delete(AnalysisRun))
    assert not _split(wb, seed=3)["run"]["reused"]
    assert _assignment(wb) == assigned
    _split(wb, seed=4)
    assert _assignment(wb) != assigned


def test_a_rerun_is_reused_and_a_new_split_replaces_the_old(wb: Workbench) -> None:
    _project(wb)
    first = _split(wb)
    assigned = _assignment(wb)
    some = next(iter(assigned))
    with wb.db.session() as s:  # a mark that a rerun which stored the sets again would undo
        s.execute(update(RecordSet).where(RecordSet.record_id == some).values(name="marked"))
    again = _split(wb, {"train": 0.7, "validation": 0.1, "test": 0.2})
    assert again["run"]["reused"] and again["run"]["id"] == first["run"]["id"]
    assert _assignment(wb)[some] == "marked"

    other = _split(wb, "train=100,test=80")
    assert not other["run"]["reused"]
    assert set(_assignment(wb).values()) == {"train", "test"}
    assert wb.split_report("p")["run"]["id"] == other["run"]["id"]
    # Back to the first split: reused, and its sets are the records' again.
    back = _split(wb)
    assert back["run"]["reused"] and back["run"]["id"] == first["run"]["id"]
    assert _assignment(wb) == assigned
    assert wb.split_report("p")["run"]["id"] == first["run"]["id"]


class _Killed(Exception):
    pass


def test_an_interrupted_split_resumes_from_its_assignment(wb: Workbench) -> None:
    _project(wb)

    def dies_after_the_assignment(_done: float, message: str) -> None:
        if message == "assignment 1/1":
            raise _Killed

    with pytest.raises(_Killed):
        splits.run(
            wb.db, "p", sets=SETS, data_dir=wb.settings.data_dir, progress=dies_after_the_assignment
        )
    assert _assignment(wb) == {}  # nothing stored on the records yet
    resumed = splits.run(wb.db, "p", sets=SETS, data_dir=wb.settings.data_dir)
    assert resumed["run"]["resumed_chunks"] == 1 and not resumed["run"]["reused"]
    assigned = _assignment(wb)
    with wb.db.session() as s:
        s.execute(delete(AnalysisRun))
    fresh = _split(wb)
    assert fresh["run"]["resumed_chunks"] == 0 and _assignment(wb) == assigned
    assert fresh["sets"] == resumed["sets"] and fresh["distances"] == resumed["distances"]


def _examples(wb: Workbench) -> training.Examples:
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "p"), "topic")
        return training.gather(s, task, model_registry.state(s, task), None)


def test_training_scores_on_the_test_set_and_trains_outside_it(wb: Workbench) -> None:
    _project(wb, embedding=False)
    report = _split(wb, "train=0.8,test=0.2")
    assert report["embedding"] is None and report["distances"] == []
    assigned = _assignment(wb)
    in_test = sorted(r for r, name in assigned.items() if name == "test")
    job = wb.train_model("p", "topic", algorithm="tfidf-logreg", wait=True)
    assert job["status"] == "done", job["error"]
    [version] = wb.list_models("p", "topic")
    assert version["test"]["records"] == len(in_test) == 36
    assert version["test"]["fingerprint"] == test_splits.fingerprint(in_test)
    assert version["training"]["records"] == LABELED - 36
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "p"), "topic")
        assert test_splits.test_ids(s, task.id) == in_test
        assert not set(test_splits.train_ids(s, task.id)) & set(in_test)
        # Weak labels of a record are held out by its set, not by the hash rule.
        held = test_splits.would_be_test(s, model_registry.state(s, task), sorted(assigned))
        assert held == set(in_test)

    # Records labeled after the split have no set: they join by the hash rule.
    n_of = {n: r for r, n in _key_of(wb).items()}
    for n in range(LABELED, COUNT):
        wb.annotate("p", f"n={n}", "topic", _topic(n), "ann")
    examples = _examples(wb)
    assert set(in_test) <= set(examples.test)
    later = {n_of[n] for n in range(LABELED, COUNT)}
    assert set(examples.test) - set(in_test) <= later
    assert not set(examples.train) & set(examples.test)
    assert set(examples.train) | set(examples.test) == set(assigned) | later


def test_refusals_store_nothing(wb: Workbench) -> None:
    _project(wb, embedding=False)
    with pytest.raises(NotFound, match="no split yet: run assay split"):
        wb.split_report("p")
    with pytest.raises(NotFound, match=r"no split set 'test' \(no split yet"):
        wb.query("p", {"set": "test"})
    with pytest.raises(ValidationError, match=r"add up to 0\.9"):
        wb.split("p", "train=0.8,test=0.1")
    with pytest.raises(ValidationError, match="ask for 250 records"):
        wb.split("p", "train=200,test=50")
    with pytest.raises(ValidationError, match="sets"):
        wb.split("p", "train=0.8,train=0.2")
    with pytest.raises(NotFound):
        wb.split("p", SETS, task="nope")
    with pytest.raises(NotFound):
        wb.split("p", SETS, embedding="nope")
    with wb.db.session() as s:  # an embedding that has never run
        embeddings.create(s, projects.get(s, "p"), "text")
    with pytest.raises(ValidationError, match="no vectors yet"):
        wb.split("p", SETS, embedding="text-tfidf-svd")
    wb.add_task("p", "spans", "extraction", attribute="text", labels=["thing"])
    with pytest.raises(ValidationError, match="extraction"):
        wb.split("p", SETS, task="spans")
    wb.add_task("p", "mood", "classification", labels=["up", "down"])
    with pytest.raises(ValidationError, match="several tasks") as refused:
        wb.split("p", SETS)
    assert "topic" in refused.value.message and "mood" in refused.value.message
    with pytest.raises(ValidationError, match="no records with a manual label"):
        wb.split("p", SETS, task="mood")
    with wb.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AnalysisRun)) == 0
        assert s.scalar(select(func.count()).select_from(RecordSet)) == 0
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "split")) == 0


def test_a_multi_label_task_splits_on_its_label_matrix(wb: Workbench) -> None:
    combos = [["a"], ["a", "b"], ["b"], ["c"], ["a", "c"], ["b", "c"]]
    tags = [combos[n % len(combos)] for n in range(120)]
    frame = pd.DataFrame(
        {"n": range(120), "text": [f"record {n}" for n in range(120)], "__tags__MANUAL": tags}
    )
    wb.import_dataframe(frame, "p", primary_key=["n"])
    report = _split(wb, "train=0.5,test=0.5")
    assert report["task"] == "tags" and report["embedding"] is None
    for found in report["sets"]:
        assert found["records"] == 60
        for label in ("a", "b", "c"):  # 60 of the 120 records carry each label
            assert abs(found["labels"][label] - 30) <= 2
