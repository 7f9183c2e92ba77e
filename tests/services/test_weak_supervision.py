"""Weak supervision of classification, multi-label and extraction tasks; its last-run info;
the "heuristics disagree" filter; statistics that follow manual labels in the background. On
both databases."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assay import Workbench

HEADLINES = [
    "10 things you never knew about France",
    "You will not believe what happened in Poland",
    "Parliament of France passes budget",
    "Poland and France sign trade deal",
    "7 reasons you should visit Poland",
    "Stocks fall in early trading",
    "This cat from France will make you smile",
    "Storm hits coast of Poland",
    "5 tricks doctors hate",
    "Government announces new tax plan",
    "Why you should never eat this",
    "Election results in France delayed",
]

TOPIC_FRANCE = """
def france(record):
    if "France" in record["headline"].text:
        return ["europe", "politics"] if "Parliament" in record["headline"].text else ["europe"]
"""
TOPIC_POLAND = """
def poland(record):
    if "Poland" in record["headline"].text:
        return ["europe"]
"""
TOPIC_POLITICS = """
def politics(record):
    words = ("Parliament", "Election", "Government", "deal")
    if any(w in record["headline"].text for w in words):
        return ["politics"]
"""
# Two span heuristics that overlap: one marks single country tokens, one the country and the
# word before it.
COUNTRY = """
def country(record):
    for token in record["headline"]:
        if token.text in ("France", "Poland"):
            yield "country", token.i, token.i + 1
"""
COUNTRY_AGAIN = """
def country_again(record):
    for token in record["headline"]:
        if token.text in ("France", "Poland"):
            yield "country", token.i, token.i + 1
"""
WIDE = """
def wide(record):
    for token in record["headline"]:
        if token.text in ("France", "Poland") and token.i > 0:
            yield "country", token.i - 1, token.i + 1
"""
DIGIT = """
def digit(record):
    if record["headline"][0].text.isdigit():
        return "clickbait"
"""
YOU = """
def you(record):
    if "you" in record["headline"].text.lower().split():
        return "clickbait"
"""
NEWS = """
def news(record):
    if record["headline"].text[0].isupper() and "you" not in record["headline"].text:
        return "news"
"""


@pytest.fixture
def project(wb: Workbench) -> str:
    frame = pd.DataFrame({"rid": range(len(HEADLINES)), "headline": HEADLINES})
    wb.import_dataframe(frame, "ws", primary_key=["rid"], types={"headline": "text"})
    wb.add_task("ws", "kind", "classification", labels=["clickbait", "news"])
    wb.add_task("ws", "topic", "multi-label", labels=["europe", "politics", "sport"])
    wb.add_task("ws", "places", "extraction", attribute="headline", labels=["country"])
    return "ws"


def _add_and_run(wb: Workbench, project: str, task: str, heuristics: dict[str, str]) -> None:
    for name, code in heuristics.items():
        wb.add_heuristic(project, task, name, code)
    job = wb.run_heuristics(project, list(heuristics), wait=True)
    assert job["status"] == "done", job


def _labels(wb: Workbench, project: str, task: str) -> dict[int, Any]:
    page = wb.query(project, {"task": task, "source": "weak_supervision"}, with_labels=True)
    return {
        r["data"]["rid"]: (
            r["labels"][task]["weak_supervision"],
            r["labels"][task]["weak_supervision_confidence"],
        )
        for r in page["records"]
    }


def test_multi_label(wb: Workbench, project: str) -> None:
    _add_and_run(
        wb,
        project,
        "topic",
        {"france": TOPIC_FRANCE, "poland": TOPIC_POLAND, "politics": TOPIC_POLITICS},
    )
    job = wb.weak_supervise(project, "topic", model="majority", wait=True)
    assert job["status"] == "done", job
    labels = _labels(wb, project, "topic")
    # "france" also speaks of politics (it returned it on rid 2): on rids 3 and 11 it says
    # europe without politics while "politics" says politics: a tie, so no politics there.
    assert labels[0][0] == ["europe"]  # france alone
    assert labels[2][0] == ["europe", "politics"]  # france and politics agree
    assert labels[3][0] == labels[11][0] == ["europe"]
    assert labels[9][0] == ["politics"]  # politics alone
    assert 5 not in labels  # no votes
    assert all(0.5 < confidence <= 1.0 for _, confidence in labels.values())
    assert job["result"]["labeled"] == len(labels)
    assert job["result"]["ties"] == 2  # rids 3 and 11, politics
    overview = wb.statistics(project, "topic")
    assert {d["label"]: d["weak_supervision"] for d in overview["distribution"]} == {
        name: sum(name in value for value, _ in labels.values())
        for name in ("europe", "politics", "sport")
    }
    assert overview["weakly_supervised"] == len(labels)
    # The generative default runs too, and a rerun replaces the labels.
    for _ in range(2):
        assert wb.weak_supervise(project, "topic", wait=True)["status"] == "done"
    assert set(_labels(wb, project, "topic")) == set(labels)


def test_extraction_with_overlapping_spans(wb: Workbench, project: str, tmp_path: Path) -> None:
    _add_and_run(
        wb, project, "places", {"country": COUNTRY, "country_again": COUNTRY_AGAIN, "wide": WIDE}
    )
    job = wb.weak_supervise(project, "places", model="majority", wait=True)
    assert job["status"] == "done", job
    labels = _labels(wb, project, "places")
    # "10 things you never knew about France": two sources mark "France", "wide" marks
    # "about France". A token outside a source's spans is its abstain, so "about" is
    # "wide"'s alone; at "France" more sources start a span than carry one on: two spans.
    spans, confidence = labels[0]
    assert spans == [
        {"label": "country", "start_token": 5, "end_token": 6},
        {"label": "country", "start_token": 6, "end_token": 7},
    ]
    assert 0.0 < confidence <= 1.0
    # rid 3, "Poland and France sign trade deal": "wide" covers "and France" only.
    assert [(s["start_token"], s["end_token"]) for s in labels[3][0]] == [(0, 1), (1, 2), (2, 3)]
    assert job["result"]["labels"] == sum(len(s) for s, _ in labels.values())
    # Exported like manual spans, with their text.
    out = tmp_path / "out.json"
    wb.export(project, "json", out)
    rows = {row["rid"]: row for row in json.loads(out.read_text(encoding="utf-8"))}
    assert rows[0]["headline__places__WEAK_SUPERVISION"] == [
        {"label": "country", "start_token": 5, "end_token": 6, "text": "about"},
        {"label": "country", "start_token": 6, "end_token": 7, "text": "France"},
    ]
    assert rows[0]["headline__places__WEAK_SUPERVISION__confidence"] == pytest.approx(confidence)
    # The weighted vote estimates span precisions from the reference spans: "wide" has none
    # right, so its votes weigh nothing and "about" is left out.
    wb.annotate(project, "rid=0", "places", "country", "ann", span=(6, 7))
    assert wb.weak_supervise(project, "places", model="weighted", wait=True)["status"] == "done"
    assert _labels(wb, project, "places")[0][0] == spans[1:]


def test_last_run_info_and_staleness(wb: Workbench, project: str) -> None:
    assert wb.weak_supervision_info(project, "kind") is None
    _add_and_run(wb, project, "kind", {"digit": DIGIT, "you": YOU, "news": NEWS})
    job = wb.weak_supervise(project, "kind", model="weighted", params={"c": 5}, wait=True)
    assert job["status"] == "failed" and "label some of them first" in job["error"]
    wb.annotate(project, "rid=0", "kind", "clickbait", "ann")
    wb.annotate(project, "rid=2", "kind", "news", "ann")
    job = wb.weak_supervise(project, "kind", model="weighted", params={"c": 5}, wait=True)
    assert job["status"] == "done", job
    info = wb.weak_supervision_info(project, "kind")
    assert info is not None
    assert {k: info[k] for k in ("task", "model", "params", "heuristics", "stale")} == {
        "task": "kind",
        "model": "weighted",
        "params": {"c": 5},
        "heuristics": ["digit", "news", "you"],
        "stale": False,
    }
    assert [u["code_version"] for u in info["used"]] == [1, 1, 1]
    assert (
        info["labeled"]
        == wb.query(project, {"task": "kind", "source": "weak_supervision"})["total"]
    )
    assert info["finished_at"] == job["result"]["finished_at"]
    assert set(info["seconds"]) == {"read_votes", "fit", "predict", "store"}
    assert wb.weak_supervision_info(project, "topic") is None  # per task
    # A code change makes it stale, and so does a rerun of that heuristic.
    wb.update_heuristic(project, "you", code=YOU + "\n")
    info = wb.weak_supervision_info(project, "kind")
    assert info is not None and info["stale_reasons"] == ["heuristic 'you' has new code"]
    wb.run_heuristics(project, ["you"], wait=True)
    info = wb.weak_supervision_info(project, "kind")
    assert info is not None and info["stale_reasons"] == ["heuristic 'you' has new code"]
    wb.weak_supervise(project, "kind", model="majority", heuristics=["digit", "you"], wait=True)
    info = wb.weak_supervision_info(project, "kind")
    assert info is not None and (info["model"], info["stale"]) == ("majority", False)
    wb.run_heuristics(project, ["news"], wait=True)  # not used in that run: still fresh
    assert wb.weak_supervision_info(project, "kind")["stale"] is False  # type: ignore[index]
    wb.run_heuristics(project, ["digit"], wait=True)
    info = wb.weak_supervision_info(project, "kind")
    assert info is not None and info["stale_reasons"] == ["heuristic 'digit' ran again"]
    wb.delete_heuristic(project, "digit")
    info = wb.weak_supervision_info(project, "kind")
    assert info is not None and "heuristic 'digit' was deleted" in info["stale_reasons"]


def test_heuristics_disagree_filter(wb: Workbench, project: str) -> None:
    _add_and_run(wb, project, "kind", {"digit": DIGIT, "you": YOU, "news": NEWS})
    _add_and_run(
        wb,
        project,
        "topic",
        {"france": TOPIC_FRANCE, "poland": TOPIC_POLAND, "politics": TOPIC_POLITICS},
    )
    _add_and_run(wb, project, "places", {"country": COUNTRY, "wide": WIDE})

    def rids(where: dict[str, Any]) -> list[int]:
        return sorted(r["data"]["rid"] for r in wb.query(project, where, limit=100)["records"])

    # The same rules, read from the headlines.
    digit = {i for i, h in enumerate(HEADLINES) if h.split()[0].isdigit()}
    you = {i for i, h in enumerate(HEADLINES) if "you" in h.lower().split()}
    news = {i for i, h in enumerate(HEADLINES) if h[0].isupper() and "you" not in h}
    clickbait = digit | you
    assert rids({"task": "kind", "source": "heuristic", "state": "conflict"}) == sorted(
        clickbait & news
    )
    # france and poland agree on rid 3 (["europe"]), politics says ["politics"] there and
    # on rid 11; on rid 2 france says ["europe", "politics"] and politics ["politics"].
    assert rids({"task": "topic", "source": "heuristic", "state": "conflict"}) == [2, 3, 11]
    # Different span sets wherever "wide" reaches a word before the country.
    countries = ("France", "Poland")
    places = [i for i, h in enumerate(HEADLINES) if any(w in h.split()[1:] for w in countries)]
    assert rids({"task": "places", "source": "heuristic", "state": "conflict"}) == places
    # No manual label, and at least one heuristic voted.
    wb.annotate(project, "rid=0", "kind", "clickbait", "ann")
    unlabeled_voted = {
        "and": [
            {"task": "kind", "state": "none"},
            {"task": "kind", "source": "heuristic", "state": "labeled"},
        ]
    }
    assert rids(unlabeled_voted) == sorted((clickbait | news) - {0})
    assert rids({"task": "kind", "source": "weak_supervision", "state": "conflict"}) == []


def test_disagreement_is_the_same_on_both_databases(sqlite_wb: Workbench, pg_wb: Workbench) -> None:
    found = []
    for wb in (sqlite_wb, pg_wb):
        frame = pd.DataFrame({"rid": range(len(HEADLINES)), "headline": HEADLINES})
        wb.import_dataframe(frame, "ws", primary_key=["rid"], types={"headline": "text"})
        wb.add_task("ws", "places", "extraction", attribute="headline", labels=["country"])
        wb.add_task("ws", "kind", "classification", labels=["clickbait", "news"])
        _add_and_run(wb, "ws", "places", {"country": COUNTRY, "wide": WIDE})
        _add_and_run(wb, "ws", "kind", {"digit": DIGIT, "you": YOU, "news": NEWS})
        found.append(
            [
                [r["id"] for r in wb.query("ws", where, limit=100)["records"]]
                for where in (
                    {"task": "places", "source": "heuristic", "state": "conflict"},
                    {"task": "kind", "source": "heuristic", "state": "conflict", "negate": True},
                    {"not": {"task": "kind", "source": "heuristic", "state": "conflict"}},
                )
            ]
        )
    assert found[0] == found[1]


def test_statistics_follow_manual_labels_in_the_background(wb: Workbench, project: str) -> None:
    _add_and_run(wb, project, "kind", {"digit": DIGIT, "news": NEWS})
    assert wb.get_heuristic(project, "digit")["statistics"]["true_positives"] == 0
    before = wb.statistics_refresher.runs
    started = time.perf_counter()
    for rid in range(len(HEADLINES)):
        wb.annotate(project, f"rid={rid}", "kind", "clickbait", "ann")
    for rid in range(len(HEADLINES)):
        wb.remove_annotation(project, f"rid={rid}", "kind", "ann")
    for _ in range(2):
        for rid in range(len(HEADLINES)):
            wb.annotate(project, f"rid={rid}", "kind", "clickbait", "ann")
    labeling = time.perf_counter() - started
    digit = {i for i, h in enumerate(HEADLINES) if h.split()[0].isdigit()}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stats = wb.get_heuristic(project, "digit")["statistics"]
        if stats["true_positives"] == len(digit):
            break
        time.sleep(0.1)
    assert stats["true_positives"] == len(digit)
    assert wb.get_heuristic(project, "news")["statistics"]["false_positives"] > 0
    assert wb.statistics_refresher.idle(10)
    calls = len(HEADLINES) * 4
    refreshes = wb.statistics_refresher.runs - before
    # Coalesced: at most one refresh a second while labeling, plus the last one.
    assert 1 <= refreshes <= labeling + 2 < calls, (refreshes, labeling)


def test_non_finite_parameters_are_refused_naming_them(wb: Workbench, project: str) -> None:
    """NaN passed the precisions' range check and became NaN confidences (null on SQLite)."""
    _add_and_run(wb, project, "kind", {"digit": DIGIT, "you": YOU, "news": NEWS})
    nan = float("nan")
    job = wb.weak_supervise(
        project, "kind", model="weighted", params={"precisions": [0.9, nan, 0.8]}, wait=True
    )
    assert job["status"] == "failed"
    assert job["error"] == (
        "label model 'weighted': params.precisions[1] is a non-finite number (nan)"
    )
    assert _labels(wb, project, "kind") == {}


def test_a_model_giving_non_finite_confidences_stores_nothing(
    wb: Workbench, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.services import weak_supervision

    _add_and_run(wb, project, "kind", {"digit": DIGIT, "you": YOU, "news": NEWS})
    assert wb.weak_supervise(project, "kind", model="majority", wait=True)["status"] == "done"
    before = _labels(wb, project, "kind")
    classify = weak_supervision._classify

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result = classify(*args, **kwargs)
        result["confidence"] = result["confidence"] + float("nan")
        return result

    monkeypatch.setitem(weak_supervision._FITS, "classification", broken)
    job = wb.weak_supervise(project, "kind", model="majority", wait=True)
    assert job["status"] == "failed"
    assert "label model 'majority' gave" in job["error"]
    assert "non-finite confidence(s)" in job["error"] and "nothing was stored" in job["error"]
    assert _labels(wb, project, "kind") == before
