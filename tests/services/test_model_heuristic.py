"""The model heuristic: the task's live model votes like any heuristic (with the version
live at the run), is measured on the task's test split only, follows a promotion, and
feeds weak supervision; without a live model it says what to do. On both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from assay import ValidationError, Workbench
from assay.runtime.sandbox import Limits
from assay.services import (
    heuristic_runs,
    model_inputs,
    model_registry,
    projects,
    records,
    samples,
    tasks,
)
from assay.services import test_splits as split_service
from assay.services.heuristic_kinds import HeuristicNotRunnable
from assay.storage.models import Annotation
from assay.storage.models import Record as RecordRow

TASK = "clickbait"
N_RECORDS = 1400  # the sample's


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    return "cb"


def label(wb: Workbench, project: str, n: int) -> dict[int, str]:
    """The gold labels of the sample's first ``n`` records as manual labels, by record id."""
    given = {}
    for answer in samples.gold()[:n]:
        key = f"running_id={answer['running_id']}"
        wb.annotate(project, key, TASK, answer["clickbait"], "ann")
        with wb.db.session() as s:
            given[records.resolve(s, projects.get(s, project), key).id] = answer["clickbait"]
    return given


def train(wb: Workbench, project: str, algorithm: str) -> dict[str, Any]:
    job = wb.train_model(project, TASK, algorithm=algorithm, wait=True)
    assert job["status"] == "done", job
    result: dict[str, Any] = job["result"]
    return result


def run(wb: Workbench, project: str, *names: str) -> dict[str, Any]:
    job = wb.run_heuristics(project, list(names) or None, wait=True)
    assert job["status"] in ("done", "failed"), job
    return job


def votes(wb: Workbench, project: str, name: str) -> dict[int, tuple[str, float]]:
    """The heuristic's vote on each record: (label, confidence)."""
    heuristic_id = str(wb.get_heuristic(project, name)["id"])
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project), TASK)
        names = {label.id: label.name for label in tasks.labels(s, task)}
        rows = s.execute(
            select(Annotation.record_id, Annotation.label_id, Annotation.confidence).where(
                Annotation.source == "heuristic", Annotation.source_id == heuristic_id
            )
        ).all()
    found: dict[int, tuple[str, float]] = {}
    for record_id, label_id, confidence in rows:
        assert record_id not in found  # classification: one vote per record
        found[record_id] = (names[label_id], confidence)
    return found


def live_predictions(wb: Workbench, project: str, ids: list[int]) -> list[tuple[str, float]]:
    """What the live version says of these records, computed apart from the heuristic."""
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project), TASK)
        row = model_registry.live(s, task)
        assert row is not None
        classifier = model_registry.load(s, row)
        texts = model_inputs.texts_of(s, task, ids)
        proba = classifier.predict_proba(texts=texts)
    best = proba.argmax(axis=1)
    return [(classifier.labels[b], float(p[b])) for b, p in zip(best, proba, strict=True)]


def test_the_live_model_votes_and_is_measured_on_the_test_split(
    wb: Workbench, project: str
) -> None:
    given = label(wb, project, 150)
    trained = train(wb, project, "tfidf-logreg")
    assert trained["live_version"] == 1
    added = wb.add_model_heuristic(project, TASK)
    name = added["name"]
    assert (name, added["kind"], added["code"]) == (f"model-{TASK}", "model", "")
    assert added["config"] == {"version": None, "live_version": 1}

    job = run(wb, project)
    assert job["status"] == "done", job
    found = wb.get_heuristic(project, name)
    last = found["last_run"]
    assert last["ran"] == N_RECORDS and last["model"]["version"] == 1
    assert found["config"] == {"version": 1, "live_version": 1}
    voted = votes(wb, project, name)
    assert len(voted) == last["records_with_votes"] == N_RECORDS  # the best label of each
    sample_ids = sorted(voted)[::97]
    expected = live_predictions(wb, project, sample_ids)
    for record, (label_name, confidence) in zip(sample_ids, expected, strict=True):
        assert voted[record][0] == label_name
        assert voted[record][1] == pytest.approx(confidence, abs=1e-6)
        assert 0.5 <= voted[record][1] <= 1

    # Statistics: on the labeled records of the test split, which no version trained on.
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project), TASK)
        in_test = set(split_service.test_ids(s, task.id))
    labeled_test = {r: v for r, v in given.items() if r in in_test}
    assert 0 < len(labeled_test) < len(given)
    stats = found["statistics"]
    assert stats["reference_records"] == len(labeled_test)
    assert stats["true_positives"] + stats["false_positives"] == len(labeled_test)
    right = sum(voted[r][0] == v for r, v in labeled_test.items())
    assert stats["true_positives"] == right
    assert stats["records"] == N_RECORDS  # coverage counts every record

    # Tried on a few records: the same votes, nothing stored.
    tried = wb.try_heuristic(project, name, record_ids=sample_ids[:3])
    assert tried["error"] is None
    assert [r["value"] for r in tried["results"]] == [voted[r][0] for r in sample_ids[:3]]
    assert tried["results"][0]["output"].startswith("version 1: ")

    # Unchanged model and records: the cache keeps its votes.
    assert run(wb, project)["result"]["heuristics"][name]["ran"] == 0


def test_a_promoted_version_votes_at_the_next_run(wb: Workbench, project: str) -> None:
    label(wb, project, 150)
    train(wb, project, "tfidf-logreg")
    name = wb.add_model_heuristic(project, TASK, name="the-model")["name"]
    assert run(wb, project)["status"] == "done"
    second = train(wb, project, "tfidf-nb")
    assert second["version"] == 2
    wb.promote_model(project, TASK, 2)
    assert wb.get_heuristic(project, name)["config"] == {"version": 1, "live_version": 2}

    after = run(wb, project)["result"]["heuristics"][name]
    assert after["ran"] == N_RECORDS and after["model"]["version"] == 2
    assert after["model"]["algorithm"] == "tfidf-nb"
    assert wb.get_heuristic(project, name)["config"] == {"version": 2, "live_version": 2}
    voted = votes(wb, project, name)
    ids = sorted(voted)[::131]
    assert [voted[r][0] for r in ids] == [p[0] for p in live_predictions(wb, project, ids)]

    wb.rollback_model(project, TASK)  # version 1 again: voted anew with it
    back = run(wb, project)["result"]["heuristics"][name]
    assert back["ran"] == N_RECORDS and back["model"]["version"] == 1


def test_weak_supervision_takes_the_model_votes(wb: Workbench, project: str) -> None:
    label(wb, project, 150)
    train(wb, project, "tfidf-logreg")
    model = wb.add_model_heuristic(project, TASK)["name"]
    wb.add_heuristic(
        project,
        TASK,
        "digit",
        'def digit(record):\n    return "yes" if record["headline"][0].text.isdigit() else None\n',
    )
    assert run(wb, project)["status"] == "done"
    job = wb.weak_supervise(project, TASK, model="majority", wait=True)
    assert job["status"] == "done", job
    info = wb.weak_supervision_info(project, TASK)
    assert info is not None
    assert set(info["heuristics"]) == {model, "digit"}
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project), TASK)
        weak = s.scalars(
            select(Annotation.record_id).where(
                Annotation.task_id == task.id, Annotation.source == "weak_supervision"
            )
        ).all()
    # The model votes on every record: each gets a weakly supervised label, or ties.
    assert info["records_with_votes"] == N_RECORDS
    assert len(weak) == info["labeled"] and info["labeled"] + info["ties"] == N_RECORDS
    assert info["labeled"] > N_RECORDS // 2


def test_without_a_live_model_it_says_to_train_one(wb: Workbench, project: str) -> None:
    name = wb.add_model_heuristic(project, TASK)["name"]
    assert wb.get_heuristic(project, name)["config"] == {"version": None, "live_version": None}
    job = run(wb, project, name)
    assert job["status"] == "failed"
    assert "no live model" in job["error"] and "train one" in job["error"]
    with pytest.raises(HeuristicNotRunnable) as caught:  # the job's body, run here
        heuristic_runs.run(
            wb.db,
            project,
            [name],
            data_dir=wb.settings.data_dir,
            mapper=wb.executor.map,
            limits=Limits(),
            progress=lambda fraction, message: None,
        )
    assert (caught.value.status_code, caught.value.code) == (422, "heuristic_not_runnable")
    tried = wb.try_heuristic(project, name, n=3)
    assert tried["error"] is not None and "no live model" in tried["error"]


def test_it_has_no_code_and_no_settings(wb: Workbench, project: str) -> None:
    name = wb.add_model_heuristic(project, TASK)["name"]
    with pytest.raises(ValidationError, match="no code"):
        wb.update_heuristic(project, name, code="def f(record):\n    return None\n")
    with pytest.raises(ValidationError, match="no settings"):
        wb.update_heuristic(project, name, config={"min_confidence": 0.9})
    with pytest.raises(ValidationError, match="no code"):
        wb.add_heuristic(project, TASK, "m2", "def f(record):\n    return None\n", kind="model")
    with pytest.raises(ValidationError, match="unknown config"):
        wb.add_heuristic(project, TASK, kind="model", embedding="x")
    extraction = next(t for t in wb.list_tasks(project) if t["type"] == "extraction")
    with pytest.raises(ValidationError, match="classification and multi-label"):
        wb.add_model_heuristic(project, extraction["name"])


def traits(headline: str) -> list[str]:
    """The labels of a multi-label task a model can learn from words: a question, a number."""
    found = []
    if "?" in headline or headline.split()[0] in ("Why", "How", "What", "Can", "Do", "Is"):
        found.append("question")
    if any(char.isdigit() for char in headline):
        found.append("number")
    return found


def test_a_multi_label_model_votes_each_label_at_one_half(wb: Workbench, project: str) -> None:
    wb.add_task(project, "traits", "multi-label", "headline", ["question", "number"])
    with wb.db.session() as s:
        rows = s.execute(
            select(RecordRow.id, RecordRow.data).where(
                RecordRow.project_id == projects.get(s, project).id
            )
        ).all()
    given = {rid: traits(data["headline"]) for rid, data in sorted(rows)}
    labeled = [rid for rid, found in given.items() if found][:200]
    for rid in labeled:
        for name in given[rid]:
            wb.annotate(project, rid, "traits", name, "ann")
    job = wb.train_model(project, "traits", algorithm="tfidf-logreg", wait=True)
    assert job["status"] == "done", job
    name = wb.add_model_heuristic(project, "traits")["name"]
    assert run(wb, project, name)["status"] == "done"

    heuristic_id = str(wb.get_heuristic(project, name)["id"])
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project), "traits")
        label_names = {label.id: label.name for label in tasks.labels(s, task)}
        voted: dict[int, dict[str, float]] = {}
        for record_id, label_id, confidence in s.execute(
            select(Annotation.record_id, Annotation.label_id, Annotation.confidence).where(
                Annotation.source == "heuristic", Annotation.source_id == heuristic_id
            )
        ):
            voted.setdefault(record_id, {})[label_names[label_id]] = confidence
        ids = sorted(given)[::53]
        row = model_registry.live(s, task)
        assert row is not None
        classifier = model_registry.load(s, row)
        proba = classifier.predict_proba(texts=model_inputs.texts_of(s, task, ids))
    assert len(voted) > 0
    for record, scores in zip(ids, proba, strict=True):
        expected = {
            label: pytest.approx(float(p), abs=1e-6)
            for label, p in zip(classifier.labels, scores, strict=True)
            if p >= 0.5
        }
        assert voted.get(record, {}) == expected


def test_a_weighted_vote_measures_the_model_outside_its_training_data(
    wb: Workbench, project: str
) -> None:
    label(wb, project, 150)
    train(wb, project, "tfidf-logreg")
    model = wb.add_model_heuristic(project, TASK)["name"]
    wb.add_heuristic(project, TASK, "always-no", 'def always_no(record):\n    return "no"\n')
    assert run(wb, project)["status"] == "done"
    voted = votes(wb, project, model)
    # Relabel every training record against the model: measured there, it would look always
    # wrong, and the "no" of the other heuristic would win wherever they disagree.
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project), TASK)
        trained_on = split_service.train_ids(s, task.id)
    assert trained_on
    for record in trained_on:
        wb.annotate(project, record, TASK, "no" if voted[record][0] == "yes" else "yes", "ann")
    job = wb.weak_supervise(project, TASK, model="weighted", wait=True)
    assert job["status"] == "done", job
    with wb.db.session() as s:
        names = {label.id: label.name for label in tasks.labels(s, task)}
        weak = dict(
            s.execute(
                select(Annotation.record_id, Annotation.label_id).where(
                    Annotation.task_id == task.id, Annotation.source == "weak_supervision"
                )
            ).all()
        )
    says_yes = [r for r, (name, _) in voted.items() if name == "yes"]
    assert says_yes
    # Measured on its test records, where its labels were never learned, the model is the
    # more precise: its "yes" wins.
    assert all(names[weak[r]] == "yes" for r in says_yes if r in weak)
    assert sum(r in weak for r in says_yes) == len(says_yes)
