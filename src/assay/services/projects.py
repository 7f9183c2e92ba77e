"""Projects and their attributes (the data schema)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from assay import documents
from assay.documents import DataType
from assay.errors import Conflict, NotFound
from assay.services import names, tokens
from assay.storage.models import Attribute, Job, LabelingTask, Project, Record, utcnow

DATA_TYPES = documents.values(DataType)
STRING_TYPES = ("text", "category")


def create(session: Session, name: str, description: str = "", language: str = "en") -> Project:
    name = names.clean(name, "project")
    names.check_text(description, "a project's description", project=name)
    tokens.check_language(language)
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"project {name!r} already exists", project=name)
    project = Project(name=name, description=description, language=language)
    session.add(project)
    session.flush()
    return project


def find(session: Session, name: str) -> Project | None:
    """A project by name; one that an import is still creating does not count yet."""
    return session.scalar(
        select(Project).where(Project.name == name, Project.import_job_id.is_(None))
    )


def get(session: Session, name: str) -> Project:
    project = find(session, name)
    if project is None:
        raise NotFound(f"no project named {name!r}", project=name)
    return project


def staging_jobs(session: Session, project: Project) -> list[int]:
    """Import jobs whose records in this project must stay hidden (usually none)."""
    return list(
        session.scalars(select(Job.id).where(Job.project_id == project.id, Job.staging.is_(True)))
    )


def visible_records(session: Session, project: Project) -> ColumnElement[bool]:
    """The condition that selects the project's records, leaving out staged ones."""
    condition = Record.project_id == project.id
    hidden = staging_jobs(session, project)
    if hidden:
        condition = and_(
            condition,
            or_(Record.import_job_id.is_(None), Record.import_job_id.not_in(hidden)),
        )
    return condition


def touch(session: Session, project: Project) -> None:
    """Record a change of the project, now, as a write in this transaction.

    An UPDATE by id rather than an attribute change: it works on a project object loaded by
    another session (staged imports) and it takes SQLite's write lock at once, which
    ``importing.writing._allocate_ids`` relies on.
    """
    now = utcnow()
    session.execute(update(Project).where(Project.id == project.id).values(updated_at=now))
    set_committed_value(project, "updated_at", now)


def summarize(session: Session, project: Project) -> documents.ProjectSummary:
    records = session.scalar(select(func.count()).where(visible_records(session, project))) or 0
    tasks = session.scalar(select(func.count()).where(LabelingTask.project_id == project.id)) or 0
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "language": project.language,
        "records": records,
        "tasks": tasks,
        "created_at": project.created_at.isoformat(),
        "updated_at": project.updated_at.isoformat(),
    }


def describe(
    session: Session, project: Project, task_docs: list[documents.TaskPublic]
) -> documents.ProjectPublic:
    """The project's document: its summary, attributes and (given) tasks."""
    summary = summarize(session, project)
    return {
        **summary,
        "tasks": task_docs,
        "attributes": [describe_attribute(a) for a in attributes(session, project)],
    }


def describe_attribute(a: Attribute) -> documents.AttributePublic:
    return {
        "name": a.name,
        "data_type": cast(DataType, a.data_type),
        "primary_key": a.is_primary_key,
        "position": a.position,
        "calculated": a.code is not None,
    }


def list_all(session: Session) -> list[documents.ProjectSummary]:
    projects = session.scalars(
        select(Project).where(Project.import_job_id.is_(None)).order_by(Project.name)
    ).all()
    return [summarize(session, p) for p in projects]


def delete_project(session: Session, name: str) -> None:
    project = get(session, name)
    session.execute(delete(Project).where(Project.id == project.id))


def attributes(session: Session, project: Project) -> list[Attribute]:
    return list(
        session.scalars(
            select(Attribute).where(Attribute.project_id == project.id).order_by(Attribute.position)
        )
    )


def attribute(session: Session, project: Project, name: str) -> Attribute:
    found = session.scalar(
        select(Attribute).where(Attribute.project_id == project.id, Attribute.name == name)
    )
    if found is None:
        known = ", ".join(a.name for a in attributes(session, project)) or "none"
        raise NotFound(
            f"project {project.name!r} has no attribute {name!r} (attributes: {known})",
            attribute=name,
        )
    return found


def primary_key(session: Session, project: Project) -> list[Attribute]:
    return [a for a in attributes(session, project) if a.is_primary_key]
