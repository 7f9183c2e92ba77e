"""The models routes on both databases: train, list, show, promote, roll back, download an
artifact, predict, review, live accuracy; and the bad inputs of issue 13, each a clear 4xx."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay import Workbench
from assay.api.routes.models import MAX_BODY_BYTES
from assay.services import samples

TASK = "/api/projects/cb/tasks/clickbait"
LABELED = 300


def label_sample(wb: Workbench, folder: Path, n: int = LABELED, *, only: str | None = None) -> None:
    """Give the first ``n`` records of the sample ``cb`` their gold clickbait label as manual
    labels (``only``: just the records of that label)."""
    rows = [
        f"{answer['running_id']},clickbait,{answer['clickbait']},ann"
        for answer in samples.gold()[:n]
        if only is None or answer["clickbait"] == only
    ]
    labels = folder / "labels.csv"
    labels.write_text("key,task,label,annotator\n" + "\n".join(rows) + "\n", encoding="utf-8")
    wb.annotate_file("cb", labels)


def train(client: TestClient, **body: Any) -> dict[str, Any]:
    """Train (waiting for the job); the finished job."""
    response = client.post(f"{TASK}/models", json=body, params={"wait": "true"})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] == "done", job
    return job


def served_by(client: TestClient, version: int, within: float = 3.0) -> bool:
    """Whether predictions come from ``version`` within ``within`` seconds (serving checks
    the live pointer every half second), every answer naming one version."""
    deadline = time.monotonic() + within
    while True:
        answer = client.post(f"{TASK}/predict", json={"texts": ["a", "b", "c"]}).json()
        assert {p["model_version"] for p in answer["predictions"]} == {answer["model_version"]}
        if answer["model_version"] == version:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def error(response: Any, status: int, code: str = "invalid") -> str:
    """The message of an error answer of this status and code."""
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    message: str = body["message"]
    return message


@pytest.fixture
def labeled(cb_client: TestClient, wb: Workbench, tmp_path: Path) -> TestClient:
    label_sample(wb, tmp_path)
    return cb_client


def test_train_list_show_predict_review_promote_rollback(
    labeled: TestClient, wb: Workbench
) -> None:
    client = labeled
    job = train(client, algorithm="tfidf-logreg")
    assert job["kind"] == "training" and job["result"]["version"] == 1

    overview = client.get(f"{TASK}/models").json()
    assert overview["live_version"] == 1 and [v["version"] for v in overview["versions"]] == [1]
    first = client.get(f"{TASK}/models/1").json()
    assert (first["status"], first["algorithm"]) == ("live", "tfidf-logreg")
    assert first["decision"]["promoted"] is True
    tested = first["metrics"]["test_records"]
    assert 0 < tested < LABELED and first["training"]["records"] + tested <= LABELED
    assert 0.5 < first["metrics"]["accuracy"] <= 1

    texts = ["You Won't Believe What This Cat Did Next", "Parliament passes the budget"]
    result = client.post(f"{TASK}/predict", json={"texts": texts}).json()
    assert result["model_version"] == 1 and len(result["predictions"]) == 2
    for item in result["predictions"]:
        assert item["label"] in ("yes", "no") and item["labels"] is None
        assert item["confidence"] == pytest.approx(max(item["scores"].values()))
        assert item["model_version"] == 1 and item["record_id"] is None
    records = [{"running_id": 90_000 + i, "headline": text} for i, text in enumerate(texts)]
    stored = client.post(f"{TASK}/predict", json={"records": records, "store": True}).json()
    assert all(item["record_id"] is not None for item in stored["predictions"])

    # The review queue holds all four; review the stored two (they become manual labels).
    client.patch(f"{TASK}/models/settings", json={"audit_share": 0.0}).raise_for_status()
    queue = client.get(f"{TASK}/predictions", params={"limit": 3}).json()
    assert queue["total"] == 4 and len(queue["predictions"]) == 3 and queue["next_cursor"]
    rest = client.get(f"{TASK}/predictions", params={"cursor": queue["next_cursor"]}).json()
    ids = [p["id"] for p in queue["predictions"] + rest["predictions"]]
    assert len(set(ids)) == 4
    accept_id, correct_id = (item["prediction_id"] for item in stored["predictions"])
    by_id = {p["id"]: p for p in queue["predictions"] + rest["predictions"]}
    for prediction_id, body in (
        (accept_id, {"action": "accept"}),
        (correct_id, {"action": "correct", "label": "yes"}),
    ):
        if by_id[prediction_id]["audit"]:  # an audit item is answered with the label
            body = {"action": "accept", "label": "no"}
        reviewed = client.post(
            f"{TASK}/predictions/{prediction_id}/review", json={**body, "reviewer": "rev"}
        )
        assert reviewed.status_code == 200, reviewed.text
        assert reviewed.json()["reviewer"] == "rev" and reviewed.json()["status"] != "pending"
    record = stored["predictions"][1]["record_id"]
    manual = wb.get_record("cb", record)["labels"]["clickbait"]["annotations"]
    assert [(a["label"], a["annotator"]) for a in manual if a["source"] == "manual"] in (
        [("yes", "rev")],
        [("no", "rev")],
    )
    again = client.post(
        f"{TASK}/predictions/{accept_id}/review", json={"action": "reject", "reviewer": "rev"}
    )
    error(again, 409, "conflict")
    reviewed_page = client.get(f"{TASK}/predictions", params={"status": "all"}).json()
    assert reviewed_page["total"] == 4
    assert client.get(f"{TASK}/predictions").json()["total"] == 2

    accuracy = client.get(f"{TASK}/live-accuracy").json()
    assert accuracy["model_version"] == 1 and accuracy["reviewed"] <= 2

    second = train(client, algorithm="tfidf-nb")["result"]["version"]
    assert second == 2
    versions = client.get(f"{TASK}/models").json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    decision = versions[0]["decision"]
    assert decision["live_version"] == 1 and decision["metric"] == "macro_f1"

    promoted = client.post(f"{TASK}/models/2/promote").json()
    assert (promoted["version"], promoted["status"]) == (2, "live")
    assert served_by(client, 2)
    back = client.post(f"{TASK}/models/rollback").json()
    assert (back["version"], back["status"]) == (1, "live")
    overview = client.get(f"{TASK}/models").json()
    assert overview["live_version"] == 1
    assert [e["action"] for e in overview["history"]][:2] == ["rollback", "promote"]
    assert served_by(client, 1)
    error(client.post(f"{TASK}/models/rollback"), 409, "conflict")  # nothing before 1

    download = client.get(f"{TASK}/models/2/artifact")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert 'filename="cb-clickbait-v2.assay-model"' in download.headers["content-disposition"]
    assert download.content == wb.export_model("cb", "clickbait", 2)


def test_settings_read_and_change(labeled: TestClient) -> None:
    client = labeled
    settings = client.get(f"{TASK}/models/settings").json()
    assert settings == {
        "retrain_after": 50,
        "audit_share": 0.05,
        "metric": "macro_f1",
        "alpha": 0.05,
        "recall_margin": 0.05,
        "test_fraction": 0.2,
    }
    changed = client.patch(
        f"{TASK}/models/settings", json={"retrain_after": 0, "metric": "accuracy"}
    )
    assert changed.json() == {**settings, "retrain_after": 0, "metric": "accuracy"}
    assert client.get(f"{TASK}/models").json()["settings"] == changed.json()
    error(client.patch(f"{TASK}/models/settings", json={"alpha": 2}), 422)
    error(client.patch(f"{TASK}/models/settings", json={"metric": "auc"}), 422)
    train(client, algorithm="tfidf-logreg")
    drawn = client.patch(f"{TASK}/models/settings", json={"test_fraction": 0.3})
    assert "test split" in error(drawn, 422)


def test_exported_artifact_loads_with_the_documented_loader(
    labeled: TestClient, tmp_path: Path
) -> None:
    train(labeled, algorithm="tfidf-logreg")
    artifact = tmp_path / "cb-clickbait-v1.assay-model"
    artifact.write_bytes(labeled.get(f"{TASK}/models/1/artifact").content)
    served = labeled.post(f"{TASK}/predict", json={"texts": ["10 cats that look like Hitler"]})
    loader = (  # docs/models.md, "Export"
        "import json, sys\n"
        "from pathlib import Path\n"
        "from assay.algorithms.text_models import load\n"
        f"model = load(Path({str(artifact)!r}).read_bytes())\n"
        "scores = model.predict_proba(texts=['10 cats that look like Hitler'])\n"
        "server = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn') or m.startswith('assay.api'))\n"
        "print(json.dumps({'scores': dict(zip(model.labels, scores[0].tolist())), "
        "'server': server}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", loader], capture_output=True, text=True, check=True, timeout=120
    )
    out = json.loads(done.stdout)
    assert out["server"] == []
    expected = served.json()["predictions"][0]["scores"]
    assert out["scores"] == pytest.approx(expected)


# --- bad input: a clear 4xx, never a 500 --------------------------------------------------------


def test_predict_refuses_bad_bodies(cb_client: TestClient) -> None:
    many = cb_client.post(f"{TASK}/predict", json={"texts": ["a"] * 100_000})
    assert "10000" in error(many, 422).replace(",", "")
    for body in (
        {"texts": [1, 2]},
        {"texts": "a headline"},
        {"texts": [["nested"]]},
        {"texts": [None]},
        {"records": ["not an object"]},
        {"texts": ["a"], "store": "maybe"},
    ):
        error(cb_client.post(f"{TASK}/predict", json=body), 422)


def test_predict_refuses_a_huge_body(cb_client: TestClient) -> None:
    huge = b'{"texts": ["' + b"x" * (100 * 2**20) + b'"]}'
    declared = cb_client.post(
        f"{TASK}/predict", content=huge, headers={"Content-Type": "application/json"}
    )
    assert error(declared, 413, "too_large")
    assert declared.json()["error"]["detail"]["limit"] == MAX_BODY_BYTES

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as the bytes pass the limit
        yield b'{"texts": ["'
        for _ in range(MAX_BODY_BYTES // 2**20 + 2):
            yield b"x" * 2**20
        yield b'"]}'

    streamed = cb_client.post(
        f"{TASK}/predict", content=chunks(), headers={"Content-Type": "application/json"}
    )
    error(streamed, 413, "too_large")


def test_no_live_model_unknown_names_and_versions(labeled: TestClient) -> None:
    client = labeled
    response = client.post(f"{TASK}/predict", json={"texts": ["a headline"]})
    assert "no live model" in error(response, 409, "no_live_model")
    assert "no model version 7" in error(client.get(f"{TASK}/models/7"), 404, "not_found")
    error(client.post(f"{TASK}/models/7/promote"), 404, "not_found")
    error(client.get(f"{TASK}/models/7/artifact"), 404, "not_found")
    error(client.get(f"{TASK}/models/0"), 422)
    error(client.get(f"{TASK}/models/v1"), 422)
    error(client.get("/api/projects/cb/tasks/nope/models"), 404, "not_found")
    error(client.get("/api/projects/nope/tasks/clickbait/models"), 404, "not_found")
    error(client.post(f"{TASK}/models/rollback"), 409, "conflict")
    review = client.post(
        f"{TASK}/predictions/nope/review", json={"action": "accept", "reviewer": "rev"}
    )
    error(review, 404, "not_found")
    error(client.post(f"{TASK}/predictions/x/review", json={"action": "accept"}), 422)
    error(
        client.post(f"{TASK}/predictions/x/review", json={"action": "like", "reviewer": "r"}), 422
    )
    error(client.get(f"{TASK}/predictions", params={"status": "done"}), 422)
    error(client.get(f"{TASK}/predictions", params={"limit": 0}), 422)


def test_training_refusals(cb_client: TestClient, wb: Workbench, tmp_path: Path) -> None:
    client = cb_client
    error(client.post(f"{TASK}/models", json={}), 422)  # no manual labels at all
    label_sample(wb, tmp_path, only="yes")
    one_class = client.post(f"{TASK}/models", json={})
    assert "two" in error(one_class, 422)
    error(client.post(f"{TASK}/models", json={"algorithm": "bert"}), 422)
    error(client.post(f"{TASK}/models", json={"with_weak": 1.5}), 422)
    error(client.post(f"{TASK}/models", json={"with_weak": "high"}), 422)
    extraction = client.post("/api/projects/cb/tasks/entities/models", json={})
    assert "extraction" in error(extraction, 422)
    embedding = client.post(f"{TASK}/models", json={"embedding": "nope"})
    assert embedding.status_code in (404, 422), embedding.text
    assert wb.list_models("cb", "clickbait") == []
