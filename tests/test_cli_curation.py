"""``assay select``, ``assay split``, ``assay quality`` and ``assay duplicates``, in-process,
on both databases: what each prints, and a refusal as one line on stderr with exit status 1."""

from __future__ import annotations

import json
import random
from typing import Any

import pandas as pd
from test_cli import Run, run  # noqa: F401  (the fixture)

from assay import Workbench

SPORT = ["team", "goal", "match", "coach", "league", "striker", "season", "cup", "referee"]
MONEY = ["shares", "market", "bank", "profit", "investors", "stocks", "rates", "bond", "fund"]
RECORDS, LABELED = 60, 40  # ids 0..59; the first 40 labeled
FLIPPED = 5  # a money headline labeled sport


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _project(wb: Workbench, *, embed: bool = True) -> None:
    """Project ``news`` (key ``nid``): headlines of two topics, ``topic`` labels on the first
    ``LABELED`` (record ``FLIPPED`` wrong), record 60 a copy of record 0 labeled unlike it;
    with ``embed`` its embedding ``headline-tfidf-svd``. Made through the Workbench the
    commands share the database with: a command's own Workbench is not closed, and its
    reactions to an import would run on after the test."""
    rng = random.Random(1)
    texts = [" ".join(rng.sample(SPORT if i % 2 == 0 else MONEY, 5)) for i in range(RECORDS)]
    labels = [
        None if i >= LABELED else "sport" if i % 2 == 0 or i == FLIPPED else "money"
        for i in range(RECORDS)
    ]
    frame = pd.DataFrame(
        {
            "nid": range(RECORDS + 1),
            "headline": [*texts, texts[0] + "!"],
            "__topic__MANUAL": [*labels, "money"],
        }
    )
    wb.import_dataframe(frame, "news", primary_key=["nid"], types={"headline": "text"})
    if embed:
        assert wb.add_embedding("news", "headline", wait=True)["status"] == "done"


def test_select_prints_the_slice_then_the_records_best_first(
    run: Run,  # noqa: F811
    wb: Workbench,
) -> None:
    _project(wb)
    where = json.dumps({"task": "topic", "state": "none"})
    out, err = run("select", "-p", "news", "--size", "6", "--strategy", "coreset",
                   "--where", where, "--name", "next")  # fmt: skip
    head, *records = _lines(out)
    assert head == {
        "slice": "next",
        "strategy": "coreset",
        "used": "coreset",
        "reason": "",
        "session": "/projects/news/labeling?slice=next&order=slice%3Anext",
    }
    assert len(records) == 6 and len({r["id"] for r in records}) == 6
    assert all(LABELED <= r["nid"] < RECORDS for r in records)  # the unlabeled ones
    scores = [r["score"] for r in records]
    assert scores == sorted(scores, reverse=True)
    assert "6 of 20 records by coreset" in err
    # The same again: the stored run, the same picks.
    again, err = run("select", "-p", "news", "--size", "6", "--strategy", "coreset",
                     "--where", where, "--name", "next")  # fmt: skip
    assert _lines(again) == [head, *records]
    assert "unchanged inputs" in err

    _, err = run("select", "-p", "news", "--size", "500", "--strategy", "random", code=1)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    _, err = run("select", "-p", "news", "--size", "2", "--where", "{", code=1)
    assert "--where is not valid JSON" in err


def test_split_prints_the_report(run: Run, wb: Workbench) -> None:  # noqa: F811
    _project(wb, embed=False)
    out, _ = run("split", "-p", "news", "--sets", "train=0.75,test=0.25", "--seed", "3")
    report = json.loads(out)
    assert (report["task"], report["seed"], report["records"]) == ("topic", 3, LABELED + 1)
    assert {s["name"]: s["records"] for s in report["sets"]} == {"train": 31, "test": 10}
    assert report["embedding"] is None and report["distances"] == []
    assert report["duplicates_across_sets"] == 0
    _, err = run("split", "-p", "news", "--sets", "train=0.7,test=0.7", code=1)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_quality_prints_suspects_most_suspect_first(run: Run, wb: Workbench) -> None:  # noqa: F811
    _project(wb)
    out, err = run("quality", "-p", "news", "-t", "topic", "--limit", "3")
    found = _lines(out)
    assert 1 <= len(found) <= 3
    assert [f["rank"] for f in found] == list(range(1, len(found) + 1))
    assert {"id", "headline", "given", "suggested", "score"} <= set(found[0])
    assert all(f["given"] != f["suggested"] for f in found)
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    assert "quality-topic-label-error" in err
    _, err = run("quality", "-p", "news", "-t", "nope", code=1)
    assert "nope" in err and err.startswith("error: ")


def test_duplicates_prints_a_line_per_group(run: Run, wb: Workbench) -> None:  # noqa: F811
    _project(wb, embed=False)
    out, err = run("duplicates", "-p", "news")
    groups = _lines(out)
    copies = [g for g in groups if {r["data"]["nid"] for r in g["records"]} == {0, RECORDS}]
    assert len(copies) == 1 and copies[0]["mixed_labels"] is True and copies[0]["size"] == 2
    assert f"{len(groups)} groups" in err
    _, err = run("duplicates", "-p", "news", "--kind", "semantic", code=1)
    assert err.startswith("error: ") and "embedding" in err
