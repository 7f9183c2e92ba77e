"""A background thread that runs a function per key, debounced: bursts of ``mark(key)``
coalesce into one call, started at least ``seconds`` after the first mark of the burst and at
least ``seconds`` after the key's previous call began. ``mark`` never waits for a call.

Used to recompute heuristic statistics after manual labeling without slowing labeling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class Debouncer:
    """``function(key)`` runs on one daemon thread, started on the first ``mark``."""

    def __init__(self, function: Callable[[Hashable], None], seconds: float = 1.0) -> None:
        self.function = function
        self.seconds = seconds
        self.runs = 0  # calls made, for the curious and for tests
        self._due: dict[Hashable, float] = {}
        self._last_start: dict[Hashable, float] = {}
        self._busy = False
        self._closed = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def mark(self, key: Hashable) -> None:
        """Ask for a call for ``key`` (coalesced with any pending one)."""
        with self._changed:
            if self._closed or key in self._due:
                return
            now = time.monotonic()
            self._due[key] = max(now + self.seconds, self._last_start.get(key, 0) + self.seconds)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="assay-debounce", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or running (at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._due or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def flush(self, timeout: float = 60.0) -> bool:
        """Run what is pending now, without its delay, and wait for it (at most ``timeout``
        seconds)."""
        with self._changed:
            for key in self._due:
                self._due[key] = 0.0
            self._changed.notify_all()
        return self.idle(timeout)

    def close(self) -> None:
        """Run what is pending now, then stop the thread."""
        with self._changed:
            self._closed = True
            for key in self._due:
                self._due[key] = 0.0
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while True:
                    if not self._due and self._closed:
                        return
                    now = time.monotonic()
                    ready = [k for k, due in self._due.items() if due <= now]
                    if ready:
                        key = min(ready, key=self._due.__getitem__)
                        del self._due[key]
                        self._last_start[key] = now
                        self._busy = True
                        break
                    wait = min(self._due.values(), default=now + 60) - now
                    self._changed.wait(max(wait, 0.001))
            try:
                self.function(key)
            except Exception:  # a failed call must not end the thread
                log.exception("background call for %r failed", key)
            finally:
                with self._changed:
                    self.runs += 1
                    self._busy = False
                    self._changed.notify_all()
