"""The registry of a task's models: manual promotion, rollback along the live history, a
tampered or oversized artifact (refused, the live pointer unchanged), export, settings — on
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import random

import pandas as pd
import pytest
from sqlalchemy import update

from assay import Workbench
from assay.algorithms import text_models
from assay.errors import ArtifactInvalid, Conflict, NotFound, ValidationError
from assay.services import model_registry, projects, tasks
from assay.storage.models import ModelTask, ModelVersion

SPORT = ["goal", "match", "team", "coach", "league", "striker", "tennis", "final"]
MONEY = ["bank", "stocks", "market", "profit", "shares", "interest", "loan", "budget"]


def _versions(wb: Workbench, n: int) -> None:
    """Project ``p``, task ``topic`` with ``n`` versions of the same data (the first live, the
    others equal to it: candidates)."""
    rng = random.Random(0)
    texts = [" ".join(rng.choice(SPORT if i % 2 else MONEY) for _ in range(4)) for i in range(60)]
    frame = pd.DataFrame({"rid": range(60), "headline": texts})
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "topic", "classification", "headline", ["sport", "money"])
    for rid in range(60):
        wb.annotate("p", f"rid={rid}", "topic", "sport" if rid % 2 else "money", "ann")
    for _ in range(n):
        job = wb.train_model("p", "topic", algorithm="tfidf-nb", wait=True)
        assert job["status"] == "done", job["error"]


def _statuses(wb: Workbench) -> dict[int, str]:
    return {v["version"]: v["status"] for v in wb.list_models("p", "topic")}


def _live_id(wb: Workbench) -> int | None:
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, "p"), "topic")
        state = s.get(ModelTask, task.id)
        return state.live_version_id if state else None


def test_promote_and_roll_back_along_the_history(wb: Workbench) -> None:
    _versions(wb, 3)
    assert _statuses(wb) == {1: "live", 2: "candidate", 3: "candidate"}
    assert wb.promote_model("p", "topic", 2)["status"] == "live"
    assert wb.promote_model("p", "topic", 3)["status"] == "live"
    assert _statuses(wb) == {1: "retired", 2: "retired", 3: "live"}
    back = wb.rollback_model("p", "topic")
    assert back["version"] == 2 and back["status"] == "live"
    assert wb.rollback_model("p", "topic")["version"] == 1
    assert _statuses(wb) == {1: "live", 2: "retired", 3: "retired"}
    with pytest.raises(Conflict, match="no earlier live model"):
        wb.rollback_model("p", "topic")
    # A retired version can be made live again by hand; then a rollback undoes that.
    assert wb.promote_model("p", "topic", 3)["status"] == "live"
    assert wb.rollback_model("p", "topic")["version"] == 1
    overview = wb.models_overview("p", "topic")
    assert overview["live_version"] == 1
    assert [(e["version"], e["action"]) for e in reversed(overview["history"])] == [
        (1, "auto"),
        (2, "promote"),
        (3, "promote"),
        (2, "rollback"),
        (1, "rollback"),
        (3, "promote"),
        (1, "rollback"),
    ]
    assert overview["history"][0]["reason"] == "rolled back from version 3"
    # Promoting the live version again changes nothing.
    wb.promote_model("p", "topic", 1)
    assert len(wb.models_overview("p", "topic")["history"]) == 7
    with pytest.raises(NotFound, match="no model version 9"):
        wb.promote_model("p", "topic", 9)


def test_a_tampered_artifact_is_refused_and_the_live_pointer_stays(wb: Workbench) -> None:
    _versions(wb, 1)
    exported = wb.export_model("p", "topic", 1)
    assert hashlib.sha256(exported).hexdigest() == wb.get_model("p", "topic", 1)["sha256"]
    assert text_models.load(exported, max_bytes=len(exported)).labels == ["sport", "money"]
    live = _live_id(wb)
    tampered = bytearray(exported)
    tampered[len(tampered) // 2] ^= 0xFF
    with wb.db.session() as s:  # someone changes the stored bytes
        s.execute(update(ModelVersion).values(artifact=bytes(tampered)))
    with wb.db.session() as s:
        row = model_registry.get(s, tasks.get(s, projects.get(s, "p"), "topic"), 1)
        with pytest.raises(ArtifactInvalid, match=r"version 1 is not the one stored \(sha256"):
            model_registry.load(s, row)
    with pytest.raises(ArtifactInvalid, match="sha256 differs"):
        wb.export_model("p", "topic", 1)
    assert _live_id(wb) == live

    # Bytes that match their (also changed) hash but are no model: the loader refuses them.
    junk = b"not a model at all"
    with wb.db.session() as s:
        s.execute(
            update(ModelVersion).values(artifact=junk, sha256=hashlib.sha256(junk).hexdigest())
        )
    with wb.db.session() as s:
        row = model_registry.get(s, tasks.get(s, projects.get(s, "p"), "topic"), 1)
        with pytest.raises(ArtifactInvalid):
            model_registry.load(s, row)
        with pytest.raises(ArtifactInvalid, match="too large"):
            model_registry.load(s, row, max_bytes=4)
    assert _live_id(wb) == live


def test_settings(wb: Workbench) -> None:
    _versions(wb, 0)
    defaults = wb.model_settings("p", "topic")
    assert defaults == {
        "retrain_after": 50,
        "audit_share": 0.05,
        "metric": "macro_f1",
        "alpha": 0.05,
        "recall_margin": 0.05,
        "test_fraction": 0.2,
    }
    with wb.db.session() as s:  # reading them wrote nothing
        assert s.query(ModelTask).count() == 0
    changed = wb.update_model_settings("p", "topic", retrain_after=5, test_fraction=0.25)
    assert changed["retrain_after"] == 5 and changed["test_fraction"] == 0.25
    for bad in ({"metric": "auc"}, {"alpha": 0}, {"audit_share": 2}, {"retrain_after": -1}):
        with pytest.raises(ValidationError):
            wb.update_model_settings("p", "topic", **bad)
    with pytest.raises(ValidationError, match="unknown model setting"):
        wb.update_model_settings("p", "topic", colour="red")
    job = wb.train_model("p", "topic", algorithm="tfidf-nb", wait=True)
    assert job["status"] == "done", job["error"]
    with pytest.raises(ValidationError, match="stays fixed"):
        wb.update_model_settings("p", "topic", test_fraction=0.3)
    assert wb.model_settings("p", "topic")["test_fraction"] == 0.25
