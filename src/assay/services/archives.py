"""Project archives: everything of a project in one JSON document, and back.

The archive holds the schema (calculated attributes with their code), tasks, labels (colors,
hotkeys), every annotation of every source with annotator, gold flag and time, slices, and
lookup lists with their terms (and blacklist). Records are referred to by position.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import ImportFileError
from assay.services import annotating, importing, lookup_lists, names, projects, slices, tasks
from assay.services.files import Table
from assay.storage.models import Annotation, DataSlice, Project, Record

ARCHIVE_FORMAT = "assay-project"


def archive(session: Session, project: Project) -> dict[str, Any]:
    """Everything of a project as one JSON-able document; records are referred to by position."""
    attributes = projects.attributes(session, project)
    record_rows = session.execute(
        select(Record.id, Record.data).where(Record.project_id == project.id).order_by(Record.id)
    ).all()
    position = {row.id: i for i, row in enumerate(record_rows)}
    task_list = tasks.list_all(session, project)
    task_docs = []
    annotation_docs: list[dict[str, Any]] = []
    for task in task_list:
        labels = tasks.labels(session, task)
        names = {lb.id: lb.name for lb in labels}
        task_docs.append(
            {
                "name": task.name,
                "type": task.task_type,
                "attribute": tasks.attribute_name(session, task),
                "labels": [
                    {"name": lb.name, "color": lb.color, "hotkey": lb.hotkey} for lb in labels
                ],
            }
        )
        for a in session.scalars(
            select(Annotation).where(Annotation.task_id == task.id).order_by(Annotation.id)
        ):
            annotation_docs.append(
                {
                    "record": position[a.record_id],
                    "task": task.name,
                    "label": names[a.label_id],
                    "source": a.source,
                    "source_id": a.source_id,
                    "annotator": a.annotator,
                    "start_token": a.span_start,
                    "end_token": a.span_end,
                    "confidence": a.confidence,
                    "gold": a.is_gold,
                    "created_at": a.created_at.isoformat(),
                }
            )
    slice_docs = []
    for found in slices.list_all(session, project):
        slice_docs.append(
            {
                "name": found.name,
                "kind": found.kind,
                "filter": found.filter,
                "records": [position[i] for i in slices.static_record_ids(session, found)],
            }
        )
    return {
        "format": ARCHIVE_FORMAT,
        "version": 1,
        "project": {
            "name": project.name,
            "description": project.description,
            "language": project.language,
        },
        "attributes": [
            {
                "name": a.name,
                "data_type": a.data_type,
                "primary_key": a.is_primary_key,
                # A calculated attribute: its code and run (its values are in the records).
                **(
                    {"code": a.code, "code_version": a.code_version, "last_run": a.last_run}
                    if a.code is not None
                    else {}
                ),
            }
            for a in attributes
        ],
        "tasks": task_docs,
        "records": [row.data for row in record_rows],
        "annotations": annotation_docs,
        "slices": slice_docs,
        "lookup_lists": [
            {
                "name": lst.name,
                "description": lst.description,
                "terms": [
                    [t.term, t.blacklisted, t.from_spans] for t in lookup_lists.terms(session, lst)
                ],
            }
            for lst in lookup_lists.list_all(session, project)
        ],
    }


def export_archive(session: Session, project: Project, out: Path) -> int:
    document = archive(session, project)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
    return len(document["records"])


def read_archive(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(f"{path.name}: not a project archive: {exc}", file=path.name) from exc
    if not isinstance(document, dict) or document.get("format") != ARCHIVE_FORMAT:
        raise ImportFileError(f"{path.name}: not an assay project archive", file=path.name)
    return document


def restore(
    session: Session,
    document: dict[str, Any],
    name: str | None = None,
    max_cell_bytes: int = 1_000_000,
) -> Project:
    """Create a project from an archive (under ``name`` when given). An archive holding
    what not every database stores (a NUL character, a non-finite number) is refused whole,
    naming the place: a SQLite project's archive must restore on PostgreSQL too."""
    problem = names.unstorable(document)
    if problem is not None:
        location, what = problem
        raise ImportFileError(
            f"the archive holds {what} at {location}, which not every database can store; "
            "remove it and import again",
            location=location,
        )
    meta = document["project"]
    project_name = name or meta["name"]
    project = projects.create(
        session,
        project_name,
        description=meta.get("description", ""),
        language=meta["language"],
    )
    attributes = document["attributes"]
    table = Table(
        f"archive {meta['name']}",
        {a["name"]: [r.get(a["name"]) for r in document["records"]] for a in attributes},
    )
    options = importing.ImportOptions(
        primary_key=[a["name"] for a in attributes if a["primary_key"]],
        types={a["name"]: a["data_type"] for a in attributes},
        max_cell_bytes=max_cell_bytes,
    )
    result = importing.import_table(session, project_name, table, options)
    ids = result.record_ids
    for doc in attributes:
        if doc.get("code") is not None:
            restored = projects.attribute(session, project, doc["name"])
            restored.code, restored.code_version = doc["code"], doc.get("code_version", 1)
            if doc.get("last_run"):  # the run's last record, as numbered here
                restored.last_run = {**doc["last_run"], "last_record_id": max(ids, default=0)}
    task_by_name = {}
    label_ids: dict[tuple[str, str], int] = {}
    for doc in document["tasks"]:
        task = tasks.create(session, project, doc["name"], doc["type"], attribute=doc["attribute"])
        task_by_name[doc["name"]] = task
        for lb in doc["labels"]:
            label = tasks.add_label(
                session, task, lb["name"], color=lb["color"], hotkey=lb["hotkey"]
            )
            label_ids[(doc["name"], lb["name"])] = label.id
    rows = [
        {
            "record_id": ids[a["record"]],
            "task_id": task_by_name[a["task"]].id,
            "label_id": label_ids[(a["task"], a["label"])],
            "source": a["source"],
            "source_id": a["source_id"],
            "annotator": a["annotator"],
            "span_start": a["start_token"],
            "span_end": a["end_token"],
            "confidence": a["confidence"],
            "is_gold": a["gold"],
            "is_reference": False,
            "created_at": datetime.fromisoformat(a["created_at"]),
        }
        for a in document["annotations"]
    ]
    annotating.insert_many(session, rows)
    for task in task_by_name.values():
        annotating.refresh_reference(session, task, ids)
    for doc in document["slices"]:
        found = DataSlice(
            project_id=project.id,
            name=names.clean(doc["name"], "slice", slice=doc["name"]),
            kind=doc["kind"],
            filter=doc["filter"],
        )
        session.add(found)
        session.flush()
        slices.store_records(session, found, [ids[i] for i in doc["records"]])
    for doc in document.get("lookup_lists", []):  # archives before lookup lists have none
        lst = lookup_lists.create(session, project, doc["name"], doc["description"])
        # [term, blacklisted, from_spans]; archives before from_spans have two items: those
        # terms stay when spans go, as terms added by hand do.
        for blacklisted, from_spans in itertools.product((False, True), repeat=2):
            chosen = [
                entry[0]
                for entry in doc["terms"]
                if entry[1] is blacklisted and (len(entry) > 2 and entry[2]) is from_spans
            ]
            lookup_lists.add_terms(
                session, lst, chosen, blacklisted=blacklisted, from_spans=from_spans
            )
    session.flush()
    return project
