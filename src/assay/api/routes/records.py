"""Records: the query engine, one record with tokens and labels, manual labels."""

from __future__ import annotations

from fastapi import APIRouter

from assay import documents
from assay.api import schemas
from assay.api.deps import RecordRef, WorkbenchDep, span

router = APIRouter(tags=["records"])


@router.post("/projects/{project}/records/query", summary="Filter, order and page records")
def query_records(
    wb: WorkbenchDep, project: str, body: documents.RecordQuery
) -> documents.RecordPage:
    return wb.query(project, **body.model_dump())


@router.get(
    "/projects/{project}/records/{record}",
    summary="A record (by id or col=value key) with tokens and labels",
)
def get_record(wb: WorkbenchDep, project: str, record: RecordRef) -> documents.RecordDetail:
    return wb.get_record(project, record)


@router.post(
    "/projects/{project}/records/{record}/annotations",
    summary="Give a record a manual label",
    description="Returns the record's labels for that task.",
)
def annotate(
    wb: WorkbenchDep, project: str, record: RecordRef, body: schemas.AnnotationCreate
) -> documents.TaskLabels:
    labels = wb.annotate(
        project,
        record,
        body.task,
        body.label,
        body.annotator,
        gold=body.gold,
        span=span(body.start_token, body.end_token),
    )
    return labels


@router.post(
    "/projects/{project}/records/{record}/annotations/remove",
    summary="Remove an annotator's (or the gold) manual labels",
    description="Returns the record's labels for that task.",
)
def remove_annotation(
    wb: WorkbenchDep, project: str, record: RecordRef, body: schemas.AnnotationDelete
) -> documents.TaskLabels:
    labels = wb.remove_annotation(
        project,
        record,
        body.task,
        body.annotator,
        label=body.label,
        gold=body.gold,
        span=span(body.start_token, body.end_token),
    )
    return labels
