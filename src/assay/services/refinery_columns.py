"""The names of label columns in the refinery style, written by record exports and read back
by imports: ``<attribute>__<task>__<SOURCE>`` for a task on an attribute
(``headline__entities__MANUAL``), ``__<task>__<SOURCE>`` for a task on the whole record
(``__clickbait__MANUAL``), and ``...__WEAK_SUPERVISION__confidence`` for the confidences of
weak supervision. ``SOURCE`` spells an annotation source: ``MANUAL`` or ``WEAK_SUPERVISION``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Source = Literal["manual", "weak_supervision"]
"""The annotation sources a label column can hold."""

_SPELLING: dict[Source, str] = {"manual": "MANUAL", "weak_supervision": "WEAK_SUPERVISION"}
_SOURCES: dict[str, Source] = {spelled: source for source, spelled in _SPELLING.items()}
_CONFIDENCE = "__confidence"
# A task name neither starts with "_" nor holds "__", so the name splits one way only.
_PATTERN = re.compile(
    r"^(?P<attribute>.*?)__(?P<task>[^_](?:[^_]|_(?!_))*?)__(?P<source>MANUAL|WEAK_SUPERVISION)"
    r"(?P<confidence>__confidence)?$"
)


@dataclass(frozen=True)
class ColumnName:
    """A label column's name, parsed: the task's target attribute (``None``: the whole
    record), the task, the source, and whether the column holds confidences."""

    attribute: str | None
    task: str
    source: Source
    confidence: bool = False


def column_name(
    attribute: str | None, task: str, source: Source, *, confidence: bool = False
) -> str:
    """The name of the column of ``source``'s labels (or their confidences) of a task."""
    return f"{attribute or ''}__{task}__{_SPELLING[source]}" + (_CONFIDENCE if confidence else "")


def parse(name: str) -> ColumnName | None:
    """A column name as a label column's (:func:`column_name`); ``None`` for an attribute."""
    match = _PATTERN.match(name)
    if match is None:
        return None
    return ColumnName(
        match["attribute"] or None,
        match["task"],
        _SOURCES[match["source"]],
        match["confidence"] is not None,
    )


def is_confidence(name: str) -> bool:
    """Whether a column of an export holds confidences (numbers), by its name's ending."""
    return name.endswith(_CONFIDENCE)
