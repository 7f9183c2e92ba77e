"""Annotators labeling the same records at the same time, on both databases: no error, and
every record's reference state equals the state recomputed from its stored labels."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from typing import Any

import pandas as pd
from sqlalchemy import select

from assay import Workbench
from assay.algorithms.reference import ManualVote, resolve_reference
from assay.storage.models import Annotation, ManualState

RECORDS = 12
ROUNDS = 6
WRITERS = 3
DEADLINE_SECONDS = 60


def _stored_states(wb: Workbench) -> tuple[dict[int, str | None], dict[int, str]]:
    """The state each record's stored manual labels resolve to, and the materialized one."""
    with wb.db.session() as s:
        votes: dict[int, list[ManualVote]] = defaultdict(list)
        for row in s.execute(
            select(
                Annotation.record_id, Annotation.annotator, Annotation.is_gold, Annotation.label_id
            ).where(Annotation.source == "manual")
        ):
            votes[row.record_id].append(ManualVote(row.annotator, row.is_gold, row.label_id))
        expected = {rid: resolve_reference(v).state for rid, v in votes.items()}
        stored = {r.record_id: r.state for r in s.scalars(select(ManualState))}
    return {rid: state for rid, state in expected.items() if state is not None}, stored


def test_concurrent_annotators_leave_true_states(wb: Workbench) -> None:
    frame = pd.DataFrame({"rid": range(RECORDS), "text": [f"text {i}" for i in range(RECORDS)]})
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "kind", "classification", labels=["yes", "no"])
    # All writers label the same record in the same moment, round after round.
    barrier = threading.Barrier(WRITERS, timeout=DEADLINE_SECONDS)
    errors: list[BaseException] = []
    deadline = time.monotonic() + DEADLINE_SECONDS

    def writer(number: int) -> None:
        rng = random.Random(number)
        try:
            for _ in range(ROUNDS):
                for rid in range(RECORDS):
                    if time.monotonic() > deadline:
                        return
                    barrier.wait()
                    label = rng.choice(["yes", "no"])
                    if rng.random() < 0.2:
                        wb.remove_annotation("p", f"rid={rid}", "kind", f"ann{number}")
                    else:
                        wb.annotate("p", f"rid={rid}", "kind", label, f"ann{number}")
        except BaseException as exc:  # noqa: BLE001 -- reported by the test below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_SECONDS + 10)
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    assert not real, f"{len(real)} writer(s) failed: {real[0]!r}"
    expected, stored = _stored_states(wb)
    wrong: dict[int, Any] = {
        rid: (stored.get(rid), expected.get(rid))
        for rid in set(expected) | set(stored)
        if stored.get(rid) != expected.get(rid)
    }
    assert not wrong, f"stored vs true state per record: {wrong}"
