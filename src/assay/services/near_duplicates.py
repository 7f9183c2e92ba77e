"""Near-duplicate groups of a project's records: exact (normalized text), lexical (MinHash
LSH) and semantic (an embedding threshold through the vector index); groups whose records
carry different manual labels are flagged. Resumable: signatures and neighbours are chunks.

A run reads one text attribute of every record (semantic: the embedding's vectors), stores
its groups as findings of its kind (largest group first, ``group_no`` counting from 0, each
record's ``score`` the lowest similarity that joined its group) and returns a summary. The
``mixed`` flags follow the manual labels: they are worked out again whenever a run is
returned, as labels change without changing the groups.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import near_duplicates as groups_of
from assay.algorithms import vector_index
from assay.errors import NotFound, ValidationError
from assay.runtime.job_runner import Progress, no_progress
from assay.services import (
    annotating,
    embeddings,
    projects,
    queries,
    records,
    search,
    stored_runs,
)
from assay.services import tasks as task_service
from assay.services.database import Database
from assay.storage.models import (
    AnalysisRun,
    Attribute,
    Embedding,
    Finding,
    Project,
    Record,
)

JOB_KIND = "duplicates"
KINDS = documents.values(documents.DuplicateKind)
DEFAULT_THRESHOLDS = {"lexical": 0.8, "semantic": 0.95}
# Texts per stored chunk of MinHash signatures, and query rows per stored chunk of
# neighbours: part of a run's inputs, as a stored chunk holds the rows of its position.
MINHASH_CHUNK = 10_000
SEMANTIC_CHUNK = 10_000
NEIGHBOURS = 10  # neighbours asked of the vector index per record (semantic)
READ_PAGE = 5000  # records read at a time
_IN_CHUNK = 900  # ids per IN (...) list


# --- before the job ---------------------------------------------------------------------------


def check(
    session: Session,
    project: Project,
    *,
    kind: str = "exact",
    attribute: str | None = None,
    embedding: str | None = None,
    threshold: float | None = None,
) -> None:
    """Refuse, before any job (422/404): an unknown kind, an attribute that is not text, a
    missing or unready embedding (semantic), a threshold outside (0, 1]."""
    _resolve(session, project, kind, attribute, embedding, threshold)


def _resolve(
    session: Session,
    project: Project,
    kind: str,
    attribute: str | None,
    embedding: str | None,
    threshold: float | None,
) -> tuple[Attribute, Embedding | None, float | None]:
    """The text attribute, the embedding (semantic) and the threshold of a run."""
    if kind not in KINDS:
        raise ValidationError(f"unknown duplicate kind {kind!r}: use {', '.join(KINDS)}", kind=kind)
    if threshold is not None:
        if kind == "exact":
            raise ValidationError(
                "exact duplicates take no threshold (their normalized texts are equal)",
                threshold=threshold,
            )
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 < threshold <= 1
        ):
            raise ValidationError(
                f"the threshold is a similarity above 0 and at most 1, not {threshold!r}",
                threshold=threshold,
            )
    found_embedding = _embedding(session, project, embedding) if kind == "semantic" else None
    if found_embedding is not None:
        found = found_embedding.attribute
        if attribute is not None and attribute != found.name:
            raise ValidationError(
                f"embedding {found_embedding.name!r} embeds {found.name!r}, not {attribute!r}",
                attribute=attribute,
                embedding=found_embedding.name,
            )
    elif attribute is not None:
        found = projects.attribute(session, project, attribute)  # 404
        if found.data_type != "text":
            raise ValidationError(
                f"attribute {attribute!r} is {found.data_type}, not text: duplicates are "
                "found among texts",
                attribute=attribute,
            )
    else:
        text = [a for a in projects.attributes(session, project) if a.data_type == "text"]
        if not text:
            raise ValidationError(
                f"project {project.name!r} has no text attribute to find duplicates in"
            )
        found = text[0]
    if kind != "exact" and threshold is None:
        threshold = DEFAULT_THRESHOLDS[kind]
    return found, found_embedding, None if threshold is None else float(threshold)


def _embedding(session: Session, project: Project, name: str | None) -> Embedding:
    """The named embedding with vectors, or the project's only ready attribute-level one."""
    if name is not None:
        found = embeddings.get(session, project, name)  # 404
        if found.state != "ready":
            raise ValidationError(
                f"the embedding {name!r} is not ready (state {found.state}): run it first, or "
                "let it finish",
                embedding=name,
            )
        return found
    ready = [
        e
        for e in embeddings.list_all(session, project)
        if e.state == "ready" and e.level == "attribute"
    ]
    if len(ready) == 1:
        return ready[0]
    if not ready:
        raise ValidationError(
            f"semantic duplicates need an embedding, and project {project.name!r} has no ready "
            "one: add one (assay embed --project P --attribute A) and let it finish"
        )
    raise ValidationError(
        f"project {project.name!r} has several ready embeddings "
        f"({', '.join(repr(e.name) for e in ready)}): name the one to use",
    )


# --- the job ----------------------------------------------------------------------------------


def run(
    db: Database,
    project: str,
    *,
    kind: str = "exact",
    attribute: str | None = None,
    embedding: str | None = None,
    threshold: float | None = None,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.DuplicatesResult:
    """The duplicates job's work: group, store the groups, summarize."""
    progress(0.01, "reading the records")
    with db.session() as s:
        found = projects.get(s, project)
        project_id = found.id
        attr, emb, threshold = _resolve(s, found, kind, attribute, embedding, threshold)
        attribute_name = attr.name
        if emb is not None:
            vectors = embeddings.load(data_dir, emb)
            vector_rows = search.rows_of(vectors, np.asarray(_visible_ids(s, found)))
            ids = vectors.ids[vector_rows]
            texts: list[str] = []
            inputs = stored_runs.fingerprint(
                ids, [emb.id, vectors.version], {"chunk": SEMANTIC_CHUNK, "k": NEIGHBOURS}
            )
        else:
            ids, texts = _texts(s, found, attr)
            chunk = {"chunk": MINHASH_CHUNK} if kind == "lexical" else None
            inputs = stored_runs.fingerprint(ids, _digest(texts), chunk)
    params = {
        "kind": kind,
        "attribute": attribute_name,
        "embedding": emb.name if emb is not None else None,
        "threshold": threshold,
    }
    this = stored_runs.begin(db, project_id, JOB_KIND, params, inputs)
    if this.done:
        return _returned(db, project, this, stored_runs.summary(db, this))
    try:
        if kind == "exact":
            progress(0.3, "comparing normalized texts")
            group = groups_of.exact_groups(texts)
            similarity = np.where(group >= 0, 1.0, np.nan)
        elif kind == "lexical":
            group, similarity = _lexical(db, this, texts, threshold, executor, progress)
        else:
            assert emb is not None
            group, similarity = _semantic(
                db, this, data_dir, emb, vectors, vector_rows, threshold, progress
            )
        progress(0.9, "storing the groups")
        rows = _ranked(ids, group, similarity)
        with db.session() as s:
            stored_runs.write_findings(s, this.id, kind, rows)
        doc: dict[str, Any] = {
            **params,
            "groups": len({row["group_no"] for row in rows}),
            "records": len(rows),
            "mixed": 0,
        }
        stored_runs.finish(db, this, doc)
    except BaseException as exc:
        stored_runs.fail(db, this, str(exc) or type(exc).__name__)
        raise
    return _returned(db, project, this, doc)


def _returned(
    db: Database, project: str, this: stored_runs.Run, doc: dict[str, Any]
) -> documents.DuplicatesResult:
    """The run's document, its ``mixed`` flags brought up to date with the labels."""
    with db.session() as s:
        mixed = mark_mixed(s, projects.get(s, project), this.id, str(doc["kind"]))
        if mixed != doc.get("mixed"):
            doc = {**doc, "mixed": mixed}
            row = s.get(AnalysisRun, this.id)
            assert row is not None
            row.summary = doc
        return cast(documents.DuplicatesResult, stored_runs.with_run(s, this, doc))


def _visible_ids(session: Session, project: Project) -> list[int]:
    return queries.record_ids(session, project)


def _texts(
    session: Session, project: Project, attribute: Attribute
) -> tuple[np.ndarray, list[str]]:
    """Every visible record's id (ascending) and its text of the attribute ("" for none)."""
    value = Record.data[attribute.name].as_string()
    visible = projects.visible_records(session, project)
    ids: list[int] = []
    texts: list[str] = []
    last = 0
    while rows := session.execute(
        select(Record.id, value)
        .where(visible, Record.id > last)
        .order_by(Record.id)
        .limit(READ_PAGE)
    ).all():
        ids.extend(row[0] for row in rows)
        texts.extend(row[1] if isinstance(row[1], str) else "" for row in rows)
        last = rows[-1][0]
    return np.asarray(ids, dtype=np.int64), texts


def _digest(texts: Sequence[str]) -> bytes:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.digest()


def signatures_of(texts: list[str]) -> dict[str, np.ndarray]:
    """A chunk's MinHash signatures (top level: it runs on the executor's workers)."""
    return {"signatures": groups_of.minhash(texts)}


def _lexical(
    db: Database,
    this: stored_runs.Run,
    texts: list[str],
    threshold: float | None,
    executor: Any,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """Groups of texts whose estimated Jaccard similarity reaches the threshold, and each
    grouped row's lowest similarity in its group."""
    assert threshold is not None
    chunks = [texts[at : at + MINHASH_CHUNK] for at in range(0, len(texts), MINHASH_CHUNK)]
    parts = stored_runs.chunked(
        db,
        this,
        chunks,
        signatures_of,
        executor=executor,
        progress=lambda done, message: progress(0.05 + 0.6 * done, message),
        message="MinHash signatures",
    )
    signatures = (
        np.concatenate([part["signatures"] for part in parts])
        if parts
        else np.empty((0, 128), np.uint32)
    )
    progress(0.7, "pairing similar signatures")
    i, j, similarity = groups_of.lsh_pairs(signatures, threshold=threshold)
    return _grouped(len(texts), i, j, similarity)


def _semantic(
    db: Database,
    this: stored_runs.Run,
    data_dir: Path,
    embedding: Embedding,
    vectors: embeddings.Vectors,
    rows: np.ndarray,
    threshold: float | None,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """Groups of records whose vectors' cosine similarity reaches the threshold: each
    record's nearest neighbours through the vector index, :data:`SEMANTIC_CHUNK` query rows a
    chunk (computed in this thread, which holds the index)."""
    assert threshold is not None
    graph = search._graph(data_dir, embedding, vectors, search.EXACT_BELOW)
    allowed = None if len(rows) == len(vectors.ids) else rows

    def neighbours(block: np.ndarray) -> dict[str, np.ndarray]:
        queries_ = np.asarray(vectors.matrix[block], dtype=np.float32)
        scores, found = vector_index.search(
            vectors.matrix, queries_, NEIGHBOURS + 1, hnsw=graph, allowed=allowed
        )
        i, j, s = groups_of.semantic_pairs(scores, found, threshold, queries=block)
        return {"i": i, "j": j, "similarity": s}

    blocks = [rows[at : at + SEMANTIC_CHUNK] for at in range(0, len(rows), SEMANTIC_CHUNK)]
    parts = stored_runs.chunked(
        db,
        this,
        blocks,
        neighbours,
        executor=None,
        progress=lambda done, message: progress(0.05 + 0.8 * done, message),
        message="neighbours",
    )
    # vector rows -> positions in ids (ids are the vectors' ids of ``rows``, ascending)
    i = np.concatenate([p["i"] for p in parts]) if parts else np.empty(0, np.int64)
    j = np.concatenate([p["j"] for p in parts]) if parts else np.empty(0, np.int64)
    s = np.concatenate([p["similarity"] for p in parts]) if parts else np.empty(0, np.float32)
    return _grouped(len(rows), np.searchsorted(rows, i), np.searchsorted(rows, j), s)


def _grouped(
    n: int, i: np.ndarray, j: np.ndarray, similarity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Group ids of ``n`` rows from pairs, and each grouped row's group's lowest pair
    similarity (NaN outside groups)."""
    group = groups_of.groups_from_pairs(n, i, j)
    lowest = np.full(int(group.max()) + 1 if len(group) else 0, np.inf)
    if len(i):
        np.minimum.at(lowest, group[i], similarity)
    value = np.full(n, np.nan)
    inside = group >= 0
    value[inside] = lowest[group[inside]]
    return group, value


def _ranked(ids: np.ndarray, group: np.ndarray, similarity: np.ndarray) -> list[dict[str, Any]]:
    """The finding rows: grouped records, largest group first (ties: the group's lowest
    record id), each group's records by id; ``group_no`` counts from 0 in that order."""
    inside = np.flatnonzero(group >= 0)
    if not len(inside):
        return []
    member_group = group[inside]
    sizes = np.bincount(member_group)
    first = np.full(len(sizes), np.iinfo(np.int64).max)
    np.minimum.at(first, member_group, ids[inside])
    order = np.lexsort((first, -sizes))  # groups: largest, then lowest first record id
    rank = np.empty(len(sizes), np.int64)
    rank[order] = np.arange(len(sizes))
    rows = inside[np.lexsort((ids[inside], rank[member_group]))]
    return [
        {
            "record_id": int(ids[r]),
            "group_no": int(rank[group[r]]),
            "score": round(float(similarity[r]), 6),
        }
        for r in rows
    ]


# --- labels in a group ------------------------------------------------------------------------


def _reference_labels(
    session: Session, project: Project, record_ids: Sequence[int]
) -> dict[str, dict[int, Any]]:
    """Per task (by name), each record's reference manual label (absent: none)."""
    return {
        task.name: annotating.reference_values(session, task, list(record_ids))
        for task in task_service.list_all(session, project)
    }


def _mixed(members: Sequence[int], labels: dict[str, dict[int, Any]]) -> bool:
    """Whether the records carry different manual labels in some task."""
    for values in labels.values():
        seen = {json.dumps(values[i], sort_keys=True) for i in members if i in values}
        if len(seen) > 1:
            return True
    return False


def mark_mixed(session: Session, project: Project, run_id: int, kind: str) -> int:
    """Flag the run's groups whose records carry different manual labels now (stored on
    their findings); returns how many are."""
    rows = session.execute(
        select(Finding.record_id, Finding.group_no, Finding.mixed).where(
            Finding.run_id == run_id, Finding.kind == kind
        )
    ).all()
    members: dict[int, list[int]] = defaultdict(list)
    flagged: dict[int, bool] = {}
    for record_id, group_no, mixed in rows:
        number = int(group_no or 0)  # every duplicates finding has its group
        members[number].append(int(record_id))
        flagged[number] = bool(mixed)
    labels = _reference_labels(session, project, [int(r[0]) for r in rows])
    now = {group: _mixed(ids, labels) for group, ids in members.items()}
    for value in (True, False):
        changed = [g for g, mixed in now.items() if mixed == value and flagged[g] != value]
        for at in range(0, len(changed), _IN_CHUNK):
            session.execute(
                update(Finding)
                .where(
                    Finding.run_id == run_id,
                    Finding.kind == kind,
                    Finding.group_no.in_(changed[at : at + _IN_CHUNK]),
                )
                .values(mixed=value)
            )
    return sum(now.values())


# --- pages ------------------------------------------------------------------------------------


def page(
    session: Session,
    project: Project,
    *,
    kind: str = "exact",
    mixed_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> documents.DuplicatesPage:
    """A page of the groups of the project's newest run of ``kind``, largest first (with
    ``mixed_only``, those flagged mixed when the run was last returned)."""
    if kind not in KINDS:
        raise ValidationError(f"unknown duplicate kind {kind!r}: use {', '.join(KINDS)}", kind=kind)
    if not 1 <= limit <= queries.MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {queries.MAX_LIMIT}", limit=limit)
    row = stored_runs.latest(session, project.id, JOB_KIND, kind=kind)
    if row is None or row.summary is None:
        raise NotFound(
            f"project {project.name!r} has no {kind} duplicates run yet: run one "
            f"(assay duplicates --project P --kind {kind})",
            kind=kind,
        )
    after = -1
    if cursor:
        value = queries.decode_cursor(cursor)[0]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("invalid cursor", cursor=cursor)
        after = value
    condition = [Finding.run_id == row.id, Finding.kind == kind]
    numbers = [
        int(number or 0)
        for number in session.scalars(
            select(Finding.group_no)
            .where(
                *condition,
                Finding.group_no > after,
                *([Finding.mixed.is_(True)] if mixed_only else []),
            )
            .distinct()
            .order_by(Finding.group_no)
            .limit(limit + 1)
        )
    ]
    more = len(numbers) > limit
    numbers = numbers[:limit]
    found = (
        session.execute(
            select(Finding.record_id, Finding.group_no, Finding.score)
            .where(*condition, Finding.group_no.in_(numbers))
            .order_by(Finding.position)
        ).all()
        if numbers
        else []
    )
    ids = [int(r.record_id) for r in found]
    stored = search.records_by_id(session, project, ids)
    position = records.positions(session, project, ids)
    labels = _reference_labels(session, project, ids)
    members: dict[int, list[documents.DuplicateMember]] = defaultdict(list)
    lowest: dict[int, float | None] = {}
    for r in found:
        record_id, group_no = int(r.record_id), int(r.group_no)
        score = None if r.score is None or np.isnan(r.score) else float(r.score)
        lowest.setdefault(group_no, score)  # a group's records all carry its lowest
        if record_id not in stored:  # deleted since the run
            continue
        members[group_no].append(
            {
                "id": record_id,
                "key": stored[record_id]["key"],
                "position": position[record_id],
                "labels": {task: values.get(record_id) for task, values in labels.items()},
                "data": stored[record_id]["data"],
            }
        )
    groups: list[documents.DuplicateGroup] = [
        {
            "group": number,
            "size": len(members[number]),
            "mixed_labels": _mixed([m["id"] for m in members[number]], labels),
            "similarity": lowest.get(number),
            "records": members[number],
        }
        for number in numbers
    ]
    summary = dict(row.summary)
    return cast(
        documents.DuplicatesPage,
        {
            **summary,
            "run": stored_runs.describe(session, row),
            "page": groups,
            "next_cursor": queries.encode_cursor([numbers[-1], 0]) if more else None,
        },
    )


# --- for splits -------------------------------------------------------------------------------


def group_ids(session: Session, project: Project, record_ids: Sequence[int]) -> np.ndarray:
    """For a split: a group id per record (-1: alone), joining the records that share an exact
    group now or a group of the newest lexical or semantic run."""
    ids = np.asarray(record_ids, dtype=np.int64)
    n = len(ids)
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []

    def join(group: np.ndarray) -> None:
        """Pairs linking each member of a group (by position in ``ids``) to the next."""
        inside = np.flatnonzero(group >= 0)
        order = inside[np.argsort(group[inside], kind="stable")]
        same = group[order[1:]] == group[order[:-1]]
        firsts.append(order[:-1][same])
        seconds.append(order[1:][same])

    text = [a for a in projects.attributes(session, project) if a.data_type == "text"]
    if text and n:
        join(groups_of.exact_groups(_texts_of(session, text[0], ids)))
    for kind in ("lexical", "semantic"):
        row = stored_runs.latest(session, project.id, JOB_KIND, kind=kind)
        if row is None:
            continue
        found = session.execute(
            select(Finding.record_id, Finding.group_no).where(
                Finding.run_id == row.id, Finding.kind == kind
            )
        ).all()
        group = np.full(n, -1, dtype=np.int64)
        if found and n:
            members = np.asarray([r[0] for r in found], dtype=np.int64)
            numbers = np.asarray([r[1] for r in found], dtype=np.int64)
            order = np.argsort(ids)
            at = np.minimum(np.searchsorted(ids[order], members), n - 1)
            hit = ids[order][at] == members
            group[order[at[hit]]] = numbers[hit]
        join(group)
    i = np.concatenate(firsts) if firsts else np.empty(0, np.int64)
    j = np.concatenate(seconds) if seconds else np.empty(0, np.int64)
    return groups_of.groups_from_pairs(n, i, j)


def _texts_of(session: Session, attribute: Attribute, ids: np.ndarray) -> list[str]:
    """The attribute's text of each record (in the order of ``ids``; "" for none)."""
    value = Record.data[attribute.name].as_string()
    found: dict[int, str] = {}
    for at in range(0, len(ids), _IN_CHUNK):
        chunk = [int(i) for i in ids[at : at + _IN_CHUNK]]
        for record_id, text in session.execute(
            select(Record.id, value).where(Record.id.in_(chunk))
        ):
            found[record_id] = text if isinstance(text, str) else ""
    return [found.get(int(i), "") for i in ids]
