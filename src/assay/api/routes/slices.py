"""Data slices: saved filters (dynamic) and saved record sets (static)."""

from __future__ import annotations

from fastapi import APIRouter

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["slices"])


@router.get("/projects/{project}/slices", summary="Data slices")
def list_slices(wb: WorkbenchDep, project: str) -> list[documents.SlicePublic]:
    return wb.list_slices(project)


@router.post("/projects/{project}/slices", status_code=201, summary="Save a slice")
def create_slice(
    wb: WorkbenchDep, project: str, body: schemas.SliceCreate
) -> documents.SlicePublic:
    created = wb.create_slice(
        project, body.name, body.where, kind=body.kind, record_ids=body.record_ids
    )
    return created


@router.get("/projects/{project}/slices/{name}", summary="A slice and its current size")
def get_slice(wb: WorkbenchDep, project: str, name: str) -> documents.SlicePublic:
    return wb.get_slice(project, name)


@router.patch("/projects/{project}/slices/{name}", summary="Rename a slice")
def rename_slice(
    wb: WorkbenchDep, project: str, name: str, body: schemas.SliceUpdate
) -> documents.SlicePublic:
    return wb.rename_slice(project, name, body.name)


@router.delete("/projects/{project}/slices/{name}", status_code=204, summary="Delete a slice")
def delete_slice(wb: WorkbenchDep, project: str, name: str) -> None:
    wb.delete_slice(project, name)
