"""Computing an embedding, as a long job: one entry point that owns its transactions (start
the run, embed on the executor's map, finish or fail it) and builds the search index of a
large embedding at once, not on its first search."""

from __future__ import annotations

import contextlib
from pathlib import Path

from assay import documents
from assay.errors import AssayError
from assay.runtime.executor import MapFunction
from assay.runtime.job_runner import Progress
from assay.services import embeddings, projects, search
from assay.storage.db import Database


def run(
    db: Database,
    project: str,
    name: str,
    job_id: int,
    *,
    data_dir: Path,
    map_function: MapFunction,
    exact_below: int,
    progress: Progress,
) -> dict[str, documents.EmbeddingPublic | None]:
    """Embed the texts the embedding's live vectors lack (new and changed records); reuse
    the rest. A failure is recorded on the embedding and raised."""
    with db.session() as s:
        started = embeddings.start_run(s, projects.get(s, project), name, job_id)
    try:
        summary = embeddings.execute(data_dir, started, map_function, progress)
    except BaseException as exc:
        message = exc.message if isinstance(exc, AssayError) else repr(exc)
        with db.session() as s:
            embeddings.fail_run(s, started.embedding_id, message, data_dir)
        raise
    with db.session() as s:
        doc = embeddings.finish_run(s, started.embedding_id, summary)
        done = embeddings.get(s, projects.get(s, project), name)
    # A large embedding gets its search index now, not on its first search (which would
    # build it otherwise, e.g. after a failure here).
    with contextlib.suppress(OSError, MemoryError):
        search.build_index(data_dir, done, exact_below=exact_below)
    return {"embedding": doc}
