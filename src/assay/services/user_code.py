"""What user code (labeling functions, active learners, calculated attributes, record-IDE
snippets) is given, and trying it on a few records.

The project's records reach the sandbox as :func:`sandbox_records`: their data and the token
offsets of every text attribute, a page at a time. A *try-run* ("Run on 10", a snippet) runs
code on a few of them and stores nothing; :func:`try_on` holds what every try-run shares:
the records (chosen ids, or ``n`` at random by ``seed``: :func:`sample_ids`), ids that name
no record refused, the records' positions, the cancel scope (``runtime/try_runs.py``), and a
failed run caught as its error (:class:`Tried`), which each caller turns into its answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import NotFound, SandboxError, UserCodeError
from assay.runtime import sandbox
from assay.runtime import try_runs as cancellable
from assay.services import projects, records
from assay.services.heuristic_kinds import HeuristicNotRunnable
from assay.storage.models import Project, Record, RecordText, can_be_id

PAGE = 1000  # records read from the database at a time


def sandbox_records(
    session: Session, project: Project, record_ids: list[int] | None = None
) -> Iterable[sandbox.Record]:
    """The project's records (or these ones) as the sandbox takes them, a page at a time:
    data, and the token offsets of every text attribute."""
    text_attributes = {
        a.id: a.name for a in projects.attributes(session, project) if a.data_type == "text"
    }
    visible = (
        select(Record.id, Record.data)
        .where(projects.visible_records(session, project))
        .order_by(Record.id)
    )

    def pages() -> Iterator[Sequence[Row[tuple[int, Any]]]]:
        if record_ids is not None:
            ids = sorted({i for i in record_ids if can_be_id(i)})  # the others: not found
            for start in range(0, len(ids), PAGE):
                yield session.execute(visible.where(Record.id.in_(ids[start : start + PAGE]))).all()
            return
        last = 0
        while rows := session.execute(visible.where(Record.id > last).limit(PAGE)).all():
            yield rows
            last = rows[-1].id

    for rows in pages():
        ids = [row.id for row in rows]
        offsets: dict[int, dict[str, bytes]] = {}
        for record_id, attribute_id, blob in session.execute(
            select(RecordText.record_id, RecordText.attribute_id, RecordText.offsets).where(
                RecordText.record_id.in_(ids),
                RecordText.attribute_id.in_(text_attributes),
                RecordText.offsets.is_not(None),
            )
        ):
            offsets.setdefault(record_id, {})[text_attributes[attribute_id]] = blob or b""
        for row in rows:
            yield sandbox.Record(row.id, row.data, offsets.get(row.id, {}))


def sample_ids(session: Session, project: Project, n: int, seed: int | None = None) -> list[int]:
    """``n`` records chosen at random (by ``seed`` when given)."""
    ids = list(
        session.scalars(
            select(Record.id).where(projects.visible_records(session, project)).order_by(Record.id)
        )
    )
    return sorted(random.Random(seed).sample(ids, min(n, len(ids))))


class Choice(TypedDict, total=False):
    """Which records a try-run runs on (``n``, default 10, at random by ``seed``; or
    ``record_ids``), and the key that cancels it (``runtime/try_runs.py``): the keywords of
    every try-run of the Python API."""

    n: int
    record_ids: list[int] | None
    seed: int | None
    cancel_key: str | None


@dataclass
class Tried:
    """A try-run: the records it ran on, what the code returned for each, or why it failed
    (a ``SandboxError``: ``UserCodeError`` names the records that raised; a
    ``HeuristicNotRunnable``)."""

    records: list[sandbox.Record]
    positions: dict[int, int | None]
    results: list[sandbox.RecordResult] = field(default_factory=list)
    error: SandboxError | HeuristicNotRunnable | None = None

    def rows(self) -> list[documents.TryResult]:
        """Each result with its record: id, position, data, value, printed output."""
        data = {record.id: record.data for record in self.records}
        return [
            documents.TryResult(
                record_id=result.record_id,
                position=self.positions[result.record_id],
                data=data[result.record_id],
                value=result.value,
                output=result.output,
            )
            for result in self.results
        ]

    def failures(self) -> list[documents.TryFailure]:
        """The records whose code raised (a ``UserCodeError``), with the tracebacks."""
        found = self.error.failures if isinstance(self.error, UserCodeError) else []
        return [
            documents.TryFailure(
                record_id=f.record_id, error=f.error, traceback=f.traceback, output=f.output
            )
            for f in found
        ]


def try_on(
    session: Session,
    project: Project,
    run: Callable[[list[sandbox.Record]], list[sandbox.RecordResult]],
    choice: Choice,
) -> Tried:
    """Run code (``run``) on the chosen records, so that the choice's ``cancel_key`` can
    stop it; NotFound when an id names no record of the project."""
    ids = choice.get("record_ids") or sample_ids(
        session, project, choice.get("n", 10), choice.get("seed")
    )
    chosen = list(sandbox_records(session, project, ids))
    missing = sorted(set(ids) - {r.id for r in chosen})
    if missing:
        raise NotFound(f"project {project.name!r} has no records with ids {missing}")
    tried = Tried(chosen, records.positions(session, project, [r.id for r in chosen]))
    try:
        with cancellable.scope(choice.get("cancel_key")):
            tried.results = run(chosen)
    except (SandboxError, HeuristicNotRunnable) as exc:
        tried.error = exc
    return tried
