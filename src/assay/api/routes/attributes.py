"""Calculated attributes (code whose values become an attribute) and the record IDE."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay import documents
from assay.api import schemas
from assay.api.deps import RecordRef, WorkbenchDep

router = APIRouter(tags=["calculated attributes"])
ATTRIBUTES = "/projects/{project}/attributes"


@router.get(ATTRIBUTES, summary="Calculated attributes with their code, state and last run")
def list_attributes(wb: WorkbenchDep, project: str) -> list[documents.CalculatedPublic]:
    return wb.list_calculated_attributes(project)


@router.post(ATTRIBUTES, status_code=201, summary="Add a calculated attribute")
def add_attribute(
    wb: WorkbenchDep, project: str, body: schemas.CalculatedCreate
) -> documents.CalculatedPublic:
    added = wb.add_calculated_attribute(project, body.name, body.data_type, body.code)
    return added


@router.get(ATTRIBUTES + "/{name}", summary="A calculated attribute")
def get_attribute(wb: WorkbenchDep, project: str, name: str) -> documents.CalculatedPublic:
    return wb.get_calculated_attribute(project, name)


@router.patch(ATTRIBUTES + "/{name}", summary="Change a calculated attribute's code")
def update_attribute(
    wb: WorkbenchDep, project: str, name: str, body: schemas.CalculatedUpdate
) -> documents.CalculatedPublic:
    return wb.update_calculated_attribute(project, name, body.code)


@router.delete(
    ATTRIBUTES + "/{name}", status_code=204, summary="Delete a calculated attribute and its values"
)
def delete_attribute(wb: WorkbenchDep, project: str, name: str) -> None:
    wb.delete_calculated_attribute(project, name)


@router.post(
    ATTRIBUTES + "/{name}/try",
    summary="Test on 10 random (or chosen) records: values, output, type mismatches; "
    "nothing stored",
)
def try_attribute(
    wb: WorkbenchDep, project: str, name: str, body: schemas.CalculatedTry
) -> documents.CalculatedTryResult:
    tried = wb.try_calculated_attribute(
        project,
        name,
        n=body.n,
        record_ids=body.record_ids,
        seed=body.seed,
        code=body.code,
        cancel_key=body.cancel_key,
    )
    return tried


@router.post(
    ATTRIBUTES + "/{name}/run",
    status_code=202,
    summary="Compute the attribute on every record, as a job (all or nothing)",
)
def run_attribute(
    wb: WorkbenchDep, project: str, name: str, wait: Annotated[bool, Query()] = False
) -> documents.JobPublic:
    return wb.run_calculated_attribute(project, name, wait=wait)


@router.post(
    "/projects/{project}/records/{record}/run",
    summary="Record IDE: run a snippet against one record (id or key); nothing stored",
)
def run_snippet(
    wb: WorkbenchDep, project: str, record: RecordRef, body: schemas.SnippetRun
) -> documents.SnippetResult:
    return wb.run_snippet(project, record, body.code, cancel_key=body.cancel_key)
