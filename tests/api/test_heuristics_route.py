"""Heuristics over HTTP: add, try, run as a job, statistics, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

H = "/api/projects/cb/heuristics"
CODE = "def lf(record):\n    if 'you' in record['headline'].text.lower():\n        return 'yes'\n"


def test_add_try_run(cb_client: TestClient) -> None:
    added = cb_client.post(H, json={"task": "clickbait", "name": "you", "code": CODE})
    assert added.status_code == 201 and added.json()["last_run"] is None
    tried = cb_client.post(f"{H}/you/try", json={"n": 4, "seed": 1}).json()
    assert tried["error"] is None and len(tried["results"]) == 4
    for result in tried["results"]:
        has_you = "you" in result["data"]["headline"].lower()
        assert result["value"] == ("yes" if has_you else None)
    job = cb_client.post(f"{H}/run", json={"names": None}, params={"wait": "true"}).json()
    assert job["status"] == "done", job
    found = cb_client.get(f"{H}/you").json()
    total = cb_client.post(
        "/api/projects/cb/records/query",
        json={"where": {"task": "clickbait", "source": "heuristic", "label": "yes"}},
    ).json()["total"]
    assert found["last_run"]["votes"] == found["statistics"]["hits"] == total > 0
    renamed = cb_client.patch(f"{H}/you", json={"name": "mentions_you", "code": CODE + "\n"})
    assert (renamed.json()["code_version"], renamed.json()["stale"]) == (2, True)
    assert cb_client.delete(f"{H}/mentions_you").status_code == 204


def test_errors(cb_client: TestClient) -> None:
    bad = cb_client.post(H, json={"task": "nope", "name": "x", "code": CODE})
    assert bad.status_code == 404 and "nope" in bad.json()["error"]["message"]
    cb_client.post(H, json={"task": "clickbait", "name": "syntax", "code": "def lf(:\n"})
    tried = cb_client.post(f"{H}/syntax/try", json={}).json()
    assert tried["results"] == [] and "line 1" in tried["error"]
    job = cb_client.post(f"{H}/run", json={"names": ["syntax"]}, params={"wait": "true"}).json()
    assert job["status"] == "failed" and "line 1" in job["error"]
    assert cb_client.get(f"{H}/missing").status_code == 404
