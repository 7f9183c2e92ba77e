"""Weak supervision over HTTP: run it as a job, then read its last-run info."""

from __future__ import annotations

from fastapi.testclient import TestClient

WS = "/api/projects/cb/tasks/clickbait/weak-supervision"
CODE = "def lf(record):\n    if 'you' in record['headline'].text.lower():\n        return 'yes'\n"


def test_run_and_last_run_info(cb_client: TestClient) -> None:
    assert cb_client.get(WS).json() is None  # no run yet
    heuristics = "/api/projects/cb/heuristics"
    cb_client.post(heuristics, json={"task": "clickbait", "name": "you", "code": CODE})
    cb_client.post(f"{heuristics}/run", json={"names": None}, params={"wait": "true"})
    job = cb_client.post(WS, json={"model": "majority"}, params={"wait": "true"}).json()
    assert job["status"] == "done", job
    info = cb_client.get(WS).json()
    assert info["model"] == "majority" and info["heuristics"] == ["you"]
    assert info["labeled"] == job["result"]["labeled"] > 0
    assert info["used"][0]["name"] == "you" and info["used"][0]["code_version"] == 1
    assert (info["stale"], info["stale_reasons"]) == (False, [])
    cb_client.patch(f"{heuristics}/you", json={"code": CODE + "\n"})
    info = cb_client.get(WS).json()
    assert info["stale"] is True and info["stale_reasons"] == ["heuristic 'you' has new code"]
    missing = cb_client.get("/api/projects/cb/tasks/nope/weak-supervision")
    assert missing.status_code == 404
