"""Labeling tasks and their labels."""

from __future__ import annotations

from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.documents import TaskType
from assay.errors import Conflict, NotFound, ValidationError
from assay.services import named, names, projects
from assay.storage.models import Attribute, Label, LabelingTask, Project

TASK_TYPES = documents.values(TaskType)
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip


def create(
    session: Session,
    project: Project,
    name: str,
    task_type: str,
    attribute: str | None = None,
    labels: list[str] | None = None,
) -> LabelingTask:
    name = _free_name(session, project, name)
    if task_type not in TASK_TYPES:
        raise ValidationError(
            f"unknown task type {task_type!r}; use one of {', '.join(TASK_TYPES)}",
            task_type=task_type,
        )
    target: Attribute | None = None
    if attribute:
        target = projects.attribute(session, project, attribute)
    if task_type == "extraction" and (target is None or target.data_type != "text"):
        raise ValidationError(
            f"extraction task {name!r} needs a text attribute (--attribute)", task=name
        )
    task = LabelingTask(
        project_id=project.id,
        name=name,
        task_type=task_type,
        attribute_id=target.id if target else None,
    )
    session.add(task)
    session.flush()
    for label in labels or []:
        add_label(session, task, label)
    projects.touch(session, project)
    return task


def _free_name(session: Session, project: Project, name: str) -> str:
    """A valid task name that no task of the project has ('__' separates the parts of export
    column names, so a task name cannot hold it)."""
    name = names.clean(name, "task", task=name)
    if "__" in name:
        raise ValidationError(f"a task name cannot contain '__': {name!r}", task=name)
    if session.scalar(
        select(LabelingTask.id).where(
            LabelingTask.project_id == project.id, LabelingTask.name == name
        )
    ):
        raise Conflict(f"project {project.name!r} already has a task {name!r}", task=name)
    return name


def rename(session: Session, project: Project, name: str, new_name: str) -> LabelingTask:
    """Rename a task; labels and annotations hang on its id, so they follow."""
    task = get(session, project, name)
    if new_name.strip() != task.name:
        task.name = _free_name(session, project, new_name)
    projects.touch(session, project)
    return task


def list_all(session: Session, project: Project) -> list[LabelingTask]:
    return named.list_all(session, LabelingTask, project, by="id")


def by_id(session: Session, task_id: int) -> LabelingTask | None:
    return session.get(LabelingTask, task_id)


def get(session: Session, project: Project, name: str) -> LabelingTask:
    return named.get(session, LabelingTask, project, name, "labeling task")


def attribute_name(session: Session, task: LabelingTask) -> str | None:
    if task.attribute_id is None:
        return None
    attribute = session.get(Attribute, task.attribute_id)
    return attribute.name if attribute else None


def describe(session: Session, task: LabelingTask) -> documents.TaskPublic:
    return {
        "id": task.id,
        "name": task.name,
        "type": cast(TaskType, task.task_type),
        "attribute": attribute_name(session, task),
        "labels": [describe_label(lb) for lb in labels(session, task)],
    }


def ids(session: Session, project: Project | None) -> list[int]:
    """The ids of the project's tasks (none without a project)."""
    return [t.id for t in list_all(session, project)] if project else []


def describe_all(session: Session, project: Project) -> list[documents.TaskPublic]:
    return [describe(session, t) for t in list_all(session, project)]


def describe_label(label: Label) -> documents.LabelPublic:
    return {"id": label.id, "name": label.name, "color": label.color, "hotkey": label.hotkey}


def labels(session: Session, task: LabelingTask) -> list[Label]:
    return list(session.scalars(select(Label).where(Label.task_id == task.id).order_by(Label.id)))


def label(session: Session, task: LabelingTask, name: str) -> Label:
    found = session.scalar(select(Label).where(Label.task_id == task.id, Label.name == name))
    if found is None:
        known = ", ".join(lb.name for lb in labels(session, task)) or "none"
        raise NotFound(f"task {task.name!r} has no label {name!r} (labels: {known})", label=name)
    return found


def add_label(
    session: Session,
    task: LabelingTask,
    name: str,
    color: str | None = None,
    hotkey: str | None = None,
) -> Label:
    name = names.clean(name, "label", slash=True, task=task.name)
    if session.scalar(select(Label.id).where(Label.task_id == task.id, Label.name == name)):
        raise Conflict(f"task {task.name!r} already has a label {name!r}", label=name)
    count = session.scalar(select(func.count()).where(Label.task_id == task.id)) or 0
    if hotkey is None and count < 9:
        hotkey = str(count + 1)
    _check_hotkey(session, task, hotkey, None)
    created = Label(
        task_id=task.id,
        name=name,
        color=color or PALETTE[count % len(PALETTE)],
        hotkey=hotkey,
    )
    session.add(created)
    session.flush()
    return created


def _check_hotkey(
    session: Session, task: LabelingTask, hotkey: str | None, label_id: int | None
) -> None:
    if hotkey is None:
        return
    if len(hotkey) != 1:
        raise ValidationError(f"a hotkey is one character, not {hotkey!r}", hotkey=hotkey)
    taken = session.scalar(
        select(Label).where(Label.task_id == task.id, Label.hotkey == hotkey, Label.id != label_id)
    )
    if taken is not None:
        raise Conflict(f"hotkey {hotkey!r} is taken by label {taken.name!r}", hotkey=hotkey)


def update_label(
    session: Session,
    task: LabelingTask,
    name: str,
    new_name: str | None = None,
    color: str | None = None,
    hotkey: str | None = None,
) -> Label:
    """Rename, recolor or re-key a label; annotations point to the label, so they follow."""
    found = label(session, task, name)
    if new_name is not None and new_name.strip() != found.name:
        new_name = names.clean(new_name, "label", slash=True, label=name)
        if session.scalar(select(Label.id).where(Label.task_id == task.id, Label.name == new_name)):
            raise Conflict(f"task {task.name!r} already has a label {new_name!r}", label=new_name)
        found.name = new_name
    if color is not None:
        found.color = color
    if hotkey is not None:
        _check_hotkey(session, task, hotkey or None, found.id)
        found.hotkey = hotkey or None
    session.flush()
    return found


def delete_label(session: Session, task: LabelingTask, name: str) -> None:
    """Delete the label; its annotations go with it (the caller refreshes the references:
    :func:`assay.services.annotating.delete_label`)."""
    session.execute(delete(Label).where(Label.id == label(session, task, name).id))


def delete_task(session: Session, project: Project, name: str) -> None:
    task = get(session, project, name)
    session.execute(delete(LabelingTask).where(LabelingTask.id == task.id))
