"""Predictions and their review, on SQLite and PostgreSQL: inputs checked, every answer kept,
stored inputs becoming records with the model's pending label, accept/correct becoming the
reviewer's manual labels, reject adding none, audit items blind until reviewed, the live
accuracy from them, and the review queue's pages."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import Workbench
from assay.algorithms.model_evaluation import wilson
from assay.errors import Conflict, NotFound, ValidationError
from assay.services import annotating, projects, tasks
from assay.services.predictions import MAX_ITEMS, audited
from assay.storage.models import Annotation, Prediction, Record

WORDS = {
    "sport": ["goal", "match", "team", "coach", "league", "striker", "tennis", "final"],
    "money": ["bank", "stocks", "market", "profit", "shares", "interest", "loan", "budget"],
    "weather": ["rain", "storm", "sunny", "wind", "snow", "cloud", "heat", "frost"],
}


def _texts(topics: list[list[str]], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS[t]) for t in topic for _ in range(3)) for topic in topics]


def _project(wb: Workbench, *, multi: bool = False, key: bool = False) -> None:
    """Project ``p`` (text ``headline``; ``key``: keyed by ``rid``) with a live model of task
    ``topic`` (multi: a multi-label task whose records carry one or two topics)."""
    names = list(WORDS)
    topics = [
        [names[i % 3]] + ([names[(i + 1) % 3]] if multi and i % 4 == 0 else []) for i in range(72)
    ]
    texts = _texts(topics)
    frame = pd.DataFrame({"rid": range(len(texts)), "headline": texts})
    wb.import_dataframe(frame, "p", primary_key=["rid"] if key else None)
    kind = "multi-label" if multi else "classification"
    wb.add_task("p", "topic", kind, "headline", names)
    with wb.db.session() as s:  # one unit of work: quick on PostgreSQL too
        project = projects.get(s, "p")
        task = tasks.get(s, project, "topic")
        rows = s.scalars(select(Record).where(Record.project_id == project.id).order_by(Record.id))
        for record, labels in zip(rows, topics, strict=True):
            for label in labels:
                annotating.add(s, record, task, label, "ann")
    job = wb.train_model("p", "topic", algorithm="tfidf-logreg", wait=True)
    assert job["status"] == "done", job["error"]


def _manual(wb: Workbench, record_id: int, annotator: str) -> list[str]:
    labels = wb.get_record("p", record_id)["labels"]["topic"]["annotations"]
    return sorted(
        a["label"] for a in labels if a["source"] == "manual" and a["annotator"] == annotator
    )


@pytest.fixture(autouse=True)
def _fresh_serving(wb: Workbench) -> None:
    wb.serving.forget()  # the PostgreSQL Workbench outlives a test; ids restart in each


@pytest.mark.parametrize(
    ("texts", "records", "says"),
    [
        (None, None, "either texts"),
        (["a"], [{"headline": "a"}], "either texts"),
        ("a goal", None, "must be a list"),
        ([], None, "empty"),
        (["a", 3], None, "texts[1] is a int"),
        (None, [{"headline": "a"}, "b"], "records[1] is a str"),
        (["fine", "nul\x00"], None, "NUL"),
    ],
)
def test_bad_inputs_are_refused_naming_the_item(
    wb: Workbench, texts: Any, records: Any, says: str
) -> None:
    wb.create_project("p")  # refused before the task or its model is looked up
    with pytest.raises(ValidationError) as caught:
        wb.predict("p", "topic", texts, records)
    assert says in caught.value.message
    assert caught.value.status_code == 422


def test_too_many_texts_are_refused_naming_the_limit(wb: Workbench) -> None:
    wb.create_project("p")
    with pytest.raises(ValidationError) as caught:
        wb.predict("p", "topic", ["x"] * (MAX_ITEMS + 1))
    assert "10,000" in caught.value.message and caught.value.detail["limit"] == MAX_ITEMS


def test_records_without_the_models_text_are_refused(wb: Workbench) -> None:
    _project(wb)
    with pytest.raises(ValidationError) as caught:
        wb.predict("p", "topic", records=[{"headline": "goal"}, {"title": "goal"}])
    assert "records[1]" in caught.value.message and "'headline'" in caught.value.message
    with pytest.raises(ValidationError) as caught:
        wb.predict("p", "topic", records=[{"headline": "goal"}, {"headline": "nul\x00"}])
    assert "records[1]" in caught.value.message and "NUL" in caught.value.message


def test_every_answer_is_kept_pending_without_a_record(wb: Workbench) -> None:
    _project(wb)
    result = wb.predict(
        "p", "topic", records=[{"headline": "goal match team"}, {"headline": "bank loan"}]
    )
    items = result["predictions"]
    assert [i["label"] for i in items] == ["sport", "money"]
    for item in items:
        assert item["confidence"] == max(item["scores"].values())
        assert sum(item["scores"].values()) == pytest.approx(1.0)
        assert item["labels"] is None and item["record_id"] is None
        assert len(item["prediction_id"]) == 32
    with wb.db.session() as s:
        rows = {r.id: r for r in s.scalars(select(Prediction))}
    assert set(rows) == {i["prediction_id"] for i in items}
    for item in items:
        row = rows[item["prediction_id"]]
        assert (row.status, row.output, row.version, row.record_id) == (
            "pending",
            item["label"],
            1,
            None,
        )


def test_stored_texts_become_records_with_the_models_pending_label(wb: Workbench) -> None:
    _project(wb)
    before = wb.query("p")["total"]
    result = wb.predict("p", "topic", ["striker goal final", "storm rain wind"], store=True)
    assert wb.query("p")["total"] == before + 2
    for item in result["predictions"]:
        record = wb.get_record("p", item["record_id"])
        assert record["data"]["headline"] in ("striker goal final", "storm rain wind")
        model = [a for a in record["labels"]["topic"]["annotations"] if a["source"] == "model"]
        assert [(a["label"], a["source_id"]) for a in model] == [(item["label"], "v1")]
        assert model[0]["confidence"] == pytest.approx(item["confidence"])
        assert record["labels"]["topic"]["reference"]["state"] == "none"  # no manual label yet
    pending = wb.list_predictions("p", "topic", status="pending")
    assert {p["record_id"] for p in pending["predictions"]} == {
        i["record_id"] for i in result["predictions"]
    }


def test_stored_records_keep_their_keys(wb: Workbench) -> None:
    _project(wb, key=True)
    result = wb.predict(
        "p", "topic", records=[{"rid": 1000, "headline": "bank stocks profit"}], store=True
    )
    record = wb.get_record("p", "rid=1000")
    assert record["id"] == result["predictions"][0]["record_id"]
    with pytest.raises(ValidationError) as caught:  # texts alone cannot carry the key
        wb.predict("p", "topic", ["bank stocks"], store=True)
    assert "'rid'" in caught.value.message


def _one_pending(wb: Workbench, text: str, *, audit: bool = False) -> dict[str, Any]:
    wb.update_model_settings("p", "topic", audit_share=1.0 if audit else 0.0)
    return wb.predict("p", "topic", [text], store=True)["predictions"][0]


def test_accept_makes_the_models_label_the_reviewers(wb: Workbench) -> None:
    _project(wb)
    item = _one_pending(wb, "goal team coach")
    reviewed = wb.review_prediction("p", "topic", item["prediction_id"], "accept", "rev")
    assert reviewed["status"] == "accepted" and reviewed["reviewer"] == "rev"
    assert _manual(wb, item["record_id"], "rev") == [item["label"]]
    with pytest.raises(Conflict):
        wb.review_prediction("p", "topic", item["prediction_id"], "reject", "rev2")
    with pytest.raises(NotFound):
        wb.review_prediction("p", "topic", uuid.uuid4().hex, "accept", "rev")


def test_two_reviews_at_once_one_wins(wb: Workbench) -> None:
    _project(wb)
    item = _one_pending(wb, "goal team coach")
    outcomes: list[str] = []
    start = threading.Barrier(2, timeout=30)

    def reviewer(name: str) -> None:
        start.wait()
        try:
            wb.review_prediction("p", "topic", item["prediction_id"], "accept", name)
            outcomes.append("reviewed")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=reviewer, args=(f"rev{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["conflict", "reviewed"]
    winner = wb.list_predictions("p", "topic", status="accepted")["predictions"][0]["reviewer"]
    loser = "rev1" if winner == "rev0" else "rev0"
    assert _manual(wb, item["record_id"], winner) == [item["label"]]
    assert _manual(wb, item["record_id"], loser) == []


def test_correct_makes_the_given_label_the_reviewers(wb: Workbench) -> None:
    _project(wb)
    item = _one_pending(wb, "goal team coach")
    with pytest.raises(ValidationError):
        wb.review_prediction("p", "topic", item["prediction_id"], "correct", "rev", label="nope")
    with pytest.raises(ValidationError):
        wb.review_prediction("p", "topic", item["prediction_id"], "correct", "rev")
    reviewed = wb.review_prediction(
        "p", "topic", item["prediction_id"], "correct", "rev", label="weather"
    )
    assert reviewed["status"] == "corrected" and reviewed["given"] == "weather"
    assert _manual(wb, item["record_id"], "rev") == ["weather"]
    assert (
        wb.get_record("p", item["record_id"])["labels"]["topic"]["reference"]["value"] == "weather"
    )


def test_reject_keeps_the_prediction_and_adds_no_label(wb: Workbench) -> None:
    _project(wb)
    item = _one_pending(wb, "goal team coach")
    reviewed = wb.review_prediction("p", "topic", item["prediction_id"], "reject", "rev")
    assert reviewed["status"] == "rejected" and reviewed["label"] == item["label"]
    assert _manual(wb, item["record_id"], "rev") == []
    rejected = wb.list_predictions("p", "topic", status="rejected")["predictions"]
    assert [p["id"] for p in rejected] == [item["prediction_id"]]
    assert wb.list_predictions("p", "topic")["total"] == 0  # no longer pending


def test_a_text_without_a_record_is_reviewed_without_a_label(wb: Workbench) -> None:
    _project(wb)
    wb.update_model_settings("p", "topic", audit_share=0.0)
    item = wb.predict("p", "topic", ["bank loan"])["predictions"][0]
    labels_before = _manual_count(wb)
    reviewed = wb.review_prediction("p", "topic", item["prediction_id"], "accept", "rev")
    assert reviewed["status"] == "accepted" and reviewed["record_id"] is None
    assert _manual_count(wb) == labels_before


def _manual_count(wb: Workbench) -> int:
    with wb.db.session() as s:
        return (
            s.scalar(
                select(func.count()).select_from(Annotation).where(Annotation.source == "manual")
            )
            or 0
        )


def test_audit_items_are_blind_until_reviewed_and_give_the_live_accuracy(wb: Workbench) -> None:
    _project(wb)
    wb.update_model_settings("p", "topic", audit_share=1.0)
    texts = ["goal match team", "bank loan budget", "rain storm snow", "goal bank"]
    served = wb.predict("p", "topic", texts, store=True)["predictions"]
    queue = wb.list_predictions("p", "topic", audit=True)["predictions"]
    assert [p["id"] for p in queue] == sorted(i["prediction_id"] for i in served)
    for pending in queue:
        assert pending["audit"] and pending["label"] is None
        assert pending["confidence"] is None and pending["scores"] is None
    truth = ["sport", "money", "weather", "weather"]
    for item, label in zip(served, truth, strict=True):
        with pytest.raises(ValidationError):  # blind: the answer is a label, whatever the action
            wb.review_prediction("p", "topic", item["prediction_id"], "accept", "rev")
        reviewed = wb.review_prediction(
            "p", "topic", item["prediction_id"], "accept", "rev", label=label
        )
        assert reviewed["given"] == label and reviewed["label"] == item["label"]
        assert reviewed["status"] == ("accepted" if item["label"] == label else "corrected")
        assert _manual(wb, item["record_id"], "rev") == [label]
    right = sum(item["label"] == label for item, label in zip(served, truth, strict=True))
    accuracy = wb.live_accuracy("p", "topic")
    assert accuracy["model_version"] == 1
    assert (accuracy["reviewed"], accuracy["correct"]) == (4, right)
    assert accuracy["accuracy"] == right / 4
    assert accuracy["interval"] == pytest.approx(wilson(right, 4))


def test_live_accuracy_is_empty_before_any_review(wb: Workbench) -> None:
    _project(wb)
    accuracy = wb.live_accuracy("p", "topic")
    assert accuracy == {
        "task": "topic",
        "model_version": 1,
        "reviewed": 0,
        "correct": 0,
        "accuracy": None,
        "interval": None,
    }


def test_the_queue_pages_oldest_first(wb: Workbench) -> None:
    _project(wb)
    wb.update_model_settings("p", "topic", audit_share=0.0)
    first = wb.predict("p", "topic", [f"goal {i}" for i in range(4)])["predictions"]
    second = wb.predict("p", "topic", [f"bank {i}" for i in range(3)])["predictions"]
    # Oldest call first; a call's items share its time, and come by id.
    expected = sorted(i["prediction_id"] for i in first) + sorted(
        i["prediction_id"] for i in second
    )
    seen: list[str] = []
    cursor = None
    while True:
        page = wb.list_predictions("p", "topic", limit=3, cursor=cursor)
        assert page["total"] == 7
        seen += [p["id"] for p in page["predictions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    with pytest.raises(ValidationError):
        wb.list_predictions("p", "topic", status="maybe")


def test_multi_label_predictions_and_corrections(wb: Workbench) -> None:
    _project(wb, multi=True)
    wb.update_model_settings("p", "topic", audit_share=0.0)
    item = wb.predict("p", "topic", ["goal match coach team"], store=True)["predictions"][0]
    assert item["label"] is None and "sport" in item["labels"]
    chosen = [p for p in item["scores"].values() if p >= 0.5]
    assert item["confidence"] == pytest.approx(sum(chosen) / len(chosen))
    reviewed = wb.review_prediction(
        "p", "topic", item["prediction_id"], "correct", "rev", label=["weather", "sport"]
    )
    assert reviewed["given"] == ["sport", "weather"]
    assert _manual(wb, item["record_id"], "rev") == ["sport", "weather"]


def test_the_audit_rule_is_a_stable_share_of_ids() -> None:
    rng = random.Random(0)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(20_000)]
    chosen = [audited(i, 0.05) for i in ids]
    assert chosen == [audited(i, 0.05) for i in ids]  # the id alone decides
    assert 0.045 < sum(chosen) / len(ids) < 0.055
    assert not any(audited(i, 0.0) for i in ids) and all(audited(i, 1.0) for i in ids)
