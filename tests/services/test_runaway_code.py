"""Runaway user code: it does not hold up other jobs, and a try-run ("Run on 10", a record-IDE
snippet) can be cancelled; on both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assay import Workbench
from assay.runtime import try_runs
from assay.runtime.sandbox import Limits

SLEEPER = """
import time

def sleeper(record):
    time.sleep(3600)
"""


@pytest.fixture
def project(wb: Workbench) -> str:
    frame = pd.DataFrame({"rid": [1, 2, 3], "text": ["one", "two", "three"]})
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "kind", "classification", labels=["yes", "no"])
    wb.add_heuristic("p", "kind", "sleeper", SLEEPER)
    wb.add_heuristic("p", "kind", "sleeper_too", SLEEPER.replace("sleeper", "sleeper_too"))
    # The sandbox's first run loads spaCy (seconds): done here, so that the code of the runs
    # below starts when they start.
    assert wb.run_snippet("p", "rid=1", "def ide(record):\n    return 1\n")["value"] == "1"
    return "p"


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_runaway_heuristics_do_not_hold_up_an_import(
    wb: Workbench, project: str, tmp_path: Path
) -> None:
    limits = Limits(timeout_s=30)
    runaway = [
        wb.run_heuristics(project, [name], limits=limits)["id"]
        for name in ("sleeper", "sleeper_too")
    ]
    try:
        assert _until(lambda: all(wb.get_job(j)["status"] == "running" for j in runaway), 30), (
            "the heuristics did not start"
        )
        data = tmp_path / "other.jsonl"
        data.write_text('{"a": "x"}\n{"a": "y"}\n')
        started = time.monotonic()
        job = wb.start_import(data, "other")
        assert _until(lambda: wb.get_job(job["id"])["status"] == "done", 15), wb.get_job(job["id"])
        assert time.monotonic() - started < 15
        # ... while both runaway heuristics still held their slots
        assert [wb.get_job(j)["status"] for j in runaway] == ["running", "running"]
    finally:  # they end at their timeout: before the next test uses the database
        assert _until(lambda: all(wb.get_job(j)["status"] != "running" for j in runaway), 60)


def _cancel_while_running(run: Callable[[str], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """Start ``run(cancel_key)`` in a thread, cancel it once its code runs; its answer and
    how long it took to answer after the cancel."""
    key = f"test-{time.monotonic_ns()}"
    answer: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: answer.update(run(key)))
    thread.start()
    try:

        def running() -> bool:
            found = try_runs._scopes.get(key)
            return found is not None and bool(found.runs)

        assert _until(running, 60), "the try-run did not start its code"
        time.sleep(0.5)  # inside the sleeping code
        cancelled = time.monotonic()
        assert try_runs.cancel(key) is True
        thread.join(10)
        assert not thread.is_alive(), "the try-run did not stop when cancelled"
        return answer, time.monotonic() - cancelled
    finally:
        thread.join(70)


def test_a_heuristic_try_run_can_be_cancelled(wb: Workbench, project: str) -> None:
    answer, took = _cancel_while_running(
        lambda key: wb.try_heuristic(project, "sleeper", n=3, cancel_key=key)
    )
    assert answer == {"results": [], "failures": [], "error": try_runs.MESSAGE, "votes": 0}
    assert took < 5


def test_a_calculated_try_run_and_a_snippet_can_be_cancelled(wb: Workbench, project: str) -> None:
    wb.add_calculated_attribute(project, "slow", "integer", SLEEPER)
    tried, took = _cancel_while_running(
        lambda key: wb.try_calculated_attribute(project, "slow", n=3, cancel_key=key)
    )
    assert (tried["error"], tried["results"], took < 5) == (try_runs.MESSAGE, [], True)
    snippet = "import time\n\ndef ide(record):\n    time.sleep(3600)\n"
    ran, took = _cancel_while_running(
        lambda key: wb.run_snippet(project, "rid=1", snippet, cancel_key=key)
    )
    assert (ran["error"], ran["traceback"], took < 5) == (try_runs.MESSAGE, None, True)


def test_a_cancel_that_comes_first_stops_the_run_as_it_starts(wb: Workbench, project: str) -> None:
    assert wb.cancel_try_run("early") == {"cancel_key": "early", "running": False}
    started = time.monotonic()
    tried = wb.try_heuristic(project, "sleeper", n=3, cancel_key="early")
    assert tried["error"] == try_runs.MESSAGE and time.monotonic() - started < 10
    snippet = wb.run_snippet(project, "rid=1", "print(1)\n", cancel_key="early")
    assert snippet["error"] == try_runs.MESSAGE and snippet["record_id"] == 1
