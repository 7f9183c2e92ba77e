"""The writes both import paths share: the project and its new attributes, records (new ones,
and updates of the ones with a known key), their folded texts and tokens, and what an import
returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from assay.errors import ImportFileError
from assay.services import projects, records
from assay.services.importing.planning import Plan, Prepared
from assay.services.importing.stored import Stored
from assay.storage import bulk
from assay.storage.models import Annotation, Attribute, LabelingTask, Project, Record, RecordText


@dataclass
class ImportResult:
    project: str
    created: int = 0
    updated: int = 0
    attributes: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    labels: int = 0
    record_ids: list[int] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "created": self.created,
            "updated": self.updated,
            "attributes": self.attributes,
            "tasks": self.tasks,
            "labels": self.labels,
        }


def mark_records_updated(session: Session, project: Project, plan: Plan) -> None:
    """Records this import changed keep their calculated values until the attribute runs
    again: its last run says so (its state becomes ``stale``)."""
    if not plan.existing:
        return
    for attribute in projects.attributes(session, project):
        if attribute.code is not None and attribute.last_run is not None:
            attribute.last_run = {**attribute.last_run, "records_updated": True}


def attribute_docs(attributes: list[Attribute]) -> list[dict[str, Any]]:
    return [
        {"name": a.name, "data_type": a.data_type, "primary_key": a.is_primary_key}
        for a in attributes
    ]


def begin(
    session: Session, plan: Plan, project_name: str, import_job_id: int | None
) -> tuple[Project, list[Attribute]]:
    project = plan.project
    if project is None:
        project = projects.create(session, project_name, language=plan.language)
        project.import_job_id = import_job_id
    return project, _ensure_attributes(session, project, plan.prepared)


def write_records(
    session: Session,
    plan: Plan,
    project: Project,
    attributes: list[Attribute],
    rows: range,
    stored: Stored,
    import_job_id: int | None,
    versions_in: int | None = None,
) -> list[int]:
    """Insert or update the records of these rows with their folded text and tokens; the id
    of each row's record. With ``versions_in`` (a staged import's hidden project) an update
    writes a new version of the record there instead, for :meth:`staging.Stage.swap`."""
    values = plan.prepared.values
    keys = plan.prepared.keys[rows.start : rows.stop]
    names = [a.name for a in attributes]
    # The record each row updates (0: none, a new record), then the id of each row's record.
    record_ids = [0 if key is None else plan.existing.get(key, 0) for key in keys]
    # Whose texts each row's are: its record's, or its new version's; None: no change.
    owners: list[int | None] = list(record_ids)
    versions: list[tuple[int, str, str]] = []  # position, encoded data, hash
    updated = [(record_id, position) for position, record_id in enumerate(record_ids) if record_id]
    for start in range(0, len(updated), 500):
        chunk = [
            (record_id, {name: values[name][rows[position]] for name in names})
            for record_id, position in updated[start : start + 500]
        ]
        before = {
            record_id: (data, content_hash)
            for record_id, data, content_hash in session.execute(
                select(Record.id, Record.data, Record.content_hash).where(
                    Record.id.in_([i for i, _ in chunk])
                )
            )
        }
        _check_spans_survive(
            session, plan, attributes, chunk, {i: data for i, (data, _) in before.items()}
        )
        for (record_id, data), (_, position) in zip(
            chunk, updated[start : start + 500], strict=True
        ):
            merged = {**before[record_id][0], **data}
            if versions_in is None:
                session.execute(
                    update(Record)
                    .where(Record.id == record_id)
                    .values(data=merged, content_hash=records.content_hash(merged))
                )
                continue
            encoded = records.encode(merged)
            hashed = records.hash_encoded(encoded)
            if hashed == before[record_id][1]:
                owners[position] = None
            else:
                versions.append((position, encoded, hashed))
    attribute_ids = [a.id for a in attributes]
    if versions_in is None:
        for start in range(0, len(updated), 500):
            session.execute(
                delete(RecordText).where(
                    RecordText.record_id.in_([i for i, _ in updated[start : start + 500]]),
                    RecordText.attribute_id.in_(attribute_ids),
                )
            )
    new = [position for position, record_id in enumerate(record_ids) if not record_id]
    if new or versions:
        allocated = _allocate_ids(session, project, len(new) + len(versions))
        for position, record_id in zip(new, allocated, strict=False):
            record_ids[position] = owners[position] = record_id
        for (position, _, _), version_id in zip(versions, allocated[len(new) :], strict=True):
            owners[position] = version_id
        bulk.insert_rows(
            session,
            "record",
            ("id", "project_id", "key", "data", "content_hash", "import_job_id"),
            [
                *zip(
                    allocated,
                    repeat(project.id),
                    [keys[p] for p in new],
                    [stored.data[p] for p in new],
                    [stored.hashes[p] for p in new],
                    repeat(import_job_id),
                ),
                *(
                    (version_id, versions_in, str(record_ids[p]), encoded, hashed, import_job_id)
                    for (p, encoded, hashed), version_id in zip(
                        versions, allocated[len(new) :], strict=True
                    )
                ),
            ],
        )
    insert_texts(
        session,
        (
            (owner, attribute_ids[a], folded, offsets)
            for row, a, folded, offsets in zip(
                stored.text_rows, stored.text_attributes, stored.folded, stored.offsets, strict=True
            )
            if (owner := owners[row]) is not None
        ),
    )
    return record_ids


def _check_spans_survive(
    session: Session,
    plan: Plan,
    attributes: list[Attribute],
    chunk: list[tuple[int, dict[str, Any]]],
    stored: dict[int, dict[str, Any]],
) -> None:
    """Refuse an update that changes a text that has labeled spans: its token indices would
    point at other words. The user removes those labels first (or keeps the text)."""
    texts = {a.id: a.name for a in attributes if a.data_type == "text"}
    changed = [
        (record_id, attribute_id)
        for record_id, data in chunk
        for attribute_id, name in texts.items()
        if data.get(name) != stored[record_id].get(name)
    ]
    if not changed:
        return
    spans = session.execute(
        select(Annotation.record_id, LabelingTask.attribute_id, func.count())
        .join(LabelingTask, LabelingTask.id == Annotation.task_id)
        .where(
            Annotation.record_id.in_({r for r, _ in changed}),
            LabelingTask.attribute_id.in_({a for _, a in changed}),
            Annotation.span_start.is_not(None),
        )
        .group_by(Annotation.record_id, LabelingTask.attribute_id)
    ).all()
    pairs = set(changed)
    for record_id, attribute_id, count in spans:
        if attribute_id is not None and (record_id, attribute_id) in pairs:
            key = next(k for k, i in plan.existing.items() if i == record_id)
            raise ImportFileError(
                f"{plan.table.source}: the upload changes {texts[attribute_id]!r} of the record "
                f"with key {key}, which has {count} labeled span(s) on that text; remove those "
                "labels first or keep the text",
                file=plan.table.source,
                column=texts[attribute_id],
            )


def insert_texts(session: Session, rows: Iterable[tuple[int, int, str, bytes | None]]) -> None:
    """Insert folded texts and their tokens; on SQLite also into the substring index, in the
    same transaction."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    before = session.scalar(select(func.max(RecordText.id))) or 0 if sqlite else 0
    bulk.insert_rows(
        session, "record_text", ("record_id", "attribute_id", "folded", "offsets"), rows
    )
    if sqlite:
        session.execute(
            text(
                "INSERT INTO record_text_fts(rowid, folded) "
                "SELECT id, folded FROM record_text WHERE id > :before"
            ),
            {"before": before},
        )


def merge_text_index(session: Session) -> None:
    """A bounded step of merging the SQLite substring index's segments (see migration 0002);
    nothing to do on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO record_text_fts(record_text_fts, rank) VALUES ('merge', 200)")
        )


def _allocate_ids(session: Session, project: Project, n: int) -> list[int]:
    """Ids for new records, so a bulk insert needs no RETURNING (one statement per row)."""
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('record', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            )
        )
    # SQLite: a write first, so this transaction holds the write lock before reading max(id).
    projects.touch(session, project)
    start = session.scalar(select(func.max(Record.id))) or 0
    return list(range(start + 1, start + n + 1))


def _ensure_attributes(session: Session, project: Project, prepared: Prepared) -> list[Attribute]:
    existing = {a.name: a for a in projects.attributes(session, project)}
    position = len(existing)
    for name, data_type, is_key in prepared.attributes:
        if name not in existing:
            attribute = Attribute(
                project_id=project.id,
                name=name,
                data_type=data_type,
                is_primary_key=is_key,
                position=position,
            )
            session.add(attribute)
            position += 1
            existing[name] = attribute
    session.flush()
    return [existing[name] for name, _, _ in prepared.attributes]
