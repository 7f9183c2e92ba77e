"""Tokenization with spaCy's blank pipelines (no model download).

Tokens are stored as int32 pairs of character offsets (start, end), end exclusive; a span
``[start_token, end_token)`` maps to ``text[offsets[start][0]:offsets[end - 1][1]]``.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

import numpy as np

from assay.errors import ValidationError


@lru_cache(maxsize=8)
def pipeline(language: str) -> Any:
    """The blank spaCy pipeline of a language, checked to tokenize without extra packages."""
    # Loading spaCy and a pipeline makes many long-lived objects, which set off full
    # collections that also walk everything the caller holds: five took 1.3 s in a
    # 1,000,000-record import (measured), so none runs meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(language)
    finally:
        if collecting:
            gc.enable()


def _load(language: str) -> Any:
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

    The split back into texts is whole-array numpy work and one bytes slice per text: per
    text numpy calls cost more than spaCy's tokenizer itself on short texts (measured).
    """
    out: list[bytes | None] = [None] * len(texts)
    joined = [i for i, t in enumerate(texts) if t and not t[0].isspace() and not t[-1].isspace()]
    if joined:
        lengths = np.fromiter((len(texts[i]) for i in joined), dtype=np.int64, count=len(joined))
        starts = np.concatenate(([0], np.cumsum(lengths + len(_SEPARATOR))[:-1]))
        ends = starts + lengths
        pairs = _pairs(nlp.tokenizer(_SEPARATOR.join(texts[i] for i in joined)))
        # The text each token starts in; tokens that start in a separator belong to none.
        owner = np.searchsorted(starts, pairs[:, 0], side="right") - 1
        inside = pairs[:, 0] < ends[owner]
        own = (pairs[inside] - starts[owner[inside], None]).astype(np.int32)
        counts = np.bincount(owner[inside], minlength=len(joined))
        bounds = np.concatenate(([0], np.cumsum(counts)))
        last_end = own[np.maximum(bounds[1:] - 1, 0), 1] if len(own) else np.zeros_like(counts)
        fits = (counts > 0) & (last_end <= lengths)
        buffer = own.tobytes()
        byte_bounds = (8 * bounds).tolist()  # an int32 pair is 8 bytes
        for i, low, high, ok in zip(
            joined, byte_bounds[:-1], byte_bounds[1:], fits.tolist(), strict=True
        ):
            if ok:
                out[i] = buffer[low:high]
    alone = [i for i, blob in enumerate(out) if blob is None]
    for i, doc in zip(alone, nlp.tokenizer.pipe(texts[i] for i in alone), strict=True):
        out[i] = _pairs(doc).astype(np.int32).tobytes()
    return cast(list[bytes], out)  # every text now has its blob


@contextmanager
def workers(language: str) -> Iterator[ProcessPoolExecutor]:
    """Two worker processes for import work that tokenizes (forked, with the language's
    pipeline loaded), so that the caller writes one chunk while the next ones are prepared.

    Forked, not spawned: a spawned worker would load spaCy again. So each worker first
    undoes what it inherited from a server (:func:`_start_worker`)."""
    pipeline(language)  # fail early, here, on a language spaCy cannot tokenize
    pool = ProcessPoolExecutor(
        max_workers=2,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(language, os.getpid()),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _start_worker(language: str, parent: int) -> None:
    """A forked worker's start: it dies with its parent (a parent killed with -9 left its
    workers waiting forever, 330-390 MB each), stops on SIGTERM (a server's own handler
    ignored it), and closes every socket it inherited (a server's listening socket held by a
    worker kept the port taken after the server died; its connections kept clients waiting).
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: no signal comes
        os._exit(1)
    signal.set_wakeup_fd(-1)  # the parent's event loop's: not this process's
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops it
    _close_inherited_sockets()
    pipeline(language)


def _close_inherited_sockets() -> None:
    """Release this process's sockets: a worker talks to its parent through pipes only.

    Each is replaced by /dev/null rather than closed: its number stays taken, so a copied
    socket object that is collected later closes /dev/null, not a file the worker opened."""
    try:
        fds = os.listdir("/proc/self/fd")
    except FileNotFoundError:  # no /proc (not Linux): nothing to find them by
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in fds:
            try:
                if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                    os.dup2(null, int(name))
            except OSError:  # the listing's own descriptor, gone once listed
                continue
    finally:
        os.close(null)


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
