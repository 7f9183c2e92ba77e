"""Active learners and zero-shot heuristics over HTTP: added with a kind and an embedding,
tried, run with the others; errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assay.services import samples

H = "/api/projects/cb/heuristics"


def _embedded(cb_client: TestClient) -> TestClient:
    job = cb_client.post(
        "/api/projects/cb/embeddings", json={"attribute": "headline"}, params={"wait": "true"}
    ).json()
    assert job["status"] == "done", job
    for answer in samples.gold()[:40]:
        cb_client.post(
            f"/api/projects/cb/records/running_id={answer['running_id']}/annotations",
            json={"task": "clickbait", "label": answer["clickbait"], "annotator": "ann"},
        ).raise_for_status()
    return cb_client


def test_active_learner(cb_client: TestClient) -> None:
    client = _embedded(cb_client)
    added = client.post(
        H,
        json={
            "task": "clickbait",
            "kind": "active_learner",
            "embedding": "headline-tfidf-svd",
            "config": {"min_confidence": 0.7},
        },
    )
    assert added.status_code == 201, added.json()
    doc = added.json()
    assert (doc["name"], doc["kind"], doc["embedding"]) == (
        "active-learner-headline-tfidf-svd",
        "active_learner",
        "headline-tfidf-svd",
    )
    assert "min_confidence = 0.7" in doc["code"]
    tried = client.post(f"{H}/{doc['name']}/try", json={"n": 5, "seed": 3}).json()
    assert tried["error"] is None and len(tried["results"]) == 5
    assert tried["votes"] == sum(r["value"] is not None for r in tried["results"])
    job = client.post(f"{H}/run", json={"names": None}, params={"wait": "true"}).json()
    assert job["status"] == "done", job
    found = client.get(f"{H}/{doc['name']}").json()
    assert found["last_run"]["model"]["trained_on"] == 40
    assert found["statistics"]["reference_records"] == 40


def test_errors(cb_client: TestClient) -> None:
    client = _embedded(cb_client)
    cases = [
        ({"task": "clickbait", "kind": "active_learner"}, 422, "reads an embedding"),
        (
            {"task": "clickbait", "kind": "zero_shot", "embedding": "headline-tfidf-svd"},
            422,
            "does not place texts by meaning",
        ),
        ({"task": "clickbait", "kind": "active_learner", "embedding": "nope"}, 404, "nope"),
        (
            {"task": "clickbait", "kind": "oracle", "embedding": "headline-tfidf-svd"},
            422,
            "unknown kind",
        ),
        (
            {
                "task": "clickbait",
                "kind": "active_learner",
                "embedding": "headline-tfidf-svd",
                "config": {"temperature": 1},
            },
            422,
            "unknown config",
        ),
        ({"task": "clickbait", "name": "lf"}, 422, "takes a name and code"),
    ]
    for body, status, message in cases:
        answer = client.post(H, json=body)
        assert answer.status_code == status, (body, answer.json())
        assert message in answer.json()["error"]["message"], answer.json()
