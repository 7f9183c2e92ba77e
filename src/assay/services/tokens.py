"""Tokenization with spaCy's blank pipelines (no model download).

Tokens are stored as int32 pairs of character offsets (start, end), end exclusive; a span
``[start_token, end_token)`` maps to ``text[offsets[start][0]:offsets[end - 1][1]]``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from typing import Any, cast

import numpy as np

from assay.errors import ValidationError


@lru_cache(maxsize=8)
def pipeline(language: str) -> Any:
    """The blank spaCy pipeline of a language, checked to tokenize without extra packages."""
    import spacy

    try:
        nlp = spacy.blank(language)
        nlp("check")
    except ImportError as exc:
        if "E048" in str(exc):  # spaCy knows no language of that code
            raise ValidationError(
                f"spaCy has no tokenizer for language {language!r}; use a spaCy language code "
                "such as en, de, fr, es",
                language=language,
            ) from exc
        raise ValidationError(
            f"language {language!r} needs extra packages to tokenize ({exc}); "
            "install them or choose another language",
            language=language,
        ) from exc
    except Exception as exc:  # spaCy raises a plain ImportError/ValueError mix here
        raise ValidationError(
            f"spaCy has no tokenizer for language {language!r}: {exc}",
            language=language,
        ) from exc
    return nlp


def check_language(language: str) -> None:
    pipeline(language)


BATCH = 1000
_SEPARATOR = "\n\n"


def tokenize(texts: Iterable[str], language: str) -> Iterator[bytes]:
    """Token offsets of each text, as bytes of int32 (start, end) pairs."""
    nlp = pipeline(language)
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == BATCH:
            yield from _tokenize_batch(nlp, batch)
            batch = []
    if batch:
        yield from _tokenize_batch(nlp, batch)


def _pairs(doc: Any) -> np.ndarray:
    from spacy.attrs import IDX, LENGTH

    pairs: np.ndarray = doc.to_array([IDX, LENGTH]).astype(np.int64).reshape(-1, 2)
    pairs[:, 1] += pairs[:, 0]
    return pairs


def _tokenize_batch(nlp: Any, texts: list[str]) -> list[bytes]:
    """Tokenize many texts as one: spaCy's per-document overhead dominates short texts.

    Texts joined by a blank line tokenize exactly as they do alone when they neither start
    nor end with whitespace (spaCy always splits at whitespace): checked on the sample and
    on about 50,000 texts of the shared datasets, and by the tests. Other texts, and any
    text whose tokens would cross its end, are tokenized alone.
    """
    out: list[bytes | None] = [None] * len(texts)
    joined = [i for i, t in enumerate(texts) if t and not t[0].isspace() and not t[-1].isspace()]
    if joined:
        lengths = np.fromiter((len(texts[i]) for i in joined), dtype=np.int64, count=len(joined))
        starts = np.concatenate(([0], np.cumsum(lengths + len(_SEPARATOR))[:-1]))
        pairs = _pairs(nlp.tokenizer(_SEPARATOR.join(texts[i] for i in joined)))
        low = np.searchsorted(pairs[:, 0], starts)
        high = np.searchsorted(pairs[:, 0], starts + lengths)
        for k, i in enumerate(joined):
            own = pairs[low[k] : high[k]] - starts[k]
            if len(own) and own[-1, 1] <= lengths[k]:
                out[i] = own.astype(np.int32).tobytes()
    alone = [i for i, blob in enumerate(out) if blob is None]
    for i, doc in zip(alone, nlp.tokenizer.pipe(texts[i] for i in alone), strict=True):
        out[i] = _pairs(doc).astype(np.int32).tobytes()
    return cast(list[bytes], out)  # every text now has its blob


def tokenize_columns(columns: dict[str, list[str]], language: str) -> dict[str, list[bytes]]:
    return {name: list(tokenize(texts, language)) for name, texts in columns.items()}


class Tokenizer:
    """Tokenizes batches of text columns; with ``parallel``, in two worker processes
    (forked: they run only spaCy), so that the caller can write one batch while the next
    ones are tokenized."""

    def __init__(self, language: str, *, parallel: bool) -> None:
        self.language = language
        self.parallel = parallel
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Tokenizer:
        pipeline(self.language)  # fail early, here, on a language spaCy cannot tokenize
        if self.parallel:
            self._pool = ProcessPoolExecutor(
                max_workers=2,
                mp_context=multiprocessing.get_context("fork"),
                initializer=pipeline,
                initargs=(self.language,),
            )
        return self

    def submit(self, columns: dict[str, list[str]]) -> Future[dict[str, list[bytes]]]:
        if self._pool is not None:
            return self._pool.submit(tokenize_columns, columns, self.language)
        done: Future[dict[str, list[bytes]]] = Future()
        done.set_result(tokenize_columns(columns, self.language))
        return done

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def offsets(blob: bytes) -> np.ndarray:
    """(n_tokens, 2) array of character offsets."""
    return np.frombuffer(blob, dtype=np.int32).reshape(-1, 2)


def token_texts(text: str, blob: bytes) -> list[str]:
    return [text[s:e] for s, e in offsets(blob).tolist()]


def span_text(text: str, blob: bytes, start: int, end: int) -> str:
    """Text of tokens ``[start, end)``; raises when the span lies outside the tokens."""
    pairs = offsets(blob)
    if not 0 <= start < end <= len(pairs):
        raise ValidationError(
            f"span [{start}, {end}) is outside the text's {len(pairs)} tokens",
            start_token=start,
            end_token=end,
            tokens=len(pairs),
        )
    return text[int(pairs[start][0]) : int(pairs[end - 1][1])]


def char_span_to_tokens(blob: bytes, start_char: int, end_char: int) -> tuple[int, int]:
    """Token span covering exactly ``[start_char, end_char)``; raises if not on boundaries."""
    pairs = offsets(blob)
    starts = pairs[:, 0].tolist()
    ends = pairs[:, 1].tolist()
    if start_char not in starts or end_char not in ends:
        raise ValidationError(
            f"characters [{start_char}, {end_char}) do not fall on token boundaries",
            start_char=start_char,
            end_char=end_char,
        )
    return starts.index(start_char), ends.index(end_char) + 1
