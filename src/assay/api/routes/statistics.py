"""Statistics of a labeling task: what the project's overview page shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay import documents
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["statistics"])


@router.get(
    "/projects/{project}/statistics",
    summary="A task's label distribution, progress, confidences, confusion and agreement",
)
def task_statistics(
    wb: WorkbenchDep,
    project: str,
    task: Annotated[str, Query(description="the labeling task")],
    slice_name: Annotated[
        str | None, Query(alias="slice", description="a slice name: count its records only")
    ] = None,
) -> documents.TaskStatistics:
    return wb.statistics(project, task, slice_name)
