"""Training models of a task as a job, on the sample project's headlines: the first version goes
live with its metrics, a better one replaces it, an equal one or one better only by noise
does not (and says why); what is refused before anything is stored; one training per task;
the test split never trained on (weak labels included); rejected labels never train — on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import Workbench
from assay.errors import Conflict, JobCancelled, ValidationError
from assay.services import (
    annotating,
    model_inputs,
    model_registry,
    projects,
    records,
    samples,
    tasks,
    test_splits,
    training,
)
from assay.storage.models import (
    Job,
    ModelTask,
    ModelVersion,
    Prediction,
    Record,
    SplitRecord,
    utcnow,
)

DATA = samples.data("clickbait")
GOLD = samples.gold("clickbait")


def _gold(n: int) -> list[str | None]:
    return [answer["clickbait"] for answer in GOLD[:n]]


def _import(wb: Workbench, labels: list[str | None], **columns: list[Any]) -> None:
    """The sample's 1,400 headlines as project ``clickbait``, the first records labeled by
    hand with ``labels`` for the whole-record task ``clickbait`` (labels ``yes``, ``no``),
    through a label column as imports take them (more ``columns`` by name). Importing again
    updates the records and replaces the labels."""
    frame = pd.DataFrame(
        {
            "running_id": [row["running_id"] for row in DATA],
            "headline": [row["headline"] for row in DATA],
            "__clickbait__MANUAL": labels + [None] * (len(DATA) - len(labels)),
            **columns,
        }
    )
    wb.import_dataframe(frame, "clickbait", primary_key=["running_id"])
    with wb.db.session() as s:  # one split in every run: the figures below depend on it
        task = tasks.get(s, projects.get(s, "clickbait"), "clickbait")
        model_registry.state(s, task).split_salt = "a fixed salt for the tests"


def _train(wb: Workbench, **options: Any) -> dict[str, Any]:
    job = wb.train_model("clickbait", "clickbait", wait=True, **options)
    assert job["status"] == "done", job["error"]
    assert job["result"] is not None
    return job["result"]


def _stored(wb: Workbench) -> tuple[int, int, int]:
    with wb.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(ModelVersion)) or 0,
            s.scalar(select(func.count()).select_from(SplitRecord)) or 0,
            s.scalar(select(func.count()).select_from(Job).where(Job.kind == "training")) or 0,
        )


def _examples(wb: Workbench, with_weak: float | None = None) -> training.Examples:
    """The training and test records a training would read now (the split is drawn)."""
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "clickbait"), "clickbait")
        return training.gather(s, task, model_registry.state(s, task), with_weak)


def test_the_first_version_goes_live_with_its_metrics(wb: Workbench) -> None:
    _import(wb, _gold(300))
    result = _train(wb, algorithm="tfidf-logreg")
    assert result["version"] == 1 and result["promoted"] and result["live_version"] == 1
    assert result["reason"] == "first model"
    [version] = wb.list_models("clickbait", "clickbait")
    assert version["status"] == "live" and version["algorithm"] == "tfidf-logreg"
    metrics = version["metrics"]
    assert metrics["test_records"] == version["test"]["records"] >= 50
    assert version["training"]["records"] + version["test"]["records"] == 300
    assert version["training"]["manual"] == version["training"]["records"]
    assert metrics["accuracy"] > 0.7 and set(metrics["per_label"]) == {"yes", "no"}
    low, high = metrics["accuracy_interval"]
    assert low <= metrics["accuracy"] <= high
    assert version["size_bytes"] > 0 and len(version["sha256"]) == 64
    assert version["decision"] is not None and version["decision"]["promoted"]
    overview = wb.models_overview("clickbait", "clickbait")
    assert overview["live_version"] == 1
    assert [(e["version"], e["action"]) for e in overview["history"]] == [(1, "auto")]

    # What it trained on is exactly the labeled records outside the split: no overlap.
    examples = _examples(wb)
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "clickbait"), "clickbait")
        test = set(test_splits.test_ids(s, task.id))
    assert not set(examples.train) & test and set(examples.test) == test
    assert version["test"]["fingerprint"] == test_splits.fingerprint(test)
    trained = dict(zip(examples.train, examples.train_values, strict=True))
    assert version["training"]["fingerprint"] == test_splits.fingerprint(examples.train, trained)


def test_a_better_model_replaces_the_live_one(wb: Workbench) -> None:
    _import(wb, _gold(16))
    assert _train(wb, algorithm="tfidf-logreg")["version"] == 1
    _import(wb, _gold(900))
    result = _train(wb, algorithm="tfidf-logreg")
    assert result["version"] == 2 and result["promoted"], result["reason"]
    second = wb.get_model("clickbait", "clickbait", 2)
    decision = second["decision"]
    assert decision is not None and decision["live_version"] == 1
    assert decision["p_value"] is not None and decision["p_value"] < 0.05
    assert decision["candidate"] is not None and decision["live"] is not None
    assert decision["candidate"] > decision["live"]
    statuses = {v["version"]: v["status"] for v in wb.list_models("clickbait", "clickbait")}
    assert statuses == {1: "retired", 2: "live"}


def test_an_equal_model_or_one_better_by_noise_stays_a_candidate(wb: Workbench) -> None:
    _import(wb, _gold(400))
    _train(wb, algorithm="tfidf-logreg")
    same = _train(wb, algorithm="tfidf-logreg")  # same data, same algorithm
    assert same["version"] == 2 and not same["promoted"]
    assert same["reason"] and same["live_version"] == 1
    _import(wb, _gold(404))  # four more labels: at most noise
    noise = _train(wb, algorithm="tfidf-logreg")
    assert noise["version"] == 3 and not noise["promoted"] and noise["live_version"] == 1
    versions = {v["version"]: v for v in wb.list_models("clickbait", "clickbait")}
    assert [versions[n]["status"] for n in (1, 2, 3)] == ["live", "candidate", "candidate"]
    for n in (2, 3):
        decision = versions[n]["decision"]
        assert decision is not None and not decision["promoted"]
        assert decision["reason"] == versions[n]["decision"]["reason"] != ""  # type: ignore[index]
        assert decision["live_version"] == 1


def test_what_cannot_train_is_refused_and_nothing_is_stored(wb: Workbench) -> None:
    _import(wb, ["yes"] * 30)  # one class
    wb.add_task("clickbait", "entities", "extraction", "headline", ["country"])
    with pytest.raises(ValidationError, match="at least two"):
        wb.train_model("clickbait", "clickbait", wait=True)
    with pytest.raises(ValidationError, match="unknown algorithm"):
        wb.train_model("clickbait", "clickbait", algorithm="forest", wait=True)
    with pytest.raises(ValidationError, match="extraction comes later"):
        wb.train_model("clickbait", "entities", wait=True)
    with pytest.raises(ValidationError, match="with_weak"):
        wb.train_model("clickbait", "clickbait", with_weak=1.5, wait=True)
    with pytest.raises(ValidationError, match="embedding"):
        wb.train_model("clickbait", "clickbait", algorithm="embedding-logreg", wait=True)
    assert _stored(wb) == (0, 0, 0)
    with wb.db.session() as s:  # the loop's row as the test made it: nothing counted
        state = s.scalars(select(ModelTask)).one()
        assert not state.split_drawn and state.labels_at_training == 0

    # Two classes but too few records for a test split: the job fails, saying so, and the
    # split it would have drawn is not kept.
    _import(wb, ["yes", "yes", "yes", "no", "no"])  # two classes, five records
    job = wb.train_model("clickbait", "clickbait", wait=True)
    assert job["status"] == "failed" and "label more records" in (job["error"] or "")
    assert _stored(wb)[:2] == (0, 0)


def test_one_training_per_task_at_a_time(wb: Workbench) -> None:
    _import(wb, _gold(60))
    with wb.db.session() as s:  # a training queued (not yet run) by someone else
        project = projects.get(s, "clickbait")
        queued = training.queue(
            s, project, "clickbait", algorithm="tfidf-nb", with_weak=None, embedding=None
        )
    with pytest.raises(Conflict, match=f"job {queued}") as refused:
        wb.train_model("clickbait", "clickbait", wait=True)
    assert refused.value.detail["job"] == queued
    wb.cancel_job(queued)
    result = _train(wb, algorithm="tfidf-nb")
    assert result["version"] == 1


def test_rejected_labels_never_train(wb: Workbench) -> None:
    _import(wb, _gold(100))
    _train(wb, algorithm="tfidf-nb")
    before = _examples(wb)
    record_id, label = before.train[0], before.train_values[0]
    with wb.db.session() as s:
        version = s.scalars(select(ModelVersion)).one()
        s.add(
            Prediction(
                id="f" * 32,
                project_id=version.project_id,
                task_id=version.task_id,
                version_id=version.id,
                version=1,
                record_id=record_id,
                text="",
                output=label,
                confidence=0.9,
                scores={label: 0.9},
                status="rejected",
                reviewer="rev",
                reviewed_at=utcnow(),
            )
        )
    after = _examples(wb)
    assert record_id not in after.train
    assert after.train == [r for r in before.train if r != record_id]
    assert after.test == before.test  # the reference label still scores the model


def test_weak_labels_train_above_the_threshold_outside_the_split(wb: Workbench) -> None:
    # Records 100-499 carry weakly supervised labels (as an import of them writes them),
    # every other one confident enough.
    weak = [None] * 100 + _gold(500)[100:] + [None] * (len(DATA) - 500)
    confidence = [None if w is None else (0.95 if i % 2 else 0.6) for i, w in enumerate(weak)]
    _import(
        wb,
        _gold(100),
        __clickbait__WEAK_SUPERVISION=weak,
        __clickbait__WEAK_SUPERVISION__confidence=confidence,
    )
    result = _train(wb, algorithm="tfidf-logreg", with_weak=0.8)
    with wb.db.session() as s:
        project = projects.get(s, "clickbait")
        task = tasks.get(s, project, "clickbait")
        confident = [
            records.resolve(s, project, f"running_id={i}").id
            for i, c in enumerate(confidence)
            if c is not None and c >= 0.8
        ]
        held_out = test_splits.would_be_test(s, model_registry.state(s, task), confident)
    assert len(confident) == 200 and 0 < len(held_out) < 100
    version = wb.get_model("clickbait", "clickbait", result["version"])
    assert version["training"]["weak"] == len(confident) - len(held_out)
    assert version["training"]["with_weak"] == 0.8
    examples = _examples(wb, with_weak=0.8)
    assert set(examples.train[examples.manual :]) == set(confident) - held_out
    assert not set(examples.train) & set(examples.test)
    # Labeling a held-out record later puts it in the test split, as the rule said.
    some = sorted(held_out)[0]
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "clickbait"), "clickbait")
        record = s.get(Record, some)
        assert record is not None
        annotating.add(s, record, task, "yes", "ann")
    assert some in _examples(wb).test


def test_an_embedding_model_reads_the_embedding(wb: Workbench) -> None:
    _import(wb, _gold(200))
    embedded = wb.add_embedding("clickbait", "headline", embedder="tfidf-svd", wait=True)
    assert embedded["status"] == "done", embedded["error"]
    result = _train(wb, algorithm="embedding-logreg")
    version = wb.get_model("clickbait", "clickbait", result["version"])
    assert version["algorithm"] == "embedding-logreg"
    assert version["parameters"]["embedding"] == embedded["result"]["embedding"]["name"]
    assert version["metrics"]["accuracy"] > 0.7
    # Free texts are embedded by the embedding's embedder; records' stored vectors are read:
    # for the same texts, the two give the model the same input.
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "clickbait"), "clickbait")
        classifier = model_registry.load(s, model_registry.get(s, task, result["version"]))
        ids = test_splits.test_ids(s, task.id)[:20]
        texts = model_inputs.texts_of(s, task, ids)
        data_dir = wb.settings.data_dir
        free = model_inputs.probabilities(s, classifier, texts, data_dir=data_dir)
        stored = model_inputs.probabilities(s, classifier, texts, data_dir=data_dir, record_ids=ids)
    assert free.shape == (20, 2)
    assert np.allclose(free, stored, atol=1e-4)


def test_a_multi_label_task_trains_with_auto(wb: Workbench) -> None:
    """One-vs-rest over the labels; ``auto`` says what each candidate scored in
    cross-validation on the training records; the split is stratified on each record's
    rarest label."""
    words = {"sport": "goal match team", "money": "bank market loan", "food": "soup bread"}
    tags = [["sport"], ["money"], ["sport", "money"], ["food"], ["food", "money"]] * 16
    frame = pd.DataFrame(
        {
            "rid": range(len(tags)),
            "headline": [" ".join(words[t] for t in ts) + f" {i}" for i, ts in enumerate(tags)],
            "__tags__MANUAL": tags,
        }
    )
    wb.import_dataframe(frame, "m", primary_key=["rid"])
    job = wb.train_model("m", "tags", wait=True)
    assert job["status"] == "done", job["error"]
    version = wb.get_model("m", "tags", 1)
    assert version["requested"] == "auto" and version["status"] == "live"
    assert version["algorithm"] in version["training"]["cross_validation"]
    assert set(version["training"]["cross_validation"]) == {"tfidf-logreg", "tfidf-nb"}
    assert version["metrics"]["confusion"] is None
    assert set(version["metrics"]["per_label"]) == {"sport", "money", "food"}
    assert version["metrics"]["micro_f1"] > 0.9
    # Stratified on each record's rarest label (sport 32 times, food 32, money 48): strata
    # sport (sport; sport+money: 32 records), food (food; food+money: 32) and money (16)
    # give round(20 %) each: 6 + 6 + 3.
    assert version["test"]["records"] == 15


def test_a_cancelled_or_failed_training_changes_nothing(wb: Workbench) -> None:
    _import(wb, _gold(200))
    _train(wb, algorithm="tfidf-nb")
    before = wb.models_overview("clickbait", "clickbait")

    def cancel_before_storing(_done: float, message: str = "") -> None:
        if message.startswith("storing"):
            raise JobCancelled("cancelled")

    with pytest.raises(JobCancelled):
        training.run(
            wb.db,
            "clickbait",
            "clickbait",
            algorithm="tfidf-logreg",
            data_dir=wb.settings.data_dir,
            progress=cancel_before_storing,
        )
    assert wb.models_overview("clickbait", "clickbait") == before
