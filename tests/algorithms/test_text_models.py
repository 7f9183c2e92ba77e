"""Text classifiers: real headlines where the shared data exists, small synthetic texts for
the rest; the artifact round trip and every way load refuses a bad one."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from assay.algorithms import text_models as tm
from assay.algorithms.embedders import TfidfSvd
from assay.algorithms.model_evaluation import evaluate
from assay.errors import ArtifactInvalid, ValidationError

LABELS = ["sports", "money", "tech"]
_WORDS = {
    "sports": "match goal team coach league score season player win cup",
    "money": "stocks bank market shares profit rates investors fund price bonds",
    "tech": "software chip internet phone computer app data cloud robot code",
}
_NOISE = ["the", "a", "of", "in", "on", "today", "new", "report", "says", "after", "with"]


def _synthetic(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts of 6 words: 3 from their class's pool, 3 of noise; a tenth of them mislabeled."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(LABELS), n)
    texts = []
    for label in y:
        words = list(rng.choice(_WORDS[LABELS[label]].split(), 3)) + list(rng.choice(_NOISE, 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
    flip = rng.random(n) < 0.1
    y[flip] = rng.integers(0, len(LABELS), int(flip.sum()))
    return texts, y


def _vectors(y: np.ndarray, seed: int, dims: int = 8) -> np.ndarray:
    """Gaussian clusters, one centre per label."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(y.max() + 1, dims))
    return (centres[y] + rng.normal(scale=0.8, size=(len(y), dims))).astype(np.float32)


def _multi(y: np.ndarray) -> np.ndarray:
    """Multi-label targets: the class, plus 'money' for every fourth record."""
    out = np.eye(len(LABELS), dtype=np.int64)[y]
    out[::4, 1] = 1
    return out


@pytest.fixture(scope="module")
def synthetic() -> tuple[list[str], np.ndarray]:
    return _synthetic(300, seed=1)


# -- quality on real headlines ---------------------------------------------------------------


@pytest.fixture
def headlines(shared_data: Callable[[str], Path]) -> tuple[list[str], np.ndarray, list[str]]:
    rows = json.loads((shared_data("kern-ag-news") / "labeled_data_val.json").read_text())[:1600]
    labels = sorted({r["label"] for r in rows})
    return [r["Title"] for r in rows], np.array([labels.index(r["label"]) for r in rows]), labels


@pytest.mark.parametrize("algorithm", tm.ALGORITHMS)
def test_each_algorithm_beats_chance_on_held_out_headlines(headlines, algorithm):
    texts, y, labels = headlines
    train, test = slice(0, 1200), slice(1200, None)
    vectors = None
    if algorithm == "embedding-logreg":
        embedder = TfidfSvd(dimensions=64).fit(texts[train])
        vectors = embedder.encode(texts)
    model = tm.fit(
        algorithm,
        texts[train],
        y[train],
        labels=labels,
        multi_label=False,
        vectors=None if vectors is None else vectors[train],
    )
    proba = model.predict_proba(texts[test], None if vectors is None else vectors[test])
    assert proba.shape == (400, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Four classes: chance is 0.25; these models reach 0.6-0.8 on 1,200 titles.
    assert evaluate(y[test], proba, labels=labels, multi_label=False)["macro_f1"] > 0.5


# -- synthetic: behaviour and the artifact ---------------------------------------------------


def _fit(algorithm: str, texts, y, multi_label: bool = False, **kw) -> tm.TextClassifier:
    base = y if not multi_label else y.argmax(axis=1)
    return tm.fit(
        algorithm,
        texts,
        y,
        labels=LABELS,
        multi_label=multi_label,
        vectors=_vectors(base, seed=2),
        **kw,
    )


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("algorithm", tm.ALGORITHMS)
def test_save_load_round_trip_gives_equal_probabilities(synthetic, algorithm, multi_label):
    texts, y = synthetic
    target = _multi(y) if multi_label else y
    model = _fit(algorithm, texts, target, multi_label)
    new_texts, new_y = _synthetic(50, seed=3)
    vectors = _vectors(new_y, seed=4)
    before = model.predict_proba(new_texts, vectors)
    loaded = tm.load(model.save())
    np.testing.assert_allclose(loaded.predict_proba(new_texts, vectors), before, rtol=1e-12)
    assert (loaded.algorithm, loaded.labels, loaded.multi_label) == (algorithm, LABELS, multi_label)
    assert loaded.parameters == model.parameters
    if multi_label:  # independent probabilities, and they learned the labels
        assert not np.allclose(before.sum(axis=1), 1.0)
        assert ((before >= 0.5) == _multi(new_y)).mean() > 0.8
    else:
        np.testing.assert_allclose(before.sum(axis=1), 1.0)
        assert (before.argmax(axis=1) == new_y).mean() > 0.7


def test_rebuilt_vectorizer_transforms_like_the_fitted_one(synthetic):
    texts, y = synthetic
    model = _fit("tfidf-logreg", texts, y)
    blocks = [
        TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=200_000),
        TfidfVectorizer(
            sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 4), max_features=150_000
        ),
    ]
    expected = sp.hstack([b.fit_transform(texts) for b in blocks]).toarray()
    new_texts = [*texts[:20], "an unseen phrase entirely", ""]
    expected_new = sp.hstack([b.transform(new_texts) for b in blocks]).toarray()
    for current in (model, tm.load(model.save())):
        np.testing.assert_allclose(current.features(texts).toarray(), expected, rtol=1e-6)
        np.testing.assert_allclose(current.features(new_texts).toarray(), expected_new, rtol=1e-6)


def test_char_ngrams_counted_by_words_are_scikit_learns():
    """The char_wb block counts each distinct word's n-grams once (fast on long texts) and
    still fits and transforms exactly as TfidfVectorizer does: unicode, odd whitespace,
    words shorter than an n-gram, repeated n-grams, an empty text, and pruning by document
    frequency (1,200 texts: min_df 2) and by max_features with tied totals."""
    texts, y = _synthetic(1200, seed=5)
    odd = ["", "  İstanbul\tÉCOLE\n\nX  y", "aaaa aaaa ab", "naïve\u00a0café  x", "Ωmega\rpi"]
    texts = [f"{t} {odd[i % len(odd)]}" if i % 3 else t for i, t in enumerate(texts)]
    texts[7] = ""
    char = {
        "name": "char",
        "analyzer": "char_wb",
        "ngram_range": [2, 4],
        "sublinear_tf": True,
        "max_features": 400,
    }
    model = _fit("tfidf-logreg", texts, y, params={"blocks": [char]})
    reference = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=400, min_df=2
    )
    expected = reference.fit_transform(texts).toarray()
    terms = tm._decode_terms(model.arrays["char_terms"], model.arrays["char_offsets"])
    assert terms == reference.get_feature_names_out().tolist()
    np.testing.assert_allclose(model.arrays["char_idf"], reference.idf_, rtol=1e-6)
    new_texts = ["an unseen İstanbul phrase", "", "aaaa", *texts[:30]]
    few = new_texts[: tm._FEW_TEXTS]  # counted text by text, as one prediction is
    for current in (model, tm.load(model.save())):
        np.testing.assert_allclose(current.features(texts).toarray(), expected, rtol=1e-6)
        for batch in (new_texts, few):
            np.testing.assert_allclose(
                current.features(batch).toarray(),
                reference.transform(batch).toarray(),
                rtol=1e-6,
            )


def test_logreg_probabilities_are_scikit_learns(synthetic):
    """The linear kernel + softmax reproduces LogisticRegression.predict_proba."""
    texts, y = synthetic
    model = _fit("tfidf-logreg", texts, y)
    reference = LogisticRegression(
        C=4.0, class_weight="balanced", solver="saga", tol=1e-3, max_iter=100, random_state=0
    ).fit(model.features(texts), y)
    np.testing.assert_allclose(
        model.predict_proba(texts), reference.predict_proba(model.features(texts)), atol=1e-6
    )
    # The epochs saga was given are recorded: 100 on small sets, fewer on large ones.
    assert model.parameters["max_iter"] == 100
    assert [tm._max_iter({}, n) for n in (10_000, 20_000, 100_000, 1_000_000)] == [100, 50, 10, 10]


def test_binary_and_absent_labels(synthetic):
    texts, y = synthetic
    keep = y < 2  # 'tech' has no example
    model = _fit("tfidf-logreg", [t for t, k in zip(texts, keep, strict=True) if k], y[keep])
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    assert (proba[:, 2] == 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba[keep].argmax(axis=1) == y[keep]).mean() > 0.8


def test_multi_label_column_without_positive_gets_a_low_constant(synthetic):
    texts, y = synthetic
    target = _multi(y)
    target[:, 2] = 0
    model = _fit("tfidf-logreg", texts, target, multi_label=True)
    proba = model.predict_proba(texts)
    np.testing.assert_allclose(proba[:, 2], 0.5 / (len(texts) + 1), rtol=1e-9)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t, y: tm.fit("svm", t, y, labels=LABELS, multi_label=False), "unknown algorithm"),
        (lambda t, y: tm.fit("tfidf-nb", t, y * 0, labels=LABELS, multi_label=False), "two"),
        (lambda t, y: tm.fit("tfidf-nb", t[:-1], y, labels=LABELS, multi_label=False), "texts"),
        (
            lambda t, y: tm.fit("embedding-logreg", t, y, labels=LABELS, multi_label=False),
            "vectors",
        ),
        (
            lambda t, y: tm.fit(
                "embedding-logreg",
                None,
                y,
                labels=LABELS,
                multi_label=False,
                vectors=np.zeros((3, 4)),
            ),
            "vectors",
        ),
        (lambda t, y: tm.fit("tfidf-nb", t, y + 5, labels=LABELS, multi_label=False), "indices"),
        (lambda t, y: tm.fit("tfidf-nb", t, y, labels=LABELS, multi_label=True), "0/1"),
    ],
)
def test_fit_refuses_bad_input_with_a_clear_message(synthetic, call, message):
    texts, y = synthetic
    with pytest.raises(ValidationError, match=message):
        call(texts, y)


# -- load refuses ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def artifact(synthetic) -> bytes:
    texts, y = synthetic
    return _fit("tfidf-nb", texts, y).save()


def _rewrite(artifact: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(artifact)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _header(change: Callable[[dict], None]) -> Callable[[dict[str, bytes]], None]:
    def apply(members: dict[str, bytes]) -> None:
        header = json.loads(members["header.json"])
        change(header)
        members["header.json"] = json.dumps(header).encode()

    return apply


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=allow_pickle)
    return out.getvalue()


def _pickled_coef(members: dict[str, bytes]) -> None:
    members["coef.npy"] = _npy(np.array([{"x": 1}, None], dtype=object), allow_pickle=True)


def _shorter_coef(members: dict[str, bytes]) -> None:
    coef = np.load(io.BytesIO(members["coef.npy"]))
    members["coef.npy"] = _npy(coef[:, :-1])


def _consistent_but_wrong_width(members: dict[str, bytes]) -> None:
    """Header and array agree, but coef no longer matches the vocabulary."""
    _shorter_coef(members)
    _header(lambda h: h["arrays"]["coef"].update(shape=[3, h["arrays"]["coef"]["shape"][1] - 1]))(
        members
    )


def _nan_intercept(members: dict[str, bytes]) -> None:
    members["intercept.npy"] = _npy(np.array([np.nan, 0.0, 0.0]))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda a: a[: len(a) // 2], "not a zip"),
        (lambda a: b"\x80\x04 a pickle, not a zip", "not a zip"),
        (lambda a: _rewrite(a, _pickled_coef), "coef"),
        (lambda a: _rewrite(a, lambda m: m.pop("header.json")), "no header"),
        (lambda a: _rewrite(a, lambda m: m.update({"header.json": b"{not json"})), "header"),
        (lambda a: _rewrite(a, _header(lambda h: h.update(format="other"))), "format"),
        (lambda a: _rewrite(a, _header(lambda h: h.update(version=99))), "version 99"),
        (lambda a: _rewrite(a, _header(lambda h: h.update(algorithm="x"))), "unknown algorithm"),
        (lambda a: _rewrite(a, _shorter_coef), "the header says"),
        (lambda a: _rewrite(a, _consistent_but_wrong_width), "columns"),
        (lambda a: _rewrite(a, lambda m: m.pop("intercept.npy")), "lacks array"),
        (lambda a: _rewrite(a, _nan_intercept), "non-finite"),
        (lambda a: _rewrite(a, _header(lambda h: h.update(labels=["a", "b"]))), "labels"),
    ],
)
def test_load_refuses_a_bad_artifact(artifact, tamper, message):
    with pytest.raises(ArtifactInvalid, match=message) as caught:
        tm.load(tamper(artifact))
    assert caught.value.code == "artifact_invalid"


def test_load_refuses_an_artifact_over_the_cap(artifact):
    with pytest.raises(ArtifactInvalid, match="over the cap"):
        tm.load(artifact, max_bytes=len(artifact) - 1)
    assert tm.load(artifact, max_bytes=len(artifact)).labels == LABELS


# -- choose ----------------------------------------------------------------------------------


def test_choose_returns_a_candidate_with_scores(synthetic):
    texts, y = synthetic
    vectors = _vectors(y, seed=2)
    best, scores = tm.choose(texts, y, labels=LABELS, multi_label=False, vectors=vectors)
    assert set(scores) == set(tm.ALGORITHMS)
    assert best in scores and scores[best] == max(scores.values())
    assert all(0.6 < s <= 1 for s in scores.values())
    again = tm.choose(texts, y, labels=LABELS, multi_label=False, vectors=vectors)
    assert again == (best, scores)


def test_choose_fits_only_on_the_given_data(synthetic, monkeypatch):
    texts, y = synthetic
    train_texts, train_y = texts[:200], y[:200]
    seen: list[str] = []
    real_fit = tm.fit

    def recording_fit(algorithm, part, *args, **kwargs):
        seen.extend(part)
        return real_fit(algorithm, part, *args, **kwargs)

    monkeypatch.setattr(tm, "fit", recording_fit)
    best, _ = tm.choose(train_texts, train_y, labels=LABELS, multi_label=False)
    assert best in ("tfidf-logreg", "tfidf-nb")
    assert set(seen) <= set(train_texts)
    assert not set(seen) & (set(texts[200:]) - set(train_texts))
    # Three folds, two candidates: each training text seen twice per candidate.
    assert len(seen) == 2 * 2 * len(train_texts)


def test_choose_multi_label_and_the_fallback(synthetic):
    texts, y = synthetic
    best, scores = tm.choose(texts[:120], _multi(y[:120]), labels=LABELS, multi_label=True)
    assert best in scores and not any(np.isnan(list(scores.values())))
    y_rare = y.copy()
    y_rare[:] = 0
    y_rare[0] = 1  # one example of class 1: no fold can hold it out and train on it
    best, scores = tm.choose(texts, y_rare, labels=LABELS, multi_label=False)
    assert best == "tfidf-logreg" and all(np.isnan(v) for v in scores.values())
