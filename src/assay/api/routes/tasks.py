"""Labeling tasks and their labels."""

from __future__ import annotations

from fastapi import APIRouter

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["tasks"])


@router.get("/projects/{project}/tasks", summary="Labeling tasks with labels")
def list_tasks(wb: WorkbenchDep, project: str) -> list[documents.TaskPublic]:
    return wb.list_tasks(project)


@router.post("/projects/{project}/tasks", status_code=201, summary="Add a labeling task")
def add_task(wb: WorkbenchDep, project: str, body: schemas.TaskCreate) -> documents.TaskPublic:
    return wb.add_task(project, body.name, body.type, body.attribute, body.labels)


@router.patch(
    "/projects/{project}/tasks/{task}", summary="Rename a task (labels and annotations follow)"
)
def rename_task(
    wb: WorkbenchDep, project: str, task: str, body: schemas.TaskUpdate
) -> documents.TaskPublic:
    return wb.rename_task(project, task, body.name)


@router.delete("/projects/{project}/tasks/{task}", status_code=204, summary="Delete a task")
def delete_task(wb: WorkbenchDep, project: str, task: str) -> None:
    wb.delete_task(project, task)


@router.post("/projects/{project}/tasks/{task}/labels", status_code=201, summary="Add a label")
def add_label(
    wb: WorkbenchDep, project: str, task: str, body: schemas.LabelCreate
) -> documents.LabelPublic:
    return wb.add_label(project, task, body.name, body.color, body.hotkey)


@router.patch(
    "/projects/{project}/tasks/{task}/labels/{label:path}",
    summary="Rename, recolor or re-key a label (annotations follow)",
)
def update_label(
    wb: WorkbenchDep, project: str, task: str, label: str, body: schemas.LabelUpdate
) -> documents.LabelPublic:
    return wb.update_label(
        project, task, label, new_name=body.name, color=body.color, hotkey=body.hotkey
    )


@router.delete(
    "/projects/{project}/tasks/{task}/labels/{label:path}",
    status_code=204,
    summary="Delete a label and its annotations",
)
def delete_label(wb: WorkbenchDep, project: str, task: str, label: str) -> None:
    wb.delete_label(project, task, label)
