"""Cancelling a try-run ("Run on 10") over HTTP."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from assay.runtime import try_runs

H = "/api/projects/cb/heuristics"
SLEEPER = "import time\n\ndef sleeper(record):\n    time.sleep(3600)\n"


def test_a_try_run_is_cancelled_over_http(cb_client: TestClient) -> None:
    added = cb_client.post(H, json={"task": "clickbait", "name": "sleeper", "code": SLEEPER})
    assert added.status_code == 201
    key = f"http-{time.monotonic_ns()}"
    answer: dict[str, Any] = {}

    def try_it() -> None:
        body = {"n": 3, "cancel_key": key}
        answer.update(cb_client.post(f"{H}/sleeper/try", json=body).json())

    thread = threading.Thread(target=try_it)
    thread.start()
    try:
        deadline = time.monotonic() + 120  # the sandbox's first run loads spaCy
        while not ((found := try_runs._scopes.get(key)) and found.runs):
            assert time.monotonic() < deadline, "the try-run did not start"
            time.sleep(0.05)
        cancelled = cb_client.post(f"/api/try-runs/{key}/cancel")
        assert cancelled.json() == {"cancel_key": key, "running": True}
        thread.join(30)  # the sandbox's first run may still be loading spaCy, then stops
        assert not thread.is_alive()
    finally:
        thread.join(70)
    assert answer == {"results": [], "failures": [], "error": try_runs.MESSAGE, "votes": 0}
    # A cancel that comes first ends its run as it starts.
    early = cb_client.post("/api/try-runs/early/cancel").json()
    assert early == {"cancel_key": "early", "running": False}
    tried = cb_client.post(f"{H}/sleeper/try", json={"cancel_key": "early"}).json()
    assert tried["error"] == try_runs.MESSAGE
