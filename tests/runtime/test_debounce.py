"""The debouncer: bursts coalesce, marks never wait, close runs what is pending."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

from assay.runtime.debounce import Debouncer


def test_bursts_coalesce_and_marks_do_not_wait() -> None:
    calls: list[Hashable] = []
    slow = threading.Event()

    def work(key: Hashable) -> None:
        slow.wait(0.3)  # a slow call: marks meanwhile must not wait for it
        calls.append(key)

    debouncer = Debouncer(work, seconds=0.2)
    started = time.perf_counter()
    for _ in range(200):
        debouncer.mark("a")
        debouncer.mark("b")
    assert time.perf_counter() - started < 0.2
    assert debouncer.idle(5)
    assert set(calls) == {"a", "b"} and len(calls) == 2
    debouncer.mark("a")
    debouncer.close()  # runs the pending call at once, then stops
    assert calls.count("a") == 2 and debouncer.runs == 3
    debouncer.mark("a")  # closed: ignored
    assert debouncer.runs == 3


def test_a_failing_call_keeps_the_thread() -> None:
    calls: list[Hashable] = []

    def work(key: Hashable) -> None:
        if key == "bad":
            raise RuntimeError("boom")
        calls.append(key)

    debouncer = Debouncer(work, seconds=0.05)
    debouncer.mark("bad")
    assert debouncer.flush(5)
    debouncer.mark("good")
    assert debouncer.flush(5)
    assert calls == ["good"] and debouncer.runs == 2
    debouncer.close()
