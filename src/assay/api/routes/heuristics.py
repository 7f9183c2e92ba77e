"""Heuristics: labeling functions, run in the sandbox on a few records or on all of them."""

from __future__ import annotations

import inspect
from typing import Annotated

from fastapi import APIRouter, Query

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep
from assay.errors import ValidationError
from assay.workbench import Workbench

router = APIRouter(tags=["heuristics"])
HEURISTICS = "/projects/{project}/heuristics"
# Workbench.add_heuristic's own arguments: a config of one of these names is refused.
_ADD_ARGUMENTS = frozenset(inspect.signature(Workbench.add_heuristic).parameters)


@router.get(HEURISTICS, summary="Heuristics with their last run and statistics")
def list_heuristics(wb: WorkbenchDep, project: str) -> list[documents.HeuristicPublic]:
    return wb.list_heuristics(project)


@router.post(
    HEURISTICS,
    status_code=201,
    summary="Add a labeling function, an active learner, a zero-shot or a model heuristic",
)
def add_heuristic(
    wb: WorkbenchDep, project: str, body: schemas.HeuristicCreate
) -> documents.HeuristicPublic:
    config = dict(body.config or {})
    taken = sorted(config.keys() & {"embedding", *_ADD_ARGUMENTS})
    if taken:  # the body's own fields, not settings of a kind
        raise ValidationError(f"unknown config of a {body.kind}: {', '.join(taken)}")
    return wb.add_heuristic(
        project,
        body.task,
        body.name,
        body.code,
        body.description,
        kind=body.kind,
        embedding=body.embedding,
        **config,
    )


@router.get(HEURISTICS + "/{name}", summary="A heuristic")
def get_heuristic(wb: WorkbenchDep, project: str, name: str) -> documents.HeuristicPublic:
    return wb.get_heuristic(project, name)


@router.patch(HEURISTICS + "/{name}", summary="Rename a heuristic or change its code")
def update_heuristic(
    wb: WorkbenchDep, project: str, name: str, body: schemas.HeuristicUpdate
) -> documents.HeuristicPublic:
    changed = wb.update_heuristic(
        project,
        name,
        code=body.code,
        new_name=body.name,
        description=body.description,
        config=body.config,
    )
    return changed


@router.delete(HEURISTICS + "/{name}", status_code=204, summary="Delete a heuristic and its votes")
def delete_heuristic(wb: WorkbenchDep, project: str, name: str) -> None:
    wb.delete_heuristic(project, name)


@router.post(
    HEURISTICS + "/{name}/try",
    summary="Run on 10 random (or chosen) records: results and output, nothing stored",
)
def try_heuristic(
    wb: WorkbenchDep, project: str, name: str, body: schemas.HeuristicTry
) -> documents.HeuristicTryResult:
    tried = wb.try_heuristic(
        project,
        name,
        n=body.n,
        record_ids=body.record_ids,
        seed=body.seed,
        cancel_key=body.cancel_key,
    )
    return tried


@router.post(
    HEURISTICS + "/run",
    status_code=202,
    summary="Run heuristics on every record, as a job (their votes are replaced at once)",
)
def run_heuristics(
    wb: WorkbenchDep,
    project: str,
    body: schemas.HeuristicRun,
    wait: Annotated[bool, Query()] = False,
) -> documents.JobPublic:
    return wb.run_heuristics(project, body.names, wait=wait)


@router.post(
    "/projects/{project}/tasks/{task}/weak-supervision",
    status_code=202,
    summary="Combine a task's heuristics with a label model, as a job",
)
def weak_supervise(
    wb: WorkbenchDep,
    project: str,
    task: str,
    body: schemas.WeakSupervisionRun,
    wait: Annotated[bool, Query()] = False,
) -> documents.JobPublic:
    job = wb.weak_supervise(
        project, task, model=body.model, heuristics=body.heuristics, params=body.params, wait=wait
    )
    return job


@router.get(
    "/projects/{project}/tasks/{task}/weak-supervision",
    summary="The task's last weak-supervision run, and whether it is stale",
)
def weak_supervision_info(
    wb: WorkbenchDep, project: str, task: str
) -> documents.WeakSupervisionInfo | None:
    info = wb.weak_supervision_info(project, task)
    return info
