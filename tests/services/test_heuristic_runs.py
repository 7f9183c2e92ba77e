"""Heuristic runs: progress per partition, cancel between partitions, the result cache
(what invalidates it and what does not), failures that keep the previous votes; on both
databases."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from assay import Workbench
from assay.runtime import job_runner
from assay.runtime.sandbox import Limits
from assay.services import heuristic_runs
from assay.storage.models import Annotation, Record

DIGIT = """
def digit(record):
    if record["headline"][0].text.isdigit():
        return "yes"
"""
# Votes at random: a rerun that ran this code would change them (with certainty, 1,400 coins).
COIN = """
import random

def coin(record):
    return "yes" if random.random() < 0.5 else None
"""
COUNTRY = """
from knowledge import country_related

def country(record):
    if any(term in record["headline"].text for term in country_related):
        return "no"
"""


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    return "cb"


def votes(wb: Workbench, project: str, name: str) -> set[int]:
    """The records a heuristic voted on."""
    heuristic_id = str(wb.get_heuristic(project, name)["id"])
    with wb.db.session() as s:
        return set(
            s.scalars(
                select(Annotation.record_id).where(
                    Annotation.source == "heuristic", Annotation.source_id == heuristic_id
                )
            )
        )


def headlines(wb: Workbench, project: str) -> dict[int, str]:
    with wb.db.session() as s:
        return {i: data["headline"] for i, data in s.execute(select(Record.id, Record.data))}


def run(wb: Workbench, project: str, *names: str, limits: Limits | None = None) -> dict[str, Any]:
    job = wb.run_heuristics(project, list(names) or None, wait=True, limits=limits)
    assert job["status"] in ("done", "failed"), job
    return job


def last_run(wb: Workbench, project: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = wb.get_heuristic(project, name)["last_run"]
    return found


def test_progress_per_partition_and_cancel_between_them(
    wb: Workbench, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb.add_heuristic(project, "clickbait", "digit", DIGIT)
    wb.add_heuristic(project, "clickbait", "coin", COIN)
    monkeypatch.setattr(heuristic_runs, "PARTITION", 500)
    seen: list[tuple[float, str]] = []
    call = job_runner.JobProgress.__call__

    def spy(self: job_runner.JobProgress, done: float, message: str = "") -> None:
        seen.append((done, message))
        call(self, done, message)

    monkeypatch.setattr(job_runner.JobProgress, "__call__", spy)
    assert run(wb, project)["status"] == "done"
    # Three partitions of the 1,400 records, each run by both heuristics.
    assert [m for _, m in seen[:4]] == [
        f"2 heuristics: {n} / 2,800 records" for n in ("0", "1,000", "2,000", "2,800")
    ]
    assert [round(d, 3) for d, _ in seen[:4]] == [0.0, 0.357, 0.714, 1.0]

    before = votes(wb, project, "coin")
    wb.update_heuristic(project, "coin", code=COIN + "\n")  # a new key: everything runs

    def cancel_after_first(self: job_runner.JobProgress, done: float, message: str = "") -> None:
        if message.startswith("coin: 500 /"):
            wb.cancel_job(self.job_id)
        call(self, done, message)

    monkeypatch.setattr(job_runner.JobProgress, "__call__", cancel_after_first)
    job = wb.run_heuristics(project, ["coin"], wait=True)
    assert job["status"] == "cancelled"
    assert votes(wb, project, "coin") == before  # nothing of the cancelled run is stored


def test_a_rerun_is_served_from_the_cache_until_a_record_changes(
    wb: Workbench, project: str
) -> None:
    wb.add_heuristic(project, "clickbait", "coin", COIN)
    wb.add_heuristic(project, "clickbait", "digit", DIGIT)
    run(wb, project)
    first = last_run(wb, project, "coin")
    assert (first["records"], first["ran"], first["cached"]) == (1400, 1400, 0)
    coin = votes(wb, project, "coin")
    assert 500 < len(coin) < 900

    digit = votes(wb, project, "digit")
    run(wb, project)
    again = last_run(wb, project, "coin")
    assert (again["ran"], again["cached"], again["votes"]) == (0, 1400, first["votes"])
    assert votes(wb, project, "coin") == coin  # the coin was not thrown again
    assert wb.get_heuristic(project, "digit")["statistics"]["hits"] == len(digit)

    # One record changes (an upsert by its key): only its bucket of ids runs.
    upsert = pd.DataFrame([{"running_id": 3, "headline": "7 reasons to visit"}])
    wb.import_dataframe(upsert, project, primary_key=["running_id"])
    run(wb, project)
    after = last_run(wb, project, "digit")
    assert after["records"] == 1400 and 0 < after["ran"] <= 1 << heuristic_runs.BUCKET_BITS
    assert after["ran"] + after["cached"] == 1400
    changed = wb.get_record(project, "running_id=3")["id"]
    assert votes(wb, project, "digit") == digit | {changed}
    # Votes of the records in buckets that did not run are the cached ones.
    thrown = votes(wb, project, "coin") ^ coin
    assert thrown and all(i >> heuristic_runs.BUCKET_BITS == changed >> 10 for i in thrown)

    # A new record: its bucket runs.
    added = pd.DataFrame([{"running_id": 5000, "headline": "9 new ones"}])
    wb.import_dataframe(added, project, primary_key=["running_id"])
    run(wb, project)
    new = wb.get_record(project, "running_id=5000")["id"]
    assert new in votes(wb, project, "digit")
    assert 0 < last_run(wb, project, "digit")["ran"] < 1401


def test_what_invalidates_the_cache(wb: Workbench, project: str) -> None:
    wb.add_terms(project, "country_related", ["France"])
    wb.add_heuristic(project, "clickbait", "country", COUNTRY)
    wb.add_heuristic(project, "clickbait", "coin", COIN)
    run(wb, project)
    france = votes(wb, project, "country")
    assert france

    # A grown lookup list: the heuristic that imports it runs again; the other does not.
    wb.add_terms(project, "country_related", ["Iceland"])
    run(wb, project)
    assert last_run(wb, project, "country")["ran"] == 1400
    assert last_run(wb, project, "coin")["cached"] == 1400
    texts = headlines(wb, project)
    assert france == {i for i, text in texts.items() if "France" in text}
    grown = {i for i, text in texts.items() if "France" in text or "Iceland" in text}
    assert votes(wb, project, "country") == grown != france

    # New code runs everything; so does a renamed label (the task's labels are in the key).
    wb.update_heuristic(project, "coin", code=COIN.replace("0.5", "0.4"))
    run(wb, project, "coin")
    assert last_run(wb, project, "coin")["ran"] == 1400
    wb.update_label(project, "clickbait", "no", new_name="news")
    run(wb, project, "country")
    assert last_run(wb, project, "country")["ran"] == 1400


def test_a_failing_heuristic_keeps_its_votes_and_the_others_are_stored(
    wb: Workbench, project: str
) -> None:
    wb.add_heuristic(project, "clickbait", "digit", DIGIT)
    wb.add_heuristic(project, "clickbait", "coin", COIN)
    run(wb, project)
    digit, coin = votes(wb, project, "digit"), votes(wb, project, "coin")
    wb.update_heuristic(project, "digit", code="def digit(record):\n    return 1 / 0\n")
    wb.update_heuristic(project, "coin", code=COIN + "\n")
    job = run(wb, project)
    assert job["status"] == "failed"
    assert "digit" in job["error"] and "ZeroDivisionError" in job["error"]
    assert votes(wb, project, "digit") == digit  # kept
    assert votes(wb, project, "coin") != coin  # stored: the coin was thrown again
    assert last_run(wb, project, "digit")["code_version"] == 1

    # A run that ends as a whole (a timeout) fails only the code that caused it.
    loop = "def digit(record):\n    while True:\n        pass\n"
    wb.update_heuristic(project, "digit", code=loop)
    wb.update_heuristic(project, "coin", code=COIN)
    job = run(wb, project, limits=Limits(timeout_s=2, cpu_s=5))
    assert job["status"] == "failed" and "digit: the code ran longer" in job["error"]
    assert votes(wb, project, "digit") == digit
    assert last_run(wb, project, "coin")["code_version"] == 3
