"""The reference manual label of one record and task.

Rule: the gold label when there is one; else the value every annotator agrees on (a single
annotator counts); else a conflict. A value is compared as a whole: a set of label ids for
classification and multi-label, a set of (label id, start token, end token) for extraction.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

GOLD = "gold"
AGREED = "agreed"
CONFLICT = "conflict"


@dataclass(frozen=True)
class ManualVote:
    """One manual annotation row, reduced to what the rule compares."""

    annotator: str
    is_gold: bool
    value: Hashable


@dataclass(frozen=True)
class Reference:
    """``state`` is gold | agreed | conflict, or None when nobody labeled the record.

    ``value`` is the reference value (empty for a conflict); ``annotator`` is whose rows carry
    it (None for gold).
    """

    state: str | None
    value: frozenset[Hashable]
    annotator: str | None = None


def resolve_reference(votes: Iterable[ManualVote]) -> Reference:
    gold: set[Hashable] = set()
    by_annotator: dict[str, set[Hashable]] = {}
    for vote in votes:
        if vote.is_gold:
            gold.add(vote.value)
        else:
            by_annotator.setdefault(vote.annotator, set()).add(vote.value)
    if gold:
        return Reference(GOLD, frozenset(gold))
    if not by_annotator:
        return Reference(None, frozenset())
    values = {frozenset(v) for v in by_annotator.values()}
    if len(values) == 1:
        return Reference(AGREED, values.pop(), min(by_annotator))
    return Reference(CONFLICT, frozenset())
