"""A task's fixed test split, chosen by a stable hash of each record's key.

Nothing here is random: a record's place follows from ``sha256(salt + "\\0" + key)``, so it
is the same on every machine, Python version and database, and can be recomputed to check a
stored split. The caller persists each assignment once made, so a record never moves:

- :func:`draw` makes the first split of a task, stratified (e.g. on the label) so that each
  stratum gives its share to the test split;
- :func:`grow` places records labeled later, one by one, by the same hash against the
  fraction, independent of which other records exist.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np


def unit_hash(salt: str, key: str) -> float:
    """A stable number, uniform in [0, 1), from ``sha256(salt + "\\0" + key)``: its first 53
    bits (a float64's precision) over 2**53."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def draw(
    keys: Sequence[str], strata: Sequence[Hashable], *, fraction: float, salt: str
) -> np.ndarray:
    """The first draw of a task's test split: a bool mask, True = test.

    Within each stratum, records are ordered by :func:`unit_hash` (ties by key) and the
    first ``round(fraction * size)`` (halves up) go to test, but at least one when the
    stratum has two records or more and ``fraction > 0``, and at most ``size - 1`` when
    ``fraction < 1`` (so every stratum can also train). A stratum of one record goes to
    train: alone it cannot be both learned and measured, and learning it is worth more."""
    _check_fraction(fraction)
    if len(keys) != len(strata):
        raise ValueError(f"{len(keys)} keys but {len(strata)} strata")
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, stratum in enumerate(strata):
        members[stratum].append(i)
    mask = np.zeros(len(keys), dtype=bool)
    for rows in members.values():
        size = len(rows)
        take = math.floor(fraction * size + 0.5)
        if size >= 2:
            if fraction > 0:
                take = max(take, 1)
            if fraction < 1:
                take = min(take, size - 1)
        else:
            take = 1 if fraction >= 1 else 0
        ordered = sorted(rows, key=lambda i: (unit_hash(salt, keys[i]), keys[i]))
        mask[ordered[:take]] = True
    return mask


def grow(keys: Sequence[str], *, fraction: float, salt: str) -> np.ndarray:
    """Records labeled after the first draw: True (test) where ``unit_hash < fraction``.
    Each record's answer depends on its key alone."""
    _check_fraction(fraction)
    return np.fromiter(
        (unit_hash(salt, key) < fraction for key in keys), dtype=bool, count=len(keys)
    )


def _check_fraction(fraction: float) -> None:
    if not 0 <= fraction <= 1:
        raise ValueError(f"the test fraction must be within [0, 1], found {fraction}")
