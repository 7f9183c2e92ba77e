"""Embeddings of text attributes: vectors for similar records, outliers, active learners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["embeddings"])
EMBEDDINGS = "/projects/{project}/embeddings"


@router.get(
    "/embedders",
    summary="The embedders on offer: built in, and sentence-transformers models installed as "
    "packages",
)
def list_embedders(wb: WorkbenchDep) -> list[documents.EmbedderPublic]:
    return wb.list_embedders()


@router.get(EMBEDDINGS, summary="The project's embeddings with their state and last run")
def list_embeddings(wb: WorkbenchDep, project: str) -> list[documents.EmbeddingPublic]:
    return wb.list_embeddings(project)


@router.post(
    EMBEDDINGS,
    status_code=202,
    summary="Add an embedding of a text attribute and compute it, as a job",
    description="Returns the job; when it is done its result holds the embedding.",
)
def add_embedding(
    wb: WorkbenchDep,
    project: str,
    body: schemas.EmbeddingCreate,
    wait: Annotated[bool, Query()] = False,
) -> documents.JobPublic:
    job = wb.add_embedding(project, **body.model_dump(), wait=wait)
    return job


@router.get(EMBEDDINGS + "/{name}", summary="An embedding")
def get_embedding(wb: WorkbenchDep, project: str, name: str) -> documents.EmbeddingPublic:
    return wb.get_embedding(project, name)


@router.delete(
    EMBEDDINGS + "/{name}", status_code=204, summary="Delete an embedding and its vectors"
)
def delete_embedding(wb: WorkbenchDep, project: str, name: str) -> None:
    wb.delete_embedding(project, name)


@router.post(
    EMBEDDINGS + "/{name}/run",
    status_code=202,
    summary="Compute the embedding again, as a job: only new and changed records are embedded",
)
def run_embedding(
    wb: WorkbenchDep, project: str, name: str, wait: Annotated[bool, Query()] = False
) -> documents.JobPublic:
    return wb.run_embedding(project, name, wait=wait)
