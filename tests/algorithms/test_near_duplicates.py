"""Near-duplicates: normalized exact groups, MinHash signatures, LSH pairs, components and
semantic pairs from a vector index's answers."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from assay.algorithms import near_duplicates
from assay.algorithms.near_duplicates import (
    bands_for,
    exact_groups,
    groups_from_pairs,
    lsh_pairs,
    minhash,
    normalize,
    semantic_pairs,
)

WORDS = [
    "markets",
    "slide",
    "as",
    "investors",
    "weigh",
    "inflation",
    "data",
    "central",
    "bank",
    "signals",
    "rates",
    "council",
    "approves",
    "housing",
    "scheme",
    "residents",
    "protest",
    "rising",
    "rents",
    "near",
    "river",
    "scientists",
    "find",
    "evidence",
    "ancient",
    "water",
    "distant",
    "moon",
    "champion",
    "wins",
    "final",
    "dramatic",
    "comeback",
]


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(14)) + f" {i}" for i in range(n)]


def _jaccard(a: str, b: str, shingle: int = 5) -> float:
    sa = {normalize(a)[k : k + shingle] for k in range(len(normalize(a)) - shingle + 1)}
    sb = {normalize(b)[k : k + shingle] for k in range(len(normalize(b)) - shingle + 1)}
    return len(sa & sb) / len(sa | sb)


def test_normalize_folds_case_drops_punctuation_and_collapses_space():
    assert normalize("  Hello,   WORLD!\n\tIt's  ß-test_x ") == "hello world it s ss test x"
    assert normalize("...") == ""


def test_exact_groups_number_groups_by_first_row():
    texts = ["b!", "A", "a", "c", "B", "unique", "a."]
    assert exact_groups(texts).tolist() == [0, 1, 1, -1, 0, -1, 1]
    assert exact_groups([]).tolist() == []


def test_minhash_estimates_jaccard_and_is_independent_of_the_batch():
    texts = _texts(40)
    edited = [t.replace(" ", "  ").upper() for t in texts[:5]]
    changed = [t[: len(t) // 2] + " completely different tail of words" for t in texts[:5]]
    signatures = minhash([*texts, *edited, *changed, "", "abc"])
    assert signatures.shape == (52, 128) and signatures.dtype == np.uint32
    assert np.array_equal(signatures[:5], signatures[40:45])  # same normalized text
    for k in range(5):
        estimate = (signatures[k] == signatures[45 + k]).mean()
        assert estimate == pytest.approx(_jaccard(texts[k], changed[k]), abs=0.15)
    assert (signatures[0] == signatures[1]).mean() < 0.3
    assert np.array_equal(minhash(texts[3:4]), signatures[3:4])
    assert (signatures[50] == np.uint32(0xFFFFFFFF)).all()
    assert np.array_equal(minhash(["ABC!"])[0], signatures[51])  # shorter than a shingle


def test_minhash_is_stable_across_processes():
    # The module alone (not the assay package, whose import is slow), from its file.
    code = (
        "import importlib.util as u;"
        f"s = u.spec_from_file_location('m', {near_duplicates.__file__!r});"
        "m = u.module_from_spec(s); s.loader.exec_module(m);"
        "print(m.minhash(['the same text in another process'], permutations=8)[0].tolist())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    expected = minhash(["the same text in another process"], permutations=8)[0].tolist()
    assert other.stdout.strip() == str(expected)


def test_bands_catch_a_pair_at_the_threshold():
    for threshold in (0.5, 0.8, 0.9):
        bands, rows = bands_for(threshold, 128)
        assert bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= 0.99
        assert (1 / bands) ** (1 / rows) < threshold


def test_lsh_pairs_find_near_duplicates_and_not_strangers():
    texts = _texts(300, seed=1)
    copies = {}
    for k in range(0, 300, 10):
        words = texts[k].split()
        words[3] = words[3].upper() + "!"  # normalizes away
        words[-1] = words[-1] + "x"  # a real edit
        copies[len(texts)] = k
        texts.append(" ".join(words))
    i, j, similarity = lsh_pairs(minhash(texts), threshold=0.7)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    assert {(k, c) for c, k in copies.items()} <= found
    assert all(a < b for a, b in found)
    assert len(found) == len(copies)  # no stranger pairs
    assert (similarity >= 0.7).all()


def test_lsh_pairs_do_not_blow_up_on_a_huge_bucket():
    texts = ["the very same headline about rates"] * 3000 + _texts(20)
    signatures = minhash(texts)
    i, j, _ = lsh_pairs(signatures)
    assert len(i) < 3000 * 20  # not 4.5 million
    groups = groups_from_pairs(len(texts), i, j)
    assert (groups[:3000] == 0).all() and (groups[3000:] == -1).all()


def test_groups_from_pairs_are_components_numbered_by_first_row():
    groups = groups_from_pairs(8, np.array([5, 6, 1, 2]), np.array([7, 7, 2, 3]))
    assert groups.tolist() == [-1, 0, 0, 0, -1, 1, 1, 1]
    assert groups_from_pairs(3, np.array([], int), np.array([], int)).tolist() == [-1, -1, -1]


def test_semantic_pairs_from_neighbours():
    scores = np.array([[1.0, 0.97, 0.5], [1.0, 0.97, 0.2], [0.99, 0.96, 0.1]], np.float32)
    rows = np.array([[10, 12, 11], [11, 14, -1], [12, 10, 11]])
    i, j, s = semantic_pairs(scores, rows, 0.95, queries=np.array([10, 11, 12]))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(10, 12), (11, 14)]
    assert s.tolist() == pytest.approx([0.97, 0.97])
    i, j, s = semantic_pairs(scores[:1], np.array([[0, 2, 1]]), 0.4)
    assert (i.tolist(), j.tolist()) == ([0, 0], [1, 2])


def test_minhash_blocks_and_batches_do_not_change_signatures(monkeypatch):
    texts = [*_texts(9, seed=4), "", "ab", "a much longer text " * 6, "x"]
    alone = np.concatenate([minhash([text], permutations=16) for text in texts])
    monkeypatch.setattr(near_duplicates, "_TEXTS_PER_BATCH", 4)
    monkeypatch.setattr(near_duplicates, "_SHINGLES_PER_BLOCK", 7)  # texts span blocks
    assert np.array_equal(minhash(texts, permutations=16), alone)
