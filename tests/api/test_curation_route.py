"""The curation routes on both databases: select, split and its report, label quality,
near-duplicates; each job's result, the pages of the GET routes, and the refusals of issue 14
(a clear 4xx, nothing stored)."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from assay import Workbench

P = "/api/projects/news"
SPORT = ["team", "goal", "match", "coach", "league", "striker", "season", "cup", "referee"]
MONEY = ["shares", "market", "bank", "profit", "investors", "stocks", "rates", "bond", "fund"]
RECORDS = 80  # 40 of each topic, alternating; ids 0..79
LABELED = 60  # ids 0..59 carry a manual label
FLIPPED = (3, 10)  # labeled with the other topic
TWINS = {80: 0, 81: 1}  # exact copies of records 0 and 1; 81 labeled unlike 1 (sport)


def _text(rng: random.Random, i: int) -> str:
    return " ".join(rng.sample(SPORT if i % 2 == 0 else MONEY, 5))


def _right(i: int) -> str:
    return "sport" if i % 2 == 0 else "money"


def _topic(i: int) -> str:
    """The manual label of record ``i``: its topic, the other one where ``FLIPPED``."""
    return ("money" if _right(i) == "sport" else "sport") if i in FLIPPED else _right(i)


def make_project(wb: Workbench, *, embed: bool = True) -> None:
    """Project ``news``: two topics of headlines, manual labels of ``topic`` on the first
    ``LABELED`` (two of them wrong), two exact copies (one labeled unlike its original), and
    (``embed``) the ready embedding ``headline-tfidf-svd``."""
    rng = random.Random(0)
    texts = [_text(rng, i) for i in range(RECORDS)]
    labels: list[str | None] = [_topic(i) if i < LABELED else None for i in range(RECORDS)]
    for copy, original in TWINS.items():
        texts.append(texts[original].upper())  # the same text once normalized
        labels.append(_topic(original) if copy == 80 else "sport")
    frame = pd.DataFrame({"id": range(len(texts)), "headline": texts, "__topic__MANUAL": labels})
    wb.import_dataframe(frame, "news", primary_key=["id"], types={"headline": "text"})
    if embed:
        job = wb.add_embedding("news", "headline", wait=True)
        assert job["status"] == "done", job


def done(response: Any) -> dict[str, Any]:
    """The result of a finished job that a POST ?wait=true answered."""
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] == "done", job
    result: dict[str, Any] = job["result"]
    return result


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


def curation_jobs(wb: Workbench) -> list[str]:
    kinds = ("selection", "split", "quality", "duplicates")
    return [job["kind"] for job in wb.list_jobs("news") if job["kind"] in kinds]


@pytest.fixture
def news(client: TestClient, wb: Workbench) -> TestClient:
    make_project(wb)
    return client


WAIT = {"wait": "true"}


def test_select_stores_a_ranked_slice_and_a_rerun_returns_it(news: TestClient) -> None:
    body = {"size": 8, "strategy": "coreset", "where": {"task": "topic", "state": "none"}}
    first = done(news.post(f"{P}/selections", json=body, params=WAIT))
    assert (first["strategy"], first["used"], first["size"]) == ("coreset", "coreset", 8)
    assert first["pool"] == RECORDS - LABELED  # the copies are labeled
    picked = [r["id"] for r in first["records"]]
    assert len(picked) == len(set(picked)) == 8
    scores = [r["score"] for r in first["records"]]
    assert scores == sorted(scores, reverse=True)
    name = first["slice"]
    assert first["session"]["order_by"] == f"slice:{name}"
    assert first["session"]["path"].startswith("/projects/news/labeling?slice=")
    # The slice holds the picks in their order, and they are the unlabeled records.
    page = news.post(
        f"{P}/records/query", json={"where": {"slice": name}, "order_by": f"slice:{name}"}
    ).json()
    assert [r["id"] for r in page["records"]] == picked
    assert all(int(r["data"]["id"]) >= LABELED for r in page["records"])
    again = done(news.post(f"{P}/selections", json=body, params=WAIT))
    assert again["run"]["reused"] and again["run"]["id"] == first["run"]["id"]
    assert [r["id"] for r in again["records"]] == picked

    body = {"size": 3, "task": "topic", "name": "next"}
    auto = done(news.post(f"{P}/selections", json=body, params=WAIT))
    assert auto["strategy"] == "auto" and auto["used"] != "auto" and auto["reason"]
    assert auto["slice"] == "next"


SELECT_REFUSALS: list[tuple[dict[str, Any], int, str]] = [
    ({"size": 0}, 422, "size"),
    ({"size": 100_001}, 422, "size"),
    ({"size": 5, "strategy": "best"}, 422, "strategy"),
    ({"size": 500, "strategy": "random"}, 422, "500"),
    ({"size": 5, "strategy": "coreset", "embedding": "nope"}, 404, "nope"),
    ({"size": 5, "slice": "nope"}, 404, "nope"),
    ({"size": 5, "where": {"attribute": "nope"}}, 422, "nope"),
    ({"size": 5, "strategy": "uncertainty", "task": "topic", "source": "model"}, 422, "model"),
]


def test_select_refusals_store_nothing(news: TestClient, wb: Workbench) -> None:
    for body, status, says in SELECT_REFUSALS:
        message = error(news.post(f"{P}/selections", json=body, params=WAIT), status)
        assert says in message, (body, message)
    assert curation_jobs(wb) == []
    assert news.get(f"{P}/slices").json() == []


def test_select_name_of_a_slice_no_selection_made_is_a_conflict(news: TestClient) -> None:
    news.post(f"{P}/slices", json={"name": "mine", "kind": "static", "record_ids": [1]})
    body = {"size": 2, "strategy": "random", "name": "mine"}
    assert "mine" in error(news.post(f"{P}/selections", json=body), 409)
    assert error(news.post("/api/projects/none/selections", json=body), 404)


def test_split_report_and_its_refusals(news: TestClient, wb: Workbench) -> None:
    assert error(news.get(f"{P}/splits"), 404)
    for bad in ("train=0.8,test=0.3", "train=0.5,train=0.5", "train=1000,test=1"):
        error(news.post(f"{P}/splits", json={"sets": bad}, params=WAIT), 422)
    error(news.post(f"{P}/splits", json={"sets": "train=1", "task": "nope"}), 404)
    error(news.post(f"{P}/splits", json={"sets": "train=1", "embedding": "nope"}), 404)
    error(news.post(f"{P}/splits", json={"sets": 5}), 422)
    assert curation_jobs(wb) == []
    assert error(news.get(f"{P}/splits"), 404)

    body = {"sets": {"train": 0.5, "test": 0.5}, "seed": 1}
    report = done(news.post(f"{P}/splits", json=body, params=WAIT))
    labeled = LABELED + len(TWINS)
    assert (report["task"], report["seed"], report["records"]) == ("topic", 1, labeled)
    assert [s["name"] for s in report["sets"]] == ["train", "test"]
    assert sum(s["records"] for s in report["sets"]) == labeled
    assert report["duplicates_across_sets"] == 0 and report["duplicate_groups"] >= 2
    assert report["embedding"] == "headline-tfidf-svd"
    assert [d["name"] for d in report["distances"]] == ["train", "test"]
    stored = news.get(f"{P}/splits").json()
    assert stored["sets"] == report["sets"] and stored["run"]["id"] == report["run"]["id"]
    # Records are queried by set; the copies of a record share its set.
    test = news.post(f"{P}/records/query", json={"where": {"set": "test"}, "limit": 500}).json()
    assert test["total"] == report["sets"][1]["records"]
    in_test = {int(r["data"]["id"]) for r in test["records"]}
    assert all((copy in in_test) == (original in in_test) for copy, original in TWINS.items())


def test_quality_lists_and_pages(news: TestClient, wb: Workbench) -> None:
    quality = f"{P}/tasks/topic/quality"
    assert error(news.get(quality), 404)
    result = done(news.post(quality, json={"folds": 3}, params=WAIT))
    assert result["task"] == "topic" and result["embedding"] == "headline-tfidf-svd"
    lists = {summary["list"]: summary for summary in result["lists"]}
    assert lists["label_error"]["slice"] == "quality-topic-label-error"
    assert lists["label_error"]["count"] >= 1

    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = news.get(quality, params=params).json()
        assert page["list"] == "label_error" and len(page["findings"]) <= 1
        found += page["findings"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(found) == page["total"] == lists["label_error"]["count"]
    assert [f["rank"] for f in found] == list(range(1, len(found) + 1))
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    flagged = {int(f["data"]["id"]): f for f in found}
    assert set(FLIPPED) <= set(flagged), "the flipped labels rank among the suspects"
    flipped = flagged[FLIPPED[0]]
    assert (flipped["given"], flipped["suggested"]) == (_topic(FLIPPED[0]), _right(FLIPPED[0]))
    weak = news.get(quality, params={"list": "weak_disagreement"}).json()
    assert weak["list"] == "weak_disagreement" and weak["total"] == 0
    error(news.get(quality, params={"cursor": "not-a-cursor"}), 422)


def test_quality_refusals_store_nothing(news: TestClient, wb: Workbench) -> None:
    quality = f"{P}/tasks/topic/quality"
    error(news.post(f"{P}/tasks/nope/quality", json={}), 404)
    error(news.post(quality, json={"embedding": "nope"}), 404)
    error(news.post(quality, json={"folds": 1}), 422)
    error(news.post(quality, json={"weak_threshold": 0}), 422)
    news.post(f"{P}/tasks", json={"name": "spans", "type": "extraction", "attribute": "headline"})
    assert "extraction" in error(news.post(f"{P}/tasks/spans/quality", json={}), 422)
    error(news.get(quality, params={"list": "nope"}), 422)
    error(news.get(quality, params={"limit": 501}), 422)
    assert curation_jobs(wb) == []
    assert error(news.get(quality), 404)


def test_duplicates_groups_and_pages(news: TestClient) -> None:
    result = done(news.post(f"{P}/duplicates", json={}, params=WAIT))
    assert (result["kind"], result["attribute"]) == ("exact", "headline")
    assert result["groups"] >= 2 and result["mixed"] >= 1
    groups: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = news.get(f"{P}/duplicates", params=params).json()
        groups += page["page"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(groups) == result["groups"]
    assert [g["size"] for g in groups] == sorted((g["size"] for g in groups), reverse=True)
    members = {frozenset(int(r["data"]["id"]) for r in g["records"]): g for g in groups}
    assert members[frozenset({1, 81})]["mixed_labels"] is True
    assert members[frozenset({0, 80})]["mixed_labels"] is False
    mixed = news.get(f"{P}/duplicates", params={"mixed_only": "true"}).json()
    assert mixed["page"] and all(g["mixed_labels"] for g in mixed["page"])
    assert len(mixed["page"]) == result["mixed"]
    error(news.get(f"{P}/duplicates", params={"cursor": "not-a-cursor"}), 422)

    semantic = {"kind": "semantic", "threshold": 0.99}
    found = done(news.post(f"{P}/duplicates", json=semantic, params=WAIT))
    assert found["embedding"] == "headline-tfidf-svd" and found["threshold"] == 0.99
    assert (
        news.get(f"{P}/duplicates", params={"kind": "semantic"}).json()["groups"]
        == (found["groups"])
    )


def test_duplicates_refusals_store_nothing(news: TestClient, wb: Workbench) -> None:
    error(news.get(f"{P}/duplicates", params={"kind": "lexical"}), 404)
    error(news.post(f"{P}/duplicates", json={"kind": "fuzzy"}), 422)
    error(news.post(f"{P}/duplicates", json={"kind": "lexical", "threshold": 1.5}), 422)
    error(news.post(f"{P}/duplicates", json={"kind": "lexical", "threshold": 0}), 422)
    error(news.post(f"{P}/duplicates", json={"attribute": "nope"}), 404)
    error(news.post(f"{P}/duplicates", json={"attribute": "id"}), 422)
    error(news.post(f"{P}/duplicates", json={"kind": "semantic", "embedding": "nope"}), 404)
    error(news.post("/api/projects/none/duplicates", json={}), 404)
    assert curation_jobs(wb) == []
