"""Curating the data: what to label next (selection), named splits with their report, label
quality, near-duplicates. Each POST starts a job (202; ``?wait=true``: the finished job) whose
chunks are stored, so a rerun on unchanged inputs returns at once; each GET reads the newest
stored result, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["curation"])
PROJECT = "/projects/{project}"
QUALITY = PROJECT + "/tasks/{task}/quality"

Wait = Annotated[bool, Query(description="answer with the finished job")]
Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]
Cursor = Annotated[
    str | None, Query(description="next_cursor of the previous page", max_length=200)
]


@router.post(
    PROJECT + "/selections",
    status_code=202,
    summary="Pick records to label next, as a job",
    description="The strategy picks `size` records of the pool (`where` and `slice`; default "
    "every record); the job's result (SelectionResult) names the static slice that holds them "
    "best first and the labeling session on it. 404: unknown project, slice, task, embedding "
    "or heuristic; 409: `name` is a slice no selection made; 422: more records than the pool "
    "holds, a bad filter, an embedding that is not ready, a strategy that needs probabilities "
    "or an embedding the project lacks. Nothing is stored on a refusal.",
)
def create_selection(
    wb: WorkbenchDep, project: str, body: schemas.SelectionCreate, wait: Wait = False
) -> documents.JobPublic:
    job = wb.select(project, **body.model_dump(), wait=wait)
    return job


@router.post(
    PROJECT + "/splits",
    status_code=202,
    summary="Split the task's labeled records into named sets, as a job",
    description="Label-stratified, cluster-stratified on the embedding, near-duplicates kept in "
    "one set, reproducible with the seed; stored on the records (it replaces the project's "
    "split), and a set named test is what training is scored on. The job's result is the "
    "split report. 404: unknown project, task or embedding; 422: sets that do not add up or "
    "ask for more records than are labeled, a task that is not classification or "
    "multi-label (or several such tasks and none named), an embedding that is not ready. "
    "Nothing is stored on a refusal.",
)
def create_split(
    wb: WorkbenchDep, project: str, body: schemas.SplitCreate, wait: Wait = False
) -> documents.JobPublic:
    job = wb.split(
        project, body.sets, task=body.task, embedding=body.embedding, seed=body.seed, wait=wait
    )
    return job


@router.get(
    PROJECT + "/splits",
    summary="The report of the project's current split",
    description="Label shares per set, each set's embedding distance to the pool next to random "
    "splits of the same sizes, near-duplicate groups across sets. 404: unknown project, or a "
    "project without a split.",
)
def split_report(wb: WorkbenchDep, project: str) -> documents.SplitReport:
    return wb.split_report(project)


@router.post(
    QUALITY,
    status_code=202,
    summary="Check the task's labels, as a job",
    description="Ranks suspected label errors (out-of-fold probabilities with the embedding's "
    "neighbourhood), manual labels that high-confidence weak labels contradict, and annotator "
    "disagreements; each list becomes a ranked static slice `quality-<task>-<list>`. The job's "
    "result (QualityResult) names them. 404: unknown project, task or embedding; 422: an "
    "extraction or multi-label task, labels of one class, too few labels for the folds, no "
    "ready embedding, a dynamic slice where a list's slice goes. Nothing is stored on a "
    "refusal.",
)
def check_quality(
    wb: WorkbenchDep, project: str, task: str, body: schemas.QualityCheck, wait: Wait = False
) -> documents.JobPublic:
    job = wb.check_quality(project, task, **body.model_dump(), wait=wait)
    return job


@router.get(
    QUALITY,
    summary="A page of one list of the task's newest label check, most suspect first",
    description="404: unknown project or task, or a task whose labels were never checked; "
    "422: a bad cursor.",
)
def quality_findings(
    wb: WorkbenchDep,
    project: str,
    task: str,
    list_name: Annotated[
        documents.QualityList,
        Query(alias="list", description="label_error | weak_disagreement | annotator_disagreement"),
    ] = "label_error",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> documents.QualityPage:
    return wb.quality_findings(project, task, list_name=list_name, limit=limit, cursor=cursor)


@router.post(
    PROJECT + "/duplicates",
    status_code=202,
    summary="Group the project's duplicate records, as a job",
    description="exact: the same normalized text; lexical: MinHash LSH over character 5-grams "
    "(threshold: estimated Jaccard, default 0.8); semantic: an embedding's neighbours "
    "(threshold: cosine, default 0.95). Groups whose records carry different manual labels are "
    "flagged. The job's result (DuplicatesResult) counts the groups. 404: unknown project, "
    "attribute or embedding; 422: an attribute that is not text, an embedding that is not "
    "ready, a threshold outside (0, 1]. Nothing is stored on a refusal.",
)
def find_duplicates(
    wb: WorkbenchDep, project: str, body: schemas.DuplicatesFind, wait: Wait = False
) -> documents.JobPublic:
    job = wb.find_duplicates(project, **body.model_dump(), wait=wait)
    return job


@router.get(
    PROJECT + "/duplicates",
    summary="A page of the groups of the newest duplicate search of a kind, largest first",
    description="404: unknown project, or no search of that kind yet; 422: a bad cursor.",
)
def duplicate_groups(
    wb: WorkbenchDep,
    project: str,
    kind: Annotated[
        documents.DuplicateKind, Query(description="exact | lexical | semantic")
    ] = "exact",
    mixed_only: Annotated[
        bool, Query(description="only groups whose records carry different manual labels")
    ] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> documents.DuplicatesPage:
    return wb.duplicate_groups(
        project, kind=kind, mixed_only=mixed_only, limit=limit, cursor=cursor
    )
