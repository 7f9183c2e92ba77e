"""Serving the live model: no live model, the answer naming its version, hot swap (from
another Workbench on the same database, as the CLI would; under load, with no failed or
mixed request), and a tampered artifact that never replaces the serving version — on
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update

from assay import Workbench
from assay.errors import ArtifactInvalid, NoLiveModel
from assay.services import annotating, model_inputs, model_registry, projects, records, tasks
from assay.storage.models import ModelVersion

SPORT = ["goal", "match", "team", "coach", "league", "striker", "tennis", "final", "score"]
MONEY = ["bank", "stocks", "market", "profit", "shares", "interest", "loan", "budget", "tax"]
PROBES = ["late goal wins the final", "bank raises interest", "team and market", "tax coach"]


def _headlines(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        topic, words = ("sport", SPORT) if i % 2 == 0 else ("money", MONEY)
        texts.append(" ".join(rng.choice(words) for _ in range(4)))
        labels.append(topic)
    return texts, labels


def _two_versions(wb: Workbench) -> None:
    """Project ``p``, task ``topic`` with versions 1 (tfidf-logreg) and 2 (tfidf-nb);
    version 1 live."""
    texts, labels = _headlines(60)
    frame = pd.DataFrame({"rid": range(len(texts)), "headline": texts})
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "topic", "classification", "headline", ["sport", "money"])
    with wb.db.session() as s:  # one unit of work: quick on PostgreSQL too
        project = projects.get(s, "p")
        task = tasks.get(s, project, "topic")
        for rid, label in enumerate(labels):
            annotating.add(s, records.resolve(s, project, f"rid={rid}"), task, label, "ann")
    for algorithm in ("tfidf-logreg", "tfidf-nb"):
        job = wb.train_model("p", "topic", algorithm=algorithm, wait=True)
        assert job["status"] == "done", job["error"]
    wb.promote_model("p", "topic", 1)


def _own_scores(wb: Workbench, version: int, texts: list[str]) -> list[dict[str, float]]:
    """What a version itself answers for the texts, loaded apart from serving."""
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "p"), "topic")
        classifier = model_registry.load(s, model_registry.get(s, task, version))
        proba = model_inputs.probabilities(s, classifier, texts, data_dir=wb.settings.data_dir)
    return [dict(zip(classifier.labels, row, strict=True)) for row in proba.tolist()]


def _version_served(wb: Workbench, want: int, deadline_s: float) -> tuple[int, float]:
    """Predict until ``want`` answers (or the deadline): the last version seen, and when."""
    start = time.monotonic()
    seen = -1
    while time.monotonic() - start < deadline_s:
        seen = wb.predict("p", "topic", PROBES[:1])["model_version"]
        if seen == want:
            break
        time.sleep(0.02)
    return seen, time.monotonic() - start


@pytest.fixture(autouse=True)
def _fresh_serving(wb: Workbench) -> None:
    # The PostgreSQL Workbench lives through the run, and the tables restart their ids in
    # each test: a model held from the last test must not answer for this one's.
    wb.serving.forget()


def test_no_live_model_is_refused_naming_what_to_do(wb: Workbench) -> None:
    wb.create_project("p")
    wb.import_dataframe(pd.DataFrame({"headline": ["a goal"]}), "p")
    wb.add_task("p", "topic", "classification", "headline", ["sport", "money"])
    with pytest.raises(NoLiveModel) as caught:
        wb.predict("p", "topic", ["a goal"])
    assert caught.value.status_code == 409
    assert "'topic'" in caught.value.message and "'p'" in caught.value.message
    assert "assay models train" in caught.value.message


def test_the_answer_names_its_version_and_the_versions_own_scores(wb: Workbench) -> None:
    _two_versions(wb)
    result = wb.predict("p", "topic", PROBES)
    assert result["model_version"] == 1
    own = _own_scores(wb, 1, PROBES)
    for item, scores in zip(result["predictions"], own, strict=True):
        assert item["model_version"] == 1
        assert item["scores"] == pytest.approx(scores)
        assert item["label"] == max(scores, key=scores.__getitem__)
    assert result["predictions"][0]["label"] == "sport"
    assert result["predictions"][1]["label"] == "money"


def test_a_promotion_in_this_process_answers_the_next_request(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No half-second wait for this process's own moves: the very next call reads them."""
    _two_versions(wb)
    monkeypatch.setattr(wb.serving, "check_every", 3600.0)  # only the move makes it look
    assert wb.predict("p", "topic", PROBES[:1])["model_version"] == 1
    wb.promote_model("p", "topic", 2)
    assert wb.predict("p", "topic", PROBES[:1])["model_version"] == 2
    wb.rollback_model("p", "topic")
    assert wb.predict("p", "topic", PROBES[:1])["model_version"] == 1


def test_a_promotion_by_another_process_serves_within_seconds(wb: Workbench) -> None:
    _two_versions(wb)
    assert wb.predict("p", "topic", PROBES[:1])["model_version"] == 1
    other = Workbench(wb.settings)  # the CLI, on the same database
    try:
        other.promote_model("p", "topic", 2)
        seen, _ = _version_served(wb, 2, deadline_s=5.0)
        assert seen == 2
        other.rollback_model("p", "topic")
        seen, _ = _version_served(wb, 1, deadline_s=5.0)
        assert seen == 1
    finally:
        other.close()


def test_hot_swap_under_load_fails_no_request_and_mixes_none(wb: Workbench) -> None:
    _two_versions(wb)
    texts = PROBES * 5
    own = {version: _own_scores(wb, version, texts) for version in (1, 2)}
    wb.serving.check_every = 0.02  # many swaps in a short test
    stop = threading.Event()
    errors: list[BaseException] = []
    answers: list[dict[str, Any]] = []

    def client() -> None:
        while not stop.is_set():
            try:
                answers.append(wb.predict("p", "topic", texts))
            except BaseException as exc:  # noqa: BLE001 -- counted by the test
                errors.append(exc)

    clients = [threading.Thread(target=client) for _ in range(3)]
    for thread in clients:
        thread.start()
    try:
        for swap in range(10):
            if swap % 2 == 0:
                wb.promote_model("p", "topic", 2)
            else:
                wb.rollback_model("p", "topic")
            time.sleep(0.15)
    finally:
        stop.set()
        for thread in clients:
            thread.join(30)
    assert not errors, f"{len(errors)} failed request(s): {errors[0]!r}"
    assert answers
    for answer in answers:
        version = answer["model_version"]
        assert {item["model_version"] for item in answer["predictions"]} == {version}
        for item, scores in zip(answer["predictions"], own[version], strict=True):
            assert item["scores"] == pytest.approx(scores)
    assert {answer["model_version"] for answer in answers} == {1, 2}


def test_a_tampered_artifact_never_replaces_the_serving_version(
    wb: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    _two_versions(wb)
    wb.serving.check_every = 0.02
    assert wb.predict("p", "topic", PROBES)["model_version"] == 1
    with wb.db.session() as s:
        s.execute(
            update(ModelVersion)
            .where(ModelVersion.version == 2)
            .values(artifact=b"not the bytes that were stored")
        )
    loads = wb.serving.loads
    with caplog.at_level(logging.WARNING, logger="assay.services.serving"):
        wb.promote_model("p", "topic", 2)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # many checks of the moved pointer
            assert wb.predict("p", "topic", PROBES)["model_version"] == 1
            time.sleep(0.01)
    failures = [r for r in caplog.records if "failed to load" in r.getMessage()]
    assert len(failures) == 1  # tried once, not on every request
    assert wb.serving.loads == loads
    # With nothing loaded before it, the broken version is refused with its reason.
    wb.serving.forget()
    with pytest.raises(ArtifactInvalid):
        wb.predict("p", "topic", PROBES)
    # Back to a sound version: served again.
    wb.rollback_model("p", "topic")
    seen, _ = _version_served(wb, 1, deadline_s=5.0)
    assert seen == 1
