"""The reactions to writes fire from one place, whichever public method writes.

Labels change -> the task's heuristic statistics are refreshed (off the request path);
records change -> the project's ready embeddings are computed again (a job each). Every
public method of the Workbench is classified below: a new method that writes must say what
it changes, or this file fails naming it. On both databases.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assay import Workbench

P = "reactions"
HEADLINES = [f"headline number {i} about {topic}" for i in range(24) for topic in ["cats"]]
# Labeled so that a model trains (and predictions exist to review): even rids yes, odd no.
TRAINING = {rid: ("yes" if rid % 2 == 0 else "no") for rid in range(5, 24)}
CODE = """
def cats(record):
    if "cats" in record["headline"].text:
        return "yes"
"""
Write = Callable[[Workbench, Path], Any]

# What each public write changes: labels, records or both.
LABEL_WRITES: dict[str, Write] = {
    "annotate": lambda wb, tmp: wb.annotate(P, "rid=1", "kind", "yes", "ann"),
    "remove_annotation": lambda wb, tmp: wb.remove_annotation(P, "rid=0", "kind", "ann"),
    "annotate_file": lambda wb, tmp: wb.annotate_file(
        P, _file(tmp, "key,task,label,annotator\n2,kind,no,ann\n")
    ),
    "update_label": lambda wb, tmp: wb.update_label(P, "kind", "no", new_name="nope"),
    "delete_label": lambda wb, tmp: wb.delete_label(P, "kind", "no"),
    "review_prediction": lambda wb, tmp: wb.review_prediction(
        P, "kind", _pending(wb), "correct", "reviewer", label="no"
    ),
}
RECORD_WRITES: dict[str, Write] = {
    "run_calculated_attribute": lambda wb, tmp: wb.run_calculated_attribute(P, "length", wait=True),
    "predict": lambda wb, tmp: wb.predict(
        P, "kind", records=[{"rid": 101, "headline": "stored"}], store=True
    ),
}
BOTH_WRITES: dict[str, Write] = {
    "import_file": lambda wb, tmp: wb.import_file(_file(tmp, "rid,headline\n99,more cats\n"), P),
    "start_import": lambda wb, tmp: wb.start_import(
        _file(tmp, "rid,headline\n98,even more cats\n"), P, wait=True
    ),
    "import_dataframe": lambda wb, tmp: wb.import_dataframe(
        pd.DataFrame({"rid": [97], "headline": ["cats again"]}), P
    ),
}
# Methods that change neither labels nor records (or only what they themselves refresh:
# a heuristic's run stores its statistics, weak supervision is a source of its own).
NEITHER = {
    "add_active_learner", "add_calculated_attribute", "add_embedding", "add_heuristic", "add_label",
    "add_model_heuristic", "add_task", "add_terms", "add_zero_shot", "after_labels_changed",
    "after_live_moved", "after_records_changed", "archive", "cancel_job", "cancel_try_run",
    "check_quality", "close", "create_lookup_list", "create_outlier_slice", "create_project",
    "create_sample", "create_slice", "delete_calculated_attribute", "delete_embedding",
    "delete_heuristic", "delete_lookup_list", "delete_project", "delete_slice", "delete_task",
    "duplicate_groups", "executor", "export", "export_model", "export_terms", "find_duplicates",
    "get_calculated_attribute", "get_embedding", "get_heuristic", "get_job", "get_lookup_list",
    "get_model", "get_project", "get_record", "get_slice", "import_terms",
    "list_calculated_attributes", "list_embedders", "list_embeddings", "list_heuristics",
    "list_jobs", "list_lookup_lists", "list_models", "list_predictions", "list_projects",
    "list_slices", "list_tasks", "live_accuracy", "model_settings", "models_overview", "outliers",
    "preview_file", "promote_model", "quality_findings", "query", "remove_terms", "rename_slice",
    "rename_task", "rollback_model", "run_embedding", "run_heuristics", "run_snippet", "sandbox",
    "select", "serving", "similar", "split", "split_report", "statistics", "train_model",
    "try_calculated_attribute", "try_heuristic", "update_calculated_attribute", "update_heuristic",
    "update_model_settings", "weak_supervise", "weak_supervision_info",
}  # fmt: skip


def _file(tmp: Path, text: str) -> Path:
    path = tmp / f"file-{abs(hash(text))}.csv"
    path.write_text(text)
    return path


def test_every_public_method_says_what_it_changes() -> None:
    public = {name for name, _ in inspect.getmembers(Workbench) if not name.startswith("_")}
    public -= {"settings", "db", "statistics_refresher"}
    classified = set(LABEL_WRITES) | set(RECORD_WRITES) | set(BOTH_WRITES) | NEITHER
    assert public - classified == set(), "classify these methods in tests/test_reactions.py"
    assert classified - public == set(), "these methods are gone: drop them here"


@pytest.fixture
def project(wb: Workbench, tmp_path: Path) -> str:
    frame = pd.DataFrame({"rid": range(len(HEADLINES)), "headline": HEADLINES})
    wb.import_dataframe(frame, P, primary_key=["rid"])
    wb.add_task(P, "kind", "classification", labels=["yes", "no"])
    wb.annotate(P, "rid=0", "kind", "yes", "ann")
    for rid, label in TRAINING.items():
        wb.annotate(P, f"rid={rid}", "kind", label, "ann")
    trained = wb.train_model(P, "kind", algorithm="tfidf-nb", wait=True)
    assert trained["status"] == "done", trained
    wb.predict(P, "kind", records=[{"rid": 100, "headline": "to review"}], store=True)
    wb.add_heuristic(P, "kind", "cats", CODE)
    assert wb.run_heuristics(P, wait=True)["status"] == "done"
    wb.add_calculated_attribute(P, "length", "integer", "def length(r):\n    return 1\n")
    embedded = wb.add_embedding(P, "headline", wait=True)
    assert embedded["status"] == "done", embedded
    assert wb.statistics_refresher.flush()
    _settle(wb)
    return P


def _pending(wb: Workbench) -> str:
    return wb.list_predictions(P, "kind")["predictions"][0]["id"]


def _settle(wb: Workbench) -> None:
    """Wait for the embedding jobs that reactions started."""
    for job in wb.list_jobs(P):
        if job["status"] in ("queued", "running"):
            _wait(wb, job["id"])


def _wait(wb: Workbench, job_id: int) -> None:
    import time

    deadline = time.monotonic() + 60
    while wb.get_job(job_id)["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, wb.get_job(job_id)
        time.sleep(0.05)


def _embedding_jobs(wb: Workbench) -> int:
    return sum(job["kind"] == "embedding" for job in wb.list_jobs(P))


@pytest.mark.parametrize("write", [*LABEL_WRITES, *RECORD_WRITES, *BOTH_WRITES], ids=str)
def test_a_write_fires_the_reactions_its_change_calls_for(
    wb: Workbench, project: str, tmp_path: Path, write: str
) -> None:
    writes = {**LABEL_WRITES, **RECORD_WRITES, **BOTH_WRITES}
    refreshes, embedding_jobs = wb.statistics_refresher.runs, _embedding_jobs(wb)
    writes[write](wb, tmp_path)
    assert wb.statistics_refresher.flush()
    _settle(wb)
    labels = write in LABEL_WRITES or write in BOTH_WRITES
    records = write in RECORD_WRITES or write in BOTH_WRITES
    assert (wb.statistics_refresher.runs > refreshes) == labels
    assert (_embedding_jobs(wb) > embedding_jobs) == records


def test_deleting_a_label_refreshes_the_statistics_of_its_task(wb: Workbench, project: str) -> None:
    """The cascade deletes the label's votes; the statistics followed nothing before."""
    for rid in range(1, 5):
        wb.annotate(project, f"rid={rid}", "kind", "no", "ann")
    assert wb.statistics_refresher.flush()
    before = wb.get_heuristic(project, "cats")["statistics"]
    assert before["false_positives"] == 4 + list(TRAINING.values()).count("no"), before
    wb.delete_label(project, "kind", "no")
    assert wb.statistics_refresher.flush()
    after = wb.get_heuristic(project, "cats")["statistics"]
    assert after["false_positives"] == 0, after
