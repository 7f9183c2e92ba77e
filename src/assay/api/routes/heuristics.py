"""Heuristics: labeling functions, run in the sandbox on a few records or on all of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay.api import schemas
from assay.api.deps import WorkbenchDep
from assay.errors import ValidationError

router = APIRouter(tags=["heuristics"])
HEURISTICS = "/projects/{project}/heuristics"


@router.get(HEURISTICS, summary="Heuristics with their last run and statistics")
def list_heuristics(wb: WorkbenchDep, project: str) -> list[schemas.HeuristicPublic]:
    return [schemas.HeuristicPublic(**doc) for doc in wb.list_heuristics(project)]


@router.post(
    HEURISTICS,
    status_code=201,
    summary="Add a labeling function, an active learner or a zero-shot heuristic",
)
def add_heuristic(
    wb: WorkbenchDep, project: str, body: schemas.HeuristicCreate
) -> schemas.HeuristicPublic:
    kind = body.kind.replace("-", "_")
    config = dict(body.config or {})
    if kind == "labeling_function":
        if body.name is None or body.code is None or config or body.embedding:
            raise ValidationError("a labeling function takes a name and code (no embedding)")
        return schemas.HeuristicPublic(
            **wb.add_heuristic(project, body.task, body.name, body.code, body.description)
        )
    if body.embedding is None:
        raise ValidationError(f"a {kind} heuristic reads an embedding: name it in 'embedding'")
    allowed = {"active_learner": {"classifier", "min_confidence"}}.get(
        kind, {"min_confidence", "descriptions"}
    )
    if set(config) - allowed:
        unknown = ", ".join(sorted(set(config) - allowed))
        raise ValidationError(f"unknown config of a {kind}: {unknown}")
    if kind == "active_learner":
        added = wb.add_active_learner(
            project, body.task, embedding=body.embedding, name=body.name, code=body.code, **config
        )
    elif kind == "zero_shot":
        if body.code:
            raise ValidationError("a zero-shot heuristic has no code: give label descriptions")
        added = wb.add_zero_shot(
            project, body.task, embedding=body.embedding, name=body.name, **config
        )
    else:
        raise ValidationError(
            f"unknown kind {body.kind!r}: use labeling_function, active_learner or zero_shot"
        )
    return schemas.HeuristicPublic(**added)


@router.get(HEURISTICS + "/{name}", summary="A heuristic")
def get_heuristic(wb: WorkbenchDep, project: str, name: str) -> schemas.HeuristicPublic:
    return schemas.HeuristicPublic(**wb.get_heuristic(project, name))


@router.patch(HEURISTICS + "/{name}", summary="Rename a heuristic or change its code")
def update_heuristic(
    wb: WorkbenchDep, project: str, name: str, body: schemas.HeuristicUpdate
) -> schemas.HeuristicPublic:
    changed = wb.update_heuristic(
        project,
        name,
        code=body.code,
        new_name=body.name,
        description=body.description,
        config=body.config,
    )
    return schemas.HeuristicPublic(**changed)


@router.delete(HEURISTICS + "/{name}", status_code=204, summary="Delete a heuristic and its votes")
def delete_heuristic(wb: WorkbenchDep, project: str, name: str) -> None:
    wb.delete_heuristic(project, name)


@router.post(
    HEURISTICS + "/{name}/try",
    summary="Run on 10 random (or chosen) records: results and output, nothing stored",
)
def try_heuristic(
    wb: WorkbenchDep, project: str, name: str, body: schemas.HeuristicTry
) -> schemas.HeuristicTryResult:
    tried = wb.try_heuristic(
        project,
        name,
        n=body.n,
        record_ids=body.record_ids,
        seed=body.seed,
        cancel_key=body.cancel_key,
    )
    return schemas.HeuristicTryResult(**tried)


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
) -> schemas.JobPublic:
    return schemas.JobPublic(**wb.run_heuristics(project, body.names, wait=wait))


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
) -> schemas.JobPublic:
    job = wb.weak_supervise(
        project, task, model=body.model, heuristics=body.heuristics, params=body.params, wait=wait
    )
    return schemas.JobPublic(**job)


@router.get(
    "/projects/{project}/tasks/{task}/weak-supervision",
    summary="The task's last weak-supervision run, and whether it is stale",
)
def weak_supervision_info(
    wb: WorkbenchDep, project: str, task: str
) -> schemas.WeakSupervisionInfo | None:
    info = wb.weak_supervision_info(project, task)
    return None if info is None else schemas.WeakSupervisionInfo(**info)
