"""Weak supervision over HTTP: run it as a job, then read its last-run info."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assay import Workbench
from assay.api.app import create_app

WS = "/api/projects/cb/tasks/clickbait/weak-supervision"
CODE = "def lf(record):\n    if 'you' in record['headline'].text.lower():\n        return 'yes'\n"


@pytest.fixture
def client(wb: Workbench) -> Iterator[TestClient]:
    with TestClient(create_app(wb)) as test_client:
        test_client.post("/api/samples/clickbait", params={"name": "cb"}).raise_for_status()
        yield test_client


def test_run_and_last_run_info(client: TestClient) -> None:
    assert client.get(WS).json() is None  # no run yet
    heuristics = "/api/projects/cb/heuristics"
    client.post(heuristics, json={"task": "clickbait", "name": "you", "code": CODE})
    client.post(f"{heuristics}/run", json={"names": None}, params={"wait": "true"})
    job = client.post(WS, json={"model": "majority"}, params={"wait": "true"}).json()
    assert job["status"] == "done", job
    info = client.get(WS).json()
    assert info["model"] == "majority" and info["heuristics"] == ["you"]
    assert info["labeled"] == job["result"]["labeled"] > 0
    assert info["used"][0]["name"] == "you" and info["used"][0]["code_version"] == 1
    assert (info["stale"], info["stale_reasons"]) == (False, [])
    client.patch(f"{heuristics}/you", json={"code": CODE + "\n"})
    info = client.get(WS).json()
    assert info["stale"] is True and info["stale_reasons"] == ["heuristic 'you' has new code"]
    missing = client.get("/api/projects/cb/tasks/nope/weak-supervision")
    assert missing.status_code == 404
