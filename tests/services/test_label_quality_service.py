"""Label quality on a small project of two topics with a tfidf-svd embedding: planted wrong
labels rank first, a confident weak label that disagrees and two annotators who disagree are
listed, each list is a ranked static slice; a rerun is reused, an interrupted run resumes
from its folds and ends as an uninterrupted one; refusals store nothing — on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from assay import Workbench
from assay.errors import NotFound, ValidationError
from assay.services import label_quality
from assay.storage.models import AnalysisRun, DataSlice, Job

SPORT = ("match", "goal", "team", "league", "coach", "player", "score", "season", "striker")
FOOD = ("recipe", "bake", "flour", "sugar", "oven", "dinner", "sauce", "garlic", "pasta")
WRONG = {10: "food", 15: "sport"}  # n -> the wrong label planted on it
WEAK_WRONG = 20  # a weak label that disagrees with confidence 0.95
WEAK_UNSURE = 22  # one that disagrees with confidence 0.5 (below the threshold)
DISPUTED = 30  # a second annotator disagrees with the import's label: a conflict


def _topic(n: int) -> str:
    return "sport" if n % 2 == 0 else "food"


def _frame(count: int = 80, labeled: int | None = None, **columns: Any) -> pd.DataFrame:
    rng = random.Random(0)
    labeled = count if labeled is None else labeled
    texts = [" ".join(rng.sample(SPORT if _topic(n) == "sport" else FOOD, 6)) for n in range(count)]
    labels: list[str | None] = [
        WRONG.get(n, _topic(n)) if n < labeled else None for n in range(count)
    ]
    return pd.DataFrame({"n": range(count), "text": texts, "__topic__MANUAL": labels, **columns})


def _project(wb: Workbench, *, embedding: bool = True, **options: Any) -> str:
    wb.import_dataframe(_frame(**options), "p", primary_key=["n"])
    if embedding:
        job = wb.add_embedding("p", "text", wait=True)
        assert job["status"] == "done", job["error"]
    return "p"


def _weak_columns(count: int = 80) -> dict[str, list[Any]]:
    other = {"sport": "food", "food": "sport"}
    weak = [other[_topic(n)] if n in (WEAK_WRONG, WEAK_UNSURE) else _topic(n) for n in range(count)]
    confidence = [0.5 if n == WEAK_UNSURE else 0.95 for n in range(count)]
    return {
        "__topic__WEAK_SUPERVISION": weak,
        "__topic__WEAK_SUPERVISION__confidence": confidence,
    }


def _check(wb: Workbench, **options: Any) -> dict[str, Any]:
    job = wb.check_quality("p", "topic", wait=True, **options)
    assert job["status"] == "done", job["error"]
    assert job["result"] is not None
    return job["result"]


def _findings(wb: Workbench, list_name: str) -> list[tuple[int, Any, Any]]:
    page = wb.quality_findings("p", "topic", list_name=list_name, limit=1000)
    return [(f["data"]["n"], f["given"], f["suggested"]) for f in page["findings"]]


def _stored(wb: Workbench) -> tuple[int, int, int]:
    with wb.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(AnalysisRun)) or 0,
            s.scalar(select(func.count()).select_from(Job).where(Job.kind == "quality")) or 0,
            s.scalar(
                select(func.count()).select_from(DataSlice).where(DataSlice.name.like("quality-%"))
            )
            or 0,
        )


def test_planted_errors_and_disagreements_are_listed_as_ranked_slices(wb: Workbench) -> None:
    project = _project(wb, **_weak_columns())
    wb.annotate(project, f"n={DISPUTED}", "topic", "food", "bob")  # the import said sport
    result = _check(wb)
    assert result["task"] == "topic" and result["embedding"] == "text-tfidf-svd"
    assert not result["run"]["reused"] and result["run"]["status"] == "done"
    lists = {entry["list"]: entry for entry in result["lists"]}
    assert set(lists) == {"label_error", "weak_disagreement", "annotator_disagreement"}

    errors = _findings(wb, "label_error")
    assert {n for n, _, _ in errors[:2]} == set(WRONG)
    for n, given, suggested in errors[:2]:
        assert given == WRONG[n] and suggested == _topic(n)
    assert lists["label_error"]["count"] == len(errors)

    # The manual label, the weak label: the confident disagreements only (the weak labels
    # name the true topic, so the planted errors disagree too).
    weak = _findings(wb, "weak_disagreement")
    assert sorted(weak) == sorted(
        [(WEAK_WRONG, "sport", "food")] + [(n, given, _topic(n)) for n, given in WRONG.items()]
    )
    assert WEAK_UNSURE not in {n for n, _, _ in weak}
    # A conflict has no reference label: given is null.
    assert _findings(wb, "annotator_disagreement") == [(DISPUTED, None, None)]
    page = wb.quality_findings("p", "topic", list_name="annotator_disagreement")
    assert page["findings"][0]["score"] == pytest.approx(0.5)
    assert page["findings"][0]["rank"] == 1

    # Each list is its static slice, in rank order.
    for list_name, entry in lists.items():
        name = label_quality.slice_name("topic", list_name)
        assert entry["slice"] == name
        found = wb.query(project, {"slice": name}, order_by=f"slice:{name}", limit=1000)
        assert [r["data"]["n"] for r in found["records"]] == [
            n for n, _, _ in _findings(wb, list_name)
        ]


def test_pages_follow_the_rank_with_a_cursor(wb: Workbench) -> None:
    _project(wb)
    _check(wb)
    first = wb.quality_findings("p", "topic", limit=1)
    assert first["total"] >= 2 and len(first["findings"]) == 1
    assert first["findings"][0]["rank"] == 1 and first["next_cursor"]
    second = wb.quality_findings("p", "topic", limit=1, cursor=first["next_cursor"])
    assert second["findings"][0]["rank"] == 2
    assert second["findings"][0]["score"] <= first["findings"][0]["score"]
    every = wb.quality_findings("p", "topic", limit=1000)
    assert [f["id"] for f in every["findings"][:2]] == [
        first["findings"][0]["id"],
        second["findings"][0]["id"],
    ]
    assert every["next_cursor"] is None and every["total"] == len(every["findings"])
    with pytest.raises(ValidationError, match="unknown list"):
        wb.quality_findings("p", "topic", list_name="typos")


class _Killed(Exception):
    pass


def test_a_rerun_is_reused_and_an_interrupted_run_resumes(wb: Workbench) -> None:
    _project(wb)

    def dies_after_two_folds(_done: float, message: str) -> None:
        if message == "fold 2/5":
            raise _Killed

    with pytest.raises(_Killed):
        label_quality.run(
            wb.db, "p", "topic", data_dir=wb.settings.data_dir, progress=dies_after_two_folds
        )
    resumed = label_quality.run(wb.db, "p", "topic", data_dir=wb.settings.data_dir)
    assert resumed["run"]["resumed_chunks"] == 2 and not resumed["run"]["reused"]
    after_resume = _findings(wb, "label_error")

    again = _check(wb)
    assert again["run"]["reused"] and again["run"]["id"] == resumed["run"]["id"]
    assert again["lists"] == resumed["lists"]
    # A reused run puts its slices back where they were deleted.
    wb.delete_slice("p", label_quality.slice_name("topic", "label_error"))
    assert _check(wb)["run"]["reused"]
    name = label_quality.slice_name("topic", "label_error")
    assert wb.query("p", {"slice": name})["total"] == len(after_resume)

    # The same inputs computed at one go give the same list.
    with wb.db.session() as s:
        s.execute(delete(AnalysisRun))
    fresh = _check(wb)
    assert not fresh["run"]["reused"] and fresh["run"]["resumed_chunks"] == 0
    assert _findings(wb, "label_error") == after_resume


def test_refusals_store_nothing(wb: Workbench) -> None:
    _project(wb, embedding=False)
    with pytest.raises(ValidationError, match=r"no ready embedding .*add one \(assay embed"):
        wb.check_quality("p", "topic")
    with pytest.raises(NotFound, match="no label check yet"):
        wb.quality_findings("p", "topic")
    job = wb.add_embedding("p", "text", wait=True)
    assert job["status"] == "done", job["error"]
    with pytest.raises(NotFound):
        wb.check_quality("p", "nope")
    with pytest.raises(NotFound):
        wb.check_quality("p", "topic", embedding="nope")
    wb.add_task("p", "spans", "extraction", attribute="text", labels=["thing"])
    with pytest.raises(ValidationError, match="extraction"):
        wb.check_quality("p", "spans")
    wb.add_task("p", "tags", "multi-label", labels=["a", "b"])
    with pytest.raises(ValidationError, match=r"multi-label .*comes later"):
        wb.check_quality("p", "tags")
    wb.add_task("p", "mood", "classification", labels=["up", "down"])
    for n in range(6):
        wb.annotate("p", f"n={n}", "mood", "up", "ann")
    with pytest.raises(ValidationError, match=r"one class \('up'\)"):
        wb.check_quality("p", "mood")
    wb.annotate("p", "n=6", "mood", "down", "ann")
    with pytest.raises(ValidationError, match="too few labels"):
        wb.check_quality("p", "mood")  # a class of one record has no out-of-fold model
    with pytest.raises(ValidationError, match="too few labels"):
        wb.check_quality("p", "topic", folds=81)  # more folds than labeled records
    with pytest.raises(ValidationError, match="folds"):
        wb.check_quality("p", "topic", folds=1)
    with pytest.raises(ValidationError, match="weak_threshold"):
        wb.check_quality("p", "topic", weak_threshold=1.5)
    assert _stored(wb) == (0, 0, 0)
