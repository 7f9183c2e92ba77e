"""Neural search (records similar to a record or a text) and outliers of an embedding."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["search"])


@router.post(
    "/projects/{project}/similar",
    summary="Records most similar to a record or a text",
    description="Among the records the filter matches (the full limit whenever that many "
    "reach the threshold), best first; the query record itself is left out.",
)
def similar(wb: WorkbenchDep, project: str, body: schemas.SimilarQuery) -> documents.SimilarResult:
    return wb.similar(project, **body.model_dump())


@router.get(
    "/projects/{project}/embeddings/{name}/outliers",
    summary="The records of highest outlier score",
)
def outliers(
    wb: WorkbenchDep,
    project: str,
    name: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> documents.OutlierResult:
    return wb.outliers(project, name, limit=limit)


@router.post(
    "/projects/{project}/embeddings/{name}/outliers/slice",
    summary="Create or refresh the static slice outliers-<embedding>",
)
def outlier_slice(
    wb: WorkbenchDep, project: str, name: str, body: schemas.OutlierSliceCreate
) -> documents.SlicePublic:
    return wb.create_outlier_slice(project, name, size=body.size)
