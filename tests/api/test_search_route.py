"""Neural search and outliers over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assay import Workbench

P = "/api/projects/cb"
E = "headline-tfidf-svd"


@pytest.fixture
def embedded(wb: Workbench, cb_client: TestClient) -> TestClient:
    assert wb.add_embedding("cb", "headline", wait=True)["status"] == "done"
    return cb_client


def test_similar(embedded: TestClient, wb: Workbench) -> None:
    own = wb.get_record("cb", "running_id=6")["id"]
    body = embedded.post(f"{P}/similar", json={"record": own, "limit": 5}).json()
    assert body["embedding"] == E and body["threshold"] == 0.4
    assert len(body["records"]) == 5 and own not in [r["id"] for r in body["records"]]
    assert set(body["records"][0]) == {"id", "key", "position", "score", "data"}
    assert body == wb.similar("cb", record=own, limit=5)
    by_key = embedded.post(f"{P}/similar", json={"record": "running_id=6", "limit": 5}).json()
    assert by_key == body
    where = {"attribute": "headline", "op": "contains", "value": "you"}
    filtered = embedded.post(
        f"{P}/similar",
        json={"embedding": E, "record": own, "where": where, "limit": 20, "threshold": 0},
    ).json()
    assert filtered["threshold"] == 0 and len(filtered["records"]) == 20
    assert all("you" in r["data"]["headline"].casefold() for r in filtered["records"])
    text = embedded.post(f"{P}/similar", json={"text": "Museum returns artefacts"}).json()
    assert "Museum" in text["records"][0]["data"]["headline"]


def test_similar_errors(embedded: TestClient) -> None:
    neither = embedded.post(f"{P}/similar", json={})
    assert neither.status_code == 422
    assert "either a record or a text" in neither.json()["error"]["message"]
    assert embedded.post(f"{P}/similar", json={"record": 1, "limit": 0}).status_code == 422
    missing = embedded.post(f"{P}/similar", json={"record": 1, "embedding": "nope"})
    assert missing.status_code == 404
    assert embedded.post("/api/projects/nope/similar", json={"record": 1}).status_code == 404


def test_outliers_and_their_slice(embedded: TestClient) -> None:
    found = embedded.get(f"{P}/embeddings/{E}/outliers", params={"limit": 4}).json()
    assert found["method"] == "density" and len(found["records"]) == 4
    scores = [r["score"] for r in found["records"]]
    assert scores == sorted(scores, reverse=True)
    made = embedded.post(f"{P}/embeddings/{E}/outliers/slice", json={"size": 4})
    assert made.status_code == 200
    assert (made.json()["name"], made.json()["kind"], made.json()["records"]) == (
        f"outliers-{E}",
        "static",
        4,
    )
    page = embedded.post(f"{P}/records/query", json={"where": {"slice": f"outliers-{E}"}}).json()
    assert sorted(r["id"] for r in page["records"]) == sorted(r["id"] for r in found["records"])
    assert embedded.get(f"{P}/embeddings/nope/outliers").status_code == 404
