"""Data slices: a saved filter (dynamic, re-evaluated on every use) or a set of records."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import Conflict, NotFound, ValidationError
from assay.services import named, names, queries
from assay.storage.models import DataSlice, Project, Record, SliceRecord, can_be_id

KINDS = documents.values(documents.SliceKind)


def create(
    session: Session,
    project: Project,
    name: str,
    *,
    where: Any = None,
    kind: str = "dynamic",
    record_ids: list[int] | None = None,
) -> DataSlice:
    """A dynamic slice stores ``where``; a static one stores ``record_ids`` in their order
    (or the ids ``where`` matches now, by id)."""
    name = names.clean(name, "slice")
    if kind not in KINDS:
        raise ValidationError(f"unknown slice kind {kind!r}; use dynamic or static", kind=kind)
    if find(session, project, name) is not None:
        raise Conflict(f"project {project.name!r} already has a slice {name!r}", slice=name)
    queries.compile_filter(session, project, where)  # fails early on a bad filter
    found = DataSlice(
        project_id=project.id,
        name=name,
        kind=kind,
        filter=where if kind == "dynamic" else None,
    )
    session.add(found)
    session.flush()
    if kind == "static":
        ids = record_ids if record_ids is not None else queries.record_ids(session, project, where)
        ids = list(dict.fromkeys(ids))  # the first place of a record given twice
        known: set[int] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            known.update(
                session.scalars(
                    select(Record.id).where(
                        Record.project_id == project.id,
                        Record.id.in_([i for i in chunk if can_be_id(i)]),
                    )
                )
            )
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFound(
                f"project {project.name!r} has no records with ids {missing[:10]}",
                records=missing[:10],
            )
        store_records(session, found, ids)
    return found


def store_records(session: Session, found: DataSlice, ids: list[int]) -> None:
    """Make ``ids`` the static slice's records, in this order."""
    session.execute(delete(SliceRecord).where(SliceRecord.slice_id == found.id))
    if ids:
        session.execute(
            insert(SliceRecord),
            [{"slice_id": found.id, "record_id": i, "position": n} for n, i in enumerate(ids)],
        )


def put_static(
    session: Session, project: Project, name: str, ids: list[int], *, where: str
) -> DataSlice:
    """Make the static slice ``name`` hold ``ids`` in this order: made anew, or refilled when it
    holds others. A dynamic slice of that name is refused (``where``: what goes there)."""
    existing = find(session, project, name)
    if existing is None:
        return create(session, project, name, kind="static", record_ids=ids)
    if existing.kind != "static":
        raise ValidationError(
            f"project {project.name!r} has a dynamic slice {name!r}, {where}: rename or delete it",
            slice=name,
        )
    if static_record_ids(session, existing) != ids:
        store_records(session, existing, ids)
    return existing


def find(session: Session, project: Project, name: str) -> DataSlice | None:
    """The project's slice of that name, or None."""
    return named.find(session, DataSlice, project, name)


def get(session: Session, project: Project, name: str) -> DataSlice:
    return named.get(session, DataSlice, project, name, "slice")


def describe_all(session: Session, project: Project) -> list[documents.SlicePublic]:
    return [describe(session, project, x) for x in list_all(session, project)]


def list_all(session: Session, project: Project) -> list[DataSlice]:
    return named.list_all(session, DataSlice, project)


def describe(session: Session, project: Project, found: DataSlice) -> documents.SlicePublic:
    return {
        "id": found.id,
        "name": found.name,
        "kind": cast(documents.SliceKind, found.kind),
        "filter": found.filter,
        "records": queries.count(session, project, {"slice": found.name}),
        "created_at": found.created_at.isoformat(),
    }


def static_record_ids(session: Session, found: DataSlice) -> list[int]:
    """A static slice's records in its order."""
    return list(
        session.scalars(
            select(SliceRecord.record_id)
            .where(SliceRecord.slice_id == found.id)
            .order_by(SliceRecord.position, SliceRecord.record_id)
        )
    )


def rename(session: Session, project: Project, name: str, new_name: str) -> DataSlice:
    found = get(session, project, name)
    new_name = names.clean(new_name, "slice")
    if new_name != name and find(session, project, new_name) is not None:
        raise Conflict(f"project {project.name!r} already has a slice {new_name!r}", slice=new_name)
    found.name = new_name
    session.flush()
    return found


def delete_slice(session: Session, project: Project, name: str) -> None:
    found = get(session, project, name)
    session.execute(delete(DataSlice).where(DataSlice.id == found.id))


def labeling_session(project: Project, name: str) -> documents.LabelingSession:
    """Where the labeling suite opens on the static slice ``name``: its records in its order
    (the web UI's path, with the project's and the slice's names URL-encoded)."""
    order = f"{queries.SLICE_ORDER}{name}"
    return {
        "slice": name,
        "where": {"slice": name},
        "order_by": order,
        "path": f"/projects/{quote(project.name, safe='')}/labeling"
        f"?slice={quote(name, safe='')}&order={quote(order, safe='')}",
    }
