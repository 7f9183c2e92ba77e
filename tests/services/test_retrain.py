"""Learning again: after ``retrain_after`` new manual labels, a task that has a model queues
one training (off the labeling path), a burst of labels queues one, and a task that never
trained queues none — on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pandas as pd

from assay import Workbench
from assay.documents import JobPublic

WORDS = {"sport": "goal match team coach final", "money": "bank stocks market profit loan"}


def _project(wb: Workbench, n: int) -> None:
    texts = [f"{WORDS['sport' if i % 2 else 'money']} {i}" for i in range(n)]
    wb.import_dataframe(
        pd.DataFrame({"rid": range(n), "headline": texts}), "p", primary_key=["rid"]
    )
    wb.add_task("p", "topic", "classification", "headline", ["sport", "money"])


def _label(wb: Workbench, rids: range) -> None:
    for rid in rids:  # one call each, as an annotator labels
        wb.annotate("p", f"rid={rid}", "topic", "sport" if rid % 2 else "money", "ann")


def _trainings(wb: Workbench) -> list[JobPublic]:
    return [j for j in wb.list_jobs("p") if j["kind"] == "training"]


def _settle(wb: Workbench, timeout: float = 60.0) -> list[JobPublic]:
    """Run what the watcher has pending, wait for the trainings it queued; all trainings."""
    assert wb.retrain_watcher.flush()
    deadline = time.monotonic() + timeout
    while any(j["status"] in ("queued", "running") for j in _trainings(wb)):
        assert time.monotonic() < deadline, _trainings(wb)
        time.sleep(0.05)
    return _trainings(wb)


def test_new_labels_train_again_once(wb: Workbench) -> None:
    _project(wb, 200)
    _label(wb, range(60))
    wb.update_model_settings("p", "topic", retrain_after=5)
    assert _settle(wb) == []  # never trained: the loop starts with a first training by hand
    first = wb.train_model("p", "topic", algorithm="tfidf-nb", wait=True)
    assert first["status"] == "done", first["error"]

    _label(wb, range(60, 64))  # one short of retrain_after
    assert len(_settle(wb)) == 1
    _label(wb, range(64, 65))
    jobs = _settle(wb)
    assert len(jobs) == 2 and jobs[0]["status"] == "done", jobs[0]["error"]
    retrained = jobs[0]["result"]
    assert retrained is not None and retrained["version"] == 2
    assert retrained["algorithm"] == retrained["requested"] == "tfidf-nb"  # the live one's

    # A burst of 20 labels: one training. Whether the watcher wakes after the burst (one
    # call for the lot) or during it (a training then counts from there), the rest of the
    # burst stays under the threshold, so this holds however slow the machine is.
    wb.update_model_settings("p", "topic", retrain_after=11)
    _label(wb, range(65, 85))
    jobs = _settle(wb)
    assert len(jobs) == 3 and jobs[0]["status"] == "done", jobs[0]["error"]
    assert [v["version"] for v in wb.list_models("p", "topic")] == [3, 2, 1]


def test_retrain_after_zero_never_trains_again(wb: Workbench) -> None:
    _project(wb, 100)
    _label(wb, range(40))
    first = wb.train_model("p", "topic", algorithm="tfidf-nb", wait=True)
    assert first["status"] == "done", first["error"]
    wb.update_model_settings("p", "topic", retrain_after=0)
    _label(wb, range(40, 100))
    assert len(_settle(wb)) == 1
