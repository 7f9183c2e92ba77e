"""Embedders: texts to vectors (float32 rows, L2-normalized; an empty text gives a zero row).

Three kinds, one small contract (``fit`` for the ones that learn from the corpus, ``encode``
of a list of texts, ``dimensions`` once usable):

- :class:`TfidfSvd`, built in: TF-IDF of words then a truncated SVD, deterministic
  (``random_state``); fitted on the corpus.
- :class:`SentenceTransformerEmbedder`: a sentence-transformers model folder, loaded offline,
  on the GPU when torch sees one.
- :class:`StaticEmbedder`: a model2vec static model folder.

They pickle without their loaded model (only the folder travels), so the executor can ship
them to Dask workers, which load the model once per process. Errors are ``ValueError`` with a
message for the user; services translate them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


class TfidfSvd:
    """TF-IDF of words (unigrams, sublinear term frequency) reduced by a truncated SVD to at
    most ``dimensions``: fewer when the vocabulary or the corpus is smaller. The vocabulary
    comes from every text; the SVD from at most ``sample`` of them, chosen by
    ``random_state`` (on 100,000 headlines a sample of 20,000 keeps the share of variance
    the components explain, 0.186 against 0.181, at a quarter of the time)."""

    def __init__(self, dimensions: int = 128, sample: int = 20_000, random_state: int = 0) -> None:
        self.dimensions = dimensions
        self.sample = sample
        self.random_state = random_state

    def fit(self, texts: Sequence[str]) -> TfidfSvd:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            min_df=2 if len(texts) >= 1000 else 1,
            max_features=200_000,
            dtype=np.float32,
        )
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError as exc:  # "empty vocabulary": no text has a word
            raise ValueError("the texts have no words to embed (all empty?)") from exc
        if matrix.shape[0] > self.sample:
            rng = np.random.default_rng(self.random_state)
            matrix = matrix[np.sort(rng.choice(matrix.shape[0], self.sample, replace=False))]
        k = min(self.dimensions, matrix.shape[1], matrix.shape[0])
        svd = TruncatedSVD(n_components=k, random_state=self.random_state)
        with one_blas_thread():
            svd.fit(matrix)
        self.vectorizer_ = vectorizer
        self.svd_ = svd
        return self

    @property
    def dimensions_(self) -> int:
        return int(self.svd_.components_.shape[0])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not hasattr(self, "svd_"):
            raise ValueError("the TF-IDF embedder is not fitted")
        return normalize(self.svd_.transform(self.vectorizer_.transform(texts)))


def one_blas_thread() -> Any:
    """BLAS on one thread, for the dense steps of fitting (SVD, PCA): on a busy 2-core machine
    OpenBLAS's threads waited for each other, 6 to 15 s against 1.4 to 2 s on one thread for
    the SVD of 20,000 headlines (measured)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


_load_lock = threading.Lock()


@lru_cache(maxsize=4)
def _sentence_transformer(path: str, on: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=on, local_files_only=True)


@lru_cache(maxsize=4)
def _static_model(path: str) -> Any:
    from model2vec import StaticModel

    return StaticModel.from_pretrained(path)


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a folder (see :func:`check_sentence_transformer`)."""

    def __init__(self, path: str, batch_size: int = 64) -> None:
        self.path = path
        self.batch_size = batch_size

    def model(self) -> Any:
        with _load_lock:
            try:
                return _sentence_transformer(self.path, device())
            except (OSError, ValueError, KeyError) as exc:
                raise ValueError(
                    f"cannot load the sentence-transformers model in {self.path}: {exc}"
                ) from exc

    @property
    def dimensions_(self) -> int:
        found = self.model().get_sentence_embedding_dimension()
        return int(found)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalize(vectors)

    def encode_tokens(self, texts: Sequence[str], spans: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Contextual vectors of given character spans of each text: the mean of the model's
        word pieces that overlap each span. Spans past the model's window (long texts) get
        their own text's vector, embedded alone."""
        model = self.model()
        pieces = model.encode(
            list(texts),
            batch_size=self.batch_size,
            output_value="token_embeddings",
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        tokenizer = model.tokenizer
        found: list[np.ndarray] = []
        leftovers: list[tuple[int, int, str]] = []
        for number, (text, wanted, vectors) in enumerate(zip(texts, spans, pieces, strict=True)):
            matrix = vectors.float().cpu().numpy()
            encoded = tokenizer(
                text,
                return_offsets_mapping=True,
                truncation=True,
                max_length=model.max_seq_length,
            )
            offsets = np.asarray(encoded["offset_mapping"], dtype=np.int64).reshape(-1, 2)
            offsets = offsets[: len(matrix)]
            real = offsets[:, 1] > offsets[:, 0]  # special tokens have empty offsets
            out = np.zeros((len(wanted), matrix.shape[1]), dtype=np.float32)
            for row, (start, end) in enumerate(np.asarray(wanted).tolist()):
                overlap = real & (offsets[:, 0] < end) & (offsets[:, 1] > start)
                if overlap.any():
                    out[row] = matrix[overlap].mean(axis=0)
                elif end > start:
                    leftovers.append((number, row, text[start:end]))
            found.append(out)
        if leftovers:
            words = sorted({word for _, _, word in leftovers})
            alone = dict(zip(words, self.encode(words), strict=True))
            for number, row, word in leftovers:
                found[number][row] = alone[word]
        return [normalize(matrix) for matrix in found]

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "batch_size": self.batch_size}


class StaticEmbedder:
    """A model2vec static model from a folder (``config.json``, ``model.safetensors``,
    ``tokenizer.json``)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def model(self) -> Any:
        with _load_lock:
            try:
                return _static_model(self.path)
            except (OSError, ValueError, KeyError) as exc:
                raise ValueError(f"cannot load the model2vec model in {self.path}: {exc}") from exc

    @property
    def dimensions_(self) -> int:
        return int(self.model().dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return normalize(self.model().encode(list(texts), show_progress_bar=False))


def check_sentence_transformer(path: Path) -> None:
    """Raise ValueError unless ``path`` is a folder holding a sentence-transformers model."""
    if not path.is_dir():
        raise ValueError(f"the model folder {path} does not exist")
    if not (path / "modules.json").is_file():
        raise ValueError(f"{path} is not a sentence-transformers model (it has no modules.json)")


def check_static_model(path: Path) -> None:
    """Raise ValueError unless ``path`` is a folder holding a model2vec static model."""
    if not path.is_dir():
        raise ValueError(f"the model folder {path} does not exist")
    missing = [name for name in ("config.json", "tokenizer.json") if not (path / name).is_file()]
    if missing or not any(path.glob("*.safetensors")):
        raise ValueError(
            f"{path} is not a model2vec static model (it needs config.json, tokenizer.json "
            "and model.safetensors)"
        )


PCA_SAMPLE = 50_000  # rows a PCA reducer is fitted on, at most


def pca_rows(n: int, random_state: int = 0) -> np.ndarray:
    """Which of ``n`` rows a PCA reducer is fitted on (ascending): all, or a fixed random
    sample of PCA_SAMPLE."""
    if n <= PCA_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, PCA_SAMPLE, replace=False))


def reduce_pca(matrix: np.ndarray, dimensions: int, random_state: int = 0) -> Any:
    """A PCA to at most ``dimensions`` fitted on the rows :func:`pca_rows` chooses."""
    from sklearn.decomposition import PCA

    rows = np.asarray(matrix, dtype=np.float32)
    if len(rows) > PCA_SAMPLE:
        rows = rows[pca_rows(len(rows), random_state)]
    k = max(1, min(dimensions, rows.shape[1], len(rows)))
    with one_blas_thread():
        return PCA(n_components=k, random_state=random_state).fit(rows)
