"""Try-runs ("Run on 10": a heuristic's or a calculated attribute's try, a record-IDE
snippet) that their user can cancel while they run.

A try-run runs in its request's thread inside :func:`scope`, under a key its client chose.
Every sandbox run started there is recorded before it starts
(``sandbox_process.spawn_watcher``); :func:`cancel`, from another request, kills those runs
through the sandbox's zygote and refuses any later one, and the try-run ends with
:class:`TryRunCancelled` rather than the killed worker's error. A cancel that arrives before
its try-run starts is kept for it (the most recent ``KEPT`` keys).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from assay.errors import SandboxError, TryRunCancelled
from assay.runtime.sandbox_process import Zygote, spawn_watcher

KEPT = 256
RETRY_S = 0.25
GIVE_UP_S = 30.0


@dataclass
class _Scope:
    cancelled: bool = False
    runs: list[tuple[Zygote, str]] = field(default_factory=list)


_scopes: OrderedDict[str, _Scope] = OrderedDict()
_lock = threading.Lock()


def _entry(key: str) -> _Scope:
    """The key's scope (made if new); the oldest are forgotten beyond ``KEPT``. Under _lock."""
    found = _scopes.get(key)
    if found is None:
        found = _scopes[key] = _Scope()
        while len(_scopes) > KEPT:
            _scopes.popitem(last=False)
    return found


@contextmanager
def scope(key: str | None) -> Iterator[_Scope]:
    """Run a try-run's sandbox work so that :func:`cancel` with ``key`` can stop it (no
    key: it cannot be cancelled). Yields the scope: ``cancelled`` says whether it was."""
    if key is None:
        yield _Scope()
        return
    with _lock:
        entry = _entry(key)

    def watch(zygote: Zygote, run_id: str) -> None:
        with _lock:
            if entry.cancelled:  # before this run started: it does not
                raise _cancelled()
            entry.runs.append((zygote, run_id))

    token = spawn_watcher.set(watch)
    try:
        yield entry
    except SandboxError as exc:
        if entry.cancelled:
            raise _cancelled() from exc
        raise
    finally:
        spawn_watcher.reset(token)
        with _lock:
            entry.runs.clear()


def cancel(key: str) -> bool:
    """Stop the try-run of this key; True when it was running (else it ends at its start)."""
    with _lock:
        entry = _entry(key)
        entry.cancelled = True
        running = bool(entry.runs)
    if running:
        _stop(entry)
    return running


def _stop(entry: _Scope) -> None:
    """Kill the scope's runs, and again every ``RETRY_S`` until the scope ends: a kill that
    reaches the sandbox's zygote right after it forked a worker, before the worker made its
    own process group, ends nothing."""
    _kill(entry)
    threading.Thread(target=_keep_killing, args=(entry,), daemon=True).start()


def _kill(entry: _Scope) -> bool:
    with _lock:
        runs = list(entry.runs)
    for zygote, run_id in runs:
        zygote.kill(run_id)
    return bool(runs)


def _keep_killing(entry: _Scope) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        time.sleep(RETRY_S)
        if not _kill(entry):  # the scope ended
            return


MESSAGE = "cancelled: the run was stopped before it ended; nothing was kept"


def _cancelled() -> TryRunCancelled:
    return TryRunCancelled(MESSAGE)
