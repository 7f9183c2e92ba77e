"""How good each heuristic is: coverage, hits, overlaps and conflicts between heuristics,
true and false positives against the reference manual labels, and estimated precision with a
95% Wilson interval (so that 2 of 2 correct is visibly uncertain).

One formulation serves every task type. A vote is a set of **units** per record:

- classification: ``(record, label)``, one per record;
- multi-label: ``(record, label)`` for each label of the set;
- extraction: ``(record, label, start, end)`` for each span (a true positive is an exact
  token-span match).

Units are ``int`` arrays with the columns ``record, label, start, end`` (``start = end = -1``
where there is no span). Against the reference (units of the same form, only for records that
have a reference label): a heuristic's unit on a referenced record is a true positive when the
reference has it, else a false positive; a reference unit the heuristic lacks, on a record it
voted on (classification, multi-label) or on any referenced record (extraction, where missing
spans matter), is a false negative. Units on records without a reference count in coverage and
hits only. A heuristic's reference can be narrowed to some records (its *scope*: a trained
model's records outside its training data, where agreeing with a label it learned proves
nothing); its units elsewhere then count in coverage and hits only.

Between heuristics: a record is an **overlap** of heuristic ``j`` when ``j`` and at least one
other heuristic voted on it, and a **conflict** when one of those others voted a different
unit set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Units = np.ndarray  # int64, shape (n, 4): record, label, start, end


@dataclass
class LabelStats:
    hits: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0


@dataclass
class HeuristicStats:
    coverage: float  # fraction of the records with a vote
    records: int  # records with a vote
    hits: int  # units voted
    overlaps: int  # records where another heuristic voted too
    conflicts: int  # records where another heuristic voted differently
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float | None  # true / (true + false positives); None without evidence
    interval: tuple[float, float] | None  # 95% Wilson interval of the precision
    labels: dict[int, LabelStats] = field(default_factory=dict)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None for no trials)."""
    if trials <= 0:
        return None
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    # At p = 0 or 1 the bound is exactly 0 or 1; rounding would leave the proportion outside.
    low = 0.0 if successes <= 0 else max(0.0, (centre - spread) / scale)
    high = 1.0 if successes >= trials else min(1.0, (centre + spread) / scale)
    return (low, high)


def as_units(rows: Sequence[Sequence[int]] | np.ndarray) -> Units:
    """Units from rows of (record, label, start, end), validated once here."""
    units = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    if len(units) and (units[:, 0].min() < 0 or units[:, 1].min() < 0):
        raise ValueError("records and labels are non-negative indices")
    return units


def heuristic_stats(
    votes: list[Units],
    reference: Units,
    n_records: int,
    *,
    extraction: bool = False,
    scopes: Sequence[np.ndarray | None] | None = None,
) -> list[HeuristicStats]:
    """Statistics of each heuristic's units (``votes[j]``) against the reference units, over
    a project of ``n_records`` records; ``scopes[j]``, when given and not None, the records
    whose reference units heuristic ``j`` is measured against."""
    everything = [v for v in votes if len(v)] + ([reference] if len(reference) else [])
    pooled = np.concatenate(everything) if everything else np.zeros((0, 4), np.int64)
    spans = int(pooled[:, 2:].max()) + 2 if len(pooled) else 1
    labels = int(pooled[:, 1].max()) + 1 if len(pooled) else 1

    def keys(units: Units) -> np.ndarray:
        r, lab, s, e = (units[:, i] for i in range(4))
        found: np.ndarray = ((r * labels + lab) * spans + (s + 1)) * spans + (e + 1)
        return found

    everywhere = (np.unique(reference[:, 0]), np.unique(keys(reference)))

    def measured_on(scope: np.ndarray | None) -> tuple[Units, np.ndarray, np.ndarray]:
        """The reference units in scope, their records and their keys."""
        if scope is None:
            return reference, *everywhere
        scoped = reference[np.isin(reference[:, 0], scope)]
        return scoped, np.unique(scoped[:, 0]), np.unique(keys(scoped))

    # Per heuristic and record, a signature of the unit set: equal sets, equal signatures.
    per_record = []
    for j, units in enumerate(votes):
        records, inverse = np.unique(units[:, 0], return_inverse=True)
        mixed = (keys(units) * np.int64(0x9E3779B97F4A7C15 & 0x7FFFFFFFFFFFFFFF)) >> 7
        signature = np.zeros(len(records), np.int64)
        np.add.at(signature, inverse, mixed)
        per_record.append((records, signature, np.full(len(records), j)))
    if not votes:
        return []
    all_records = np.concatenate([p[0] for p in per_record])
    all_signatures = np.concatenate([p[1] for p in per_record])
    voters = np.bincount(all_records, minlength=n_records)
    # How many heuristics voted exactly this signature on this record.
    pair_keys = np.stack([all_records, all_signatures], axis=1)
    _, pair_index, pair_counts = np.unique(
        pair_keys, axis=0, return_inverse=True, return_counts=True
    )
    same = pair_counts[pair_index.reshape(-1)]
    out: list[HeuristicStats] = []
    offset = 0
    for j, (units, (records, _, _)) in enumerate(zip(votes, per_record, strict=True)):
        in_scope, referenced, reference_keys = measured_on(scopes[j] if scopes else None)
        n = len(records)
        others = voters[records] - 1
        agreeing = same[offset : offset + n] - 1
        offset += n
        unit_keys = keys(units)
        on_referenced = np.isin(units[:, 0], referenced)
        correct = np.isin(unit_keys, reference_keys) & on_referenced
        wrong = ~np.isin(unit_keys, reference_keys) & on_referenced
        missed_scope = referenced if extraction else np.intersect1d(records, referenced)
        scoped_reference = in_scope[np.isin(in_scope[:, 0], missed_scope)]
        missed = ~np.isin(keys(scoped_reference), unit_keys)
        label_stats: dict[int, LabelStats] = {}
        for label in np.unique(np.concatenate([units[:, 1], scoped_reference[missed][:, 1]])):
            mine = units[:, 1] == label
            label_stats[int(label)] = LabelStats(
                hits=int(mine.sum()),
                true_positives=int((correct & mine).sum()),
                false_positives=int((wrong & mine).sum()),
                false_negatives=int((scoped_reference[missed][:, 1] == label).sum()),
            )
        tp, fp = int(correct.sum()), int(wrong.sum())
        out.append(
            HeuristicStats(
                coverage=n / n_records if n_records else 0.0,
                records=n,
                hits=len(units),
                overlaps=int((others > 0).sum()),
                conflicts=int((agreeing < others).sum()),
                true_positives=tp,
                false_positives=fp,
                false_negatives=int(missed.sum()),
                precision=tp / (tp + fp) if tp + fp else None,
                interval=wilson_interval(tp, tp + fp),
                labels=label_stats,
            )
        )
    return out
