"""Output checks: what user code returned, checked before the server keeps any of it.

A labeling function's value must be something its task can take (:class:`OutputSpec`: a
label of the task or None, a list of labels, spans inside the text's tokens); an active
learner's classes and settings must name the task's labels (:func:`learner_settings`). A
value that fails ends that code's run with :class:`InvalidOutput`, which names the record
and shows the value. (That a worker's messages have the expected shape at all is checked in
``sandbox_protocol.py``.)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.errors import InvalidOutput
from assay.runtime.sandbox_protocol import Learned, Record


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _bad(record_id: int, message: str, value: Any) -> InvalidOutput:
    return InvalidOutput(f"record {record_id}: {message}", record_id=record_id, value=_shown(value))


def check_classification(record_id: int, value: Any, labels: Collection[str]) -> str | None:
    """A label name of the task, or None (abstain)."""
    if value is None or (isinstance(value, str) and value in labels):
        return value
    raise _bad(
        record_id,
        f"the function returned {_shown(value)}, which is neither a label of the task "
        f"({', '.join(sorted(labels))}) nor None",
        value,
    )


def check_multi_label(record_id: int, value: Any, labels: Collection[str]) -> list[str] | None:
    """A list of label names of the task (repeats dropped), or None (abstain)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad(record_id, f"the function returned {_shown(value)}, not a list of labels", value)
    for item in value:
        if not (isinstance(item, str) and item in labels):
            raise _bad(
                record_id,
                f"the function returned {_shown(item)}, which is not a label of the task "
                f"({', '.join(sorted(labels))})",
                value,
            )
    return list(dict.fromkeys(value))


def check_extraction(
    record_id: int, value: Any, labels: Collection[str], n_tokens: int
) -> list[tuple[str, int, int]]:
    """Spans ``(label, start_token, end_token)`` with end exclusive, inside the text's tokens."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(
            record_id,
            f"the function returned {_shown(value)}; yield (label, start token, end token)",
            value,
        )
    spans = []
    for item in value:
        if not (isinstance(item, list | tuple) and len(item) == 3):
            raise _bad(
                record_id,
                f"the function yielded {_shown(item)}, not (label, start token, end token)",
                item,
            )
        item = tuple(item)
        label, start, end = item
        if not (isinstance(label, str) and label in labels):
            raise _bad(
                record_id,
                f"the function yielded the label {_shown(label)}, which is not a label of "
                f"the task ({', '.join(sorted(labels))})",
                item,
            )
        if not (type(start) is int and type(end) is int and 0 <= start < end <= n_tokens):
            raise _bad(
                record_id,
                f"the function yielded the span {_shown(item)}, which is not inside the "
                f"text's {n_tokens} tokens (0 <= start < end <= {n_tokens})",
                item,
            )
        spans.append((label, start, end))
    return spans


@dataclass(frozen=True)
class OutputSpec:
    """What the function must return for a labeling task; a run without one (calculated
    attributes, the record IDE) takes any JSON value."""

    task_type: str  # "classification", "multi-label" or "extraction"
    labels: frozenset[str]
    attribute: str | None = None  # extraction: the text attribute whose tokens spans index

    def check(self, record: Record, value: Any) -> Any:
        if self.task_type == "classification":
            return check_classification(record.id, value, self.labels)
        if self.task_type == "multi-label":
            return check_multi_label(record.id, value, self.labels)
        blob = record.tokens.get(self.attribute or "", b"")
        return check_extraction(record.id, value, self.labels, len(blob) // 8)


def learner_settings(learned: dict[str, Any], n: int, allowed: Collection[str]) -> Learned:
    """An active learner's classes and settings from its worker (a ``learned`` message),
    checked against the labels it may name (no rows yet). Raises ``InvalidOutput`` for a
    value the task cannot take, and KeyError, TypeError or ValueError for a malformed
    message."""
    classes = learned["classes"]
    if not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise ValueError("classes")
    unknown = [c for c in classes if c not in allowed]
    if unknown:
        shown = ", ".join(sorted(repr(c) for c in allowed if c))
        raise InvalidOutput(
            f"the learner's classes name {_shown(unknown[0])}, which is not a label of the "
            f"task ({shown})",
            value=_shown(unknown),
        )
    minimum = learned["min_confidence"]
    if not (isinstance(minimum, int | float) and 0 <= minimum <= 1):
        raise InvalidOutput(
            f"min_confidence must be a number from 0 to 1, not {_shown(minimum)}",
            value=_shown(minimum),
        )
    voting = learned["labels"]
    if voting is not None and not (
        isinstance(voting, list) and all(isinstance(v, str) and v in allowed for v in voting)
    ):
        raise InvalidOutput(
            f"labels must be None or a list of the task's labels, not {_shown(voting)}",
            value=_shown(voting),
        )
    if learned["rows"] != n or not isinstance(learned["output"], str):
        raise ValueError("rows")
    empty = np.empty(0)
    return Learned(classes, float(minimum), voting, empty, empty, learned["output"])
