"""Calculated attributes: a Python function of the record, run in the sandbox, whose return
values become an attribute of a declared type.

A calculated attribute is an :class:`Attribute` with ``code``. Its values live in each
record's data under its name, like an uploaded attribute's, and a text or category value gets
its stored text form (folded text, and token offsets for text) the same way an import writes
it, so queries, exports and the data browser treat it like any attribute.

A run is all-or-nothing: every record's value is computed and checked against the type first;
any exception or type mismatch stores nothing and reports the records and why. A run replaces
the previous run's values in one transaction and remembers the code version it came from.
Records added after the run (by an upload) have no value (null) until the next run; the
attribute's ``state`` is then ``stale``, as it is after the code changed.

:func:`try_code` tries the code on a few records (``services/user_code.py``); :func:`run` is
a run's one entry point, as a job's body.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import Conflict, ValidationError
from assay.runtime import partitions, sandbox
from assay.runtime.executor import MapFunction
from assay.runtime.job_runner import Progress
from assay.services import (
    heuristic_runs,
    importing,
    lookup_lists,
    names,
    projects,
    records,
    tokens,
    user_code,
)
from assay.storage.db import Database
from assay.storage.models import Attribute, LabelingTask, Project, Record, RecordText, utcnow

PAGE = 1000  # records written at a time
SHOWN = 10  # mismatching records named in a run's error message

STATES = ("new", "ready", "stale")


@dataclass(frozen=True)
class Mismatch:
    record_id: int
    error: str


def create(session: Session, project: Project, name: str, data_type: str, code: str) -> Attribute:
    name = names.clean(name, "attribute", attribute=name)
    names.check_text(code, "an attribute's code", attribute=name)
    if data_type not in projects.DATA_TYPES:
        raise ValidationError(
            f"unknown type {data_type!r} for {name!r}; use one of {', '.join(projects.DATA_TYPES)}",
            attribute=name,
        )
    if any(a.name == name for a in projects.attributes(session, project)):
        raise Conflict(
            f"project {project.name!r} already has an attribute {name!r}", attribute=name
        )
    position = session.scalar(
        select(func.coalesce(func.max(Attribute.position) + 1, 0)).where(
            Attribute.project_id == project.id
        )
    )
    found = Attribute(
        project_id=project.id,
        name=name,
        data_type=data_type,
        is_primary_key=False,
        position=position,
        code=code,
    )
    session.add(found)
    session.flush()
    return found


def get(session: Session, project: Project, name: str) -> Attribute:
    found = projects.attribute(session, project, name)
    if found.code is None:
        raise ValidationError(
            f"attribute {name!r} of project {project.name!r} was uploaded, not calculated",
            attribute=name,
        )
    return found


def list_all(session: Session, project: Project) -> list[Attribute]:
    return [a for a in projects.attributes(session, project) if a.code is not None]


def update_code(session: Session, project: Project, name: str, code: str) -> Attribute:
    """New code gets a new version; the stored values stay (state ``stale``) until a run."""
    found = get(session, project, name)
    names.check_text(code, "an attribute's code", attribute=name)
    if code != found.code:
        found.code = code
        found.code_version += 1
        session.flush()
    return found


def delete_attribute(session: Session, project: Project, name: str) -> None:
    """Remove the attribute and its values from every record."""
    found = get(session, project, name)
    used = session.scalar(select(LabelingTask.name).where(LabelingTask.attribute_id == found.id))
    if used is not None:
        raise Conflict(
            f"the labeling task {used!r} labels attribute {name!r}; delete the task first",
            attribute=name,
        )
    _write(session, project, found, None)
    session.delete(found)
    projects.touch(session, project)


def describe(
    session: Session, project: Project, attribute: Attribute
) -> documents.CalculatedPublic:
    """The calculated attribute's document: its type, code, last run and state."""
    return documents.CalculatedPublic(
        name=attribute.name,
        data_type=cast(documents.DataType, attribute.data_type),
        position=attribute.position,
        code=attribute.code or "",
        code_version=attribute.code_version,
        last_run=attribute.last_run,
        state=state(session, project, attribute),
    )


def state(session: Session, project: Project, attribute: Attribute) -> documents.CalculatedState:
    """``new``: never run; ``stale``: the code changed since the run, an import updated
    records (they keep their old values) or added some (they have none) after it; ``ready``:
    every record has the current code's value."""
    run = attribute.last_run
    if run is None:
        return "new"
    if run["code_version"] != attribute.code_version or run.get("records_updated"):
        return "stale"
    later = session.scalar(
        select(Record.id)
        .where(projects.visible_records(session, project), Record.id > run["last_record_id"])
        .limit(1)
    )
    return "stale" if later is not None else "ready"


# --- values -----------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return type(value).__name__


def check_value(value: Any, data_type: str, max_bytes: int) -> Any:
    """The value as stored under ``data_type`` (None stays None); raises ValueError saying
    why it does not fit."""
    if value is None:
        return None
    if data_type in projects.STRING_TYPES:
        if not isinstance(value, str):
            raise ValueError(f"returned {_kind(value)} {_shown(value)}, not a string ({data_type})")
        if len(value.encode()) > max_bytes:
            raise ValueError(f"returned a string longer than {max_bytes} bytes")
        if "\x00" in value:  # PostgreSQL cannot store it, SQLite can: refused on both
            raise ValueError(f"returned {_shown(value)}, a string with a NUL character (U+0000)")
        return value
    if data_type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"returned {_kind(value)} {_shown(value)}, not a boolean")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"returned {_kind(value)} {_shown(value)}, not a number ({data_type})")
    if isinstance(value, float) and not math.isfinite(value):  # no JSON, no filter holds it
        raise ValueError(f"returned {value!r}, not a finite number ({data_type})")
    if data_type == "float":
        return float(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"returned {value!r}, which has a fraction, not an integer")
        return int(value)
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def checked(
    results: Iterable[sandbox.RecordResult], data_type: str, max_bytes: int
) -> tuple[dict[int, Any], list[Mismatch]]:
    """Each record's value as stored, and the records whose value does not fit the type."""
    values: dict[int, Any] = {}
    mismatches = []
    for result in results:
        try:
            values[result.record_id] = check_value(result.value, data_type, max_bytes)
        except ValueError as exc:
            mismatches.append(Mismatch(result.record_id, str(exc)))
    return values, mismatches


def mismatch_error(name: str, data_type: str, mismatches: list[Mismatch]) -> ValidationError:
    shown = "; ".join(f"record {m.record_id}: {m.error}" for m in mismatches[:SHOWN])
    more = f" (and {len(mismatches) - SHOWN} more)" if len(mismatches) > SHOWN else ""
    return ValidationError(
        f"{len(mismatches)} record(s) got a value that is not of type {data_type}: "
        f"{shown}{more}; nothing was stored",
        attribute=name,
        mismatches=[{"record_id": m.record_id, "error": m.error} for m in mismatches[:100]],
    )


# --- running ----------------------------------------------------------------------------------


def try_code(
    session: Session,
    project: Project,
    name: str,
    box: sandbox.Sandbox,
    limits: sandbox.Limits,
    max_bytes: int,
    choice: user_code.Choice,
    code: str | None = None,
) -> documents.CalculatedTryResult:
    """Try the attribute's code (or ``code``, unsaved) on a few records (``choice``): each
    record's value, printed output and type mismatch (``error``); nothing is
    stored. A run that fails says why in ``error`` (exceptions: ``failures``)."""
    attribute = get(session, project, name)
    code = (attribute.code or "") if code is None else code
    tried = user_code.try_on(
        session,
        project,
        lambda chosen: box.run(
            code,
            chosen,
            language=project.language,
            knowledge=lookup_lists.knowledge(session, project)["modules"],
            limits=limits,
        ),
        choice,
    )
    if tried.error is not None:
        return documents.CalculatedTryResult(
            results=[], failures=tried.failures(), error=tried.error.message
        )
    rows = []
    for row in tried.rows():
        value, error = row["value"], None
        try:
            value = check_value(value, attribute.data_type, max_bytes)
        except ValueError as exc:  # the value as returned, and why it does not fit
            error = str(exc)
        rows.append(
            documents.CalculatedTryRow(
                record_id=row["record_id"],
                position=row["position"],
                data=row["data"],
                value=value,
                output=row["output"],
                error=error,
            )
        )
    mismatched = sum(row["error"] is not None for row in rows)
    message = f"{mismatched} value(s) not of type {attribute.data_type}" if mismatched else None
    return documents.CalculatedTryResult(results=rows, failures=[], error=message)


def compute(
    session: Session,
    project: Project,
    code: str,
    mapper: MapFunction,
    limits: sandbox.Limits,
    progress: Progress,
) -> list[sandbox.RecordResult]:
    """The code's raw values on every record, a partition at a time through ``mapper`` (the
    executor's ``map``, as heuristic runs go); the first partition that fails ends the run."""
    total = count(session, project)
    function = functools.partial(
        partitions.run_partition,
        codes=[code],
        outputs=[None],
        language=project.language,
        knowledge=lookup_lists.knowledge(session, project)["modules"],
        limits=limits,
        workers=heuristic_runs.WORKERS,
    )
    chunks = iter(user_code.sandbox_records(session, project))

    def items() -> Iterator[partitions.Partition]:
        while chunk := list(itertools.islice(chunks, heuristic_runs.PARTITION)):
            yield (0,), chunk

    results: list[sandbox.RecordResult] = []
    for (found,) in mapper(function, items()):
        if isinstance(found, sandbox.SandboxError):
            raise found
        results.extend(found)
        progress(0.9 * len(results) / max(total, 1), f"{len(results):,} of {total:,} records")
    return results


def limits_for(n_records: int) -> sandbox.Limits:
    """A run's limits: the defaults, with time that grows with the records (1 ms each)."""
    seconds = 60 + n_records // 1000
    return sandbox.Limits(timeout_s=float(seconds), cpu_s=seconds)


def run(
    db: Database,
    project_name: str,
    name: str,
    *,
    mapper: MapFunction,
    max_bytes: int,
    progress: Progress,
    limits: sandbox.Limits | None = None,
) -> dict[str, Any]:
    """Compute the attribute on every record, as a job's body: the code's values a
    partition at a time through ``mapper`` (the executor's ``map``), checked against the
    type, then stored in one transaction; all or nothing: an exception or a type mismatch
    on any record stores nothing and names the records."""
    with db.session() as session:
        project = projects.get(session, project_name)
        attribute = get(session, project, name)
        results = compute(
            session,
            project,
            attribute.code or "",
            mapper,
            limits or limits_for(heuristic_runs.PARTITION),
            progress,
        )
        version, data_type = attribute.code_version, attribute.data_type
    values, mismatches = checked(results, data_type, max_bytes)
    if mismatches:
        raise mismatch_error(name, data_type, mismatches)
    progress(0.9, "storing values")
    with db.session() as session:
        stored = store(session, projects.get(session, project_name), name, version, values)
    progress(1.0, "done")
    return {"attribute": name, **stored}


def count(session: Session, project: Project) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Record)
            .where(projects.visible_records(session, project))
        )
        or 0
    )


def store(
    session: Session, project: Project, name: str, code_version: int, values: dict[int, Any]
) -> dict[str, Any]:
    """Replace the attribute's values with a run's (records not in ``values``: null) and
    remember the run; in the caller's transaction. Refused when the code changed meanwhile."""
    attribute = get(session, project, name)
    if attribute.code_version != code_version:
        raise Conflict(
            f"the code of attribute {name!r} changed during the run; run it again", attribute=name
        )
    _write(session, project, attribute, values)
    run = {
        "code_version": code_version,
        "records": len(values),
        "with_value": sum(value is not None for value in values.values()),
        "last_record_id": max(values, default=0),
        "finished_at": utcnow().isoformat(),
    }
    attribute.last_run = run
    projects.touch(session, project)
    session.flush()
    return run


def _write(
    session: Session, project: Project, attribute: Attribute, values: dict[int, Any] | None
) -> None:
    """Set the attribute in every record's data (None: remove it), with its content hash and
    stored text, a page at a time."""
    session.execute(delete(RecordText).where(RecordText.attribute_id == attribute.id))
    last = 0
    while rows := session.execute(
        select(Record.id, Record.data)
        .where(Record.project_id == project.id, Record.id > last)
        .order_by(Record.id)
        .limit(PAGE)
    ).all():
        last = rows[-1].id
        changed = []
        for record_id, data in rows:
            data = dict(data)
            if values is None:
                data.pop(attribute.name, None)
            else:
                data[attribute.name] = values.get(record_id)
            changed.append(
                {"id": record_id, "data": data, "content_hash": records.content_hash(data)}
            )
        session.execute(update(Record), changed)
        if values is not None and attribute.data_type in projects.STRING_TYPES:
            _insert_texts(
                session, project, attribute, [(r["id"], values.get(r["id"])) for r in changed]
            )


def _insert_texts(
    session: Session, project: Project, attribute: Attribute, pairs: list[tuple[int, Any]]
) -> None:
    present = [(record_id, value) for record_id, value in pairs if value is not None]
    texts = [value for _, value in present]
    offsets: Iterator[bytes | None] = (
        tokens.tokenize(texts, project.language)
        if attribute.data_type == "text"
        else iter([None] * len(texts))
    )
    importing.insert_texts(
        session,
        (
            (record_id, attribute.id, value.casefold(), blob)
            for (record_id, value), blob in zip(present, offsets, strict=True)
        ),
    )
