"""Models of a task: train (a job), the registry of versions, promote and roll back, download
an artifact; predict with the live model, review its predictions, the live accuracy."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from assay import documents
from assay.api import schemas
from assay.api.deps import BodyLimitRoute, WorkbenchDep, attachment
from assay.errors import TooLarge
from assay.storage.models import MAX_ID

MAX_BODY_BYTES = 32 << 20
"""The largest request body these routes read (413 beyond, before it is read whole): room for
10,000 texts of a few kilobytes each; one request may not hold the server with more."""


class JsonLimitRoute(BodyLimitRoute):
    """A route whose JSON body may not exceed :data:`MAX_BODY_BYTES`."""

    def body_limit(self, request: Request) -> int:
        return MAX_BODY_BYTES

    def too_large(self, limit: int) -> TooLarge:
        return TooLarge(
            f"the request body is larger than the limit of {limit:,} bytes: send at most "
            f"{schemas.PREDICT_MAX_ITEMS:,} texts (or records) per call, in several calls",
            limit=limit,
        )


router = APIRouter(tags=["models"], route_class=JsonLimitRoute)
TASK = "/projects/{project}/tasks/{task}"
MODELS = TASK + "/models"

Version = Annotated[int, Path(ge=1, le=MAX_ID, description="the version's number (1, 2, ...)")]
ARTIFACT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the artifact"}
}


@router.post(
    MODELS,
    status_code=202,
    summary="Train a model of the task, as a job",
    description="On the reference manual labels outside the task's test split (plus weakly "
    "supervised ones at or above with_weak); the new version is scored on the test split and "
    "made live when a paired test finds it better than the live one. The job's result names "
    "the version and the decision (wait=true: the finished job). 404: unknown project, task "
    "or embedding; 409: a training of the task runs already; 422: a task type it cannot "
    "train, or labels of fewer than two classes.",
)
def train_model(
    wb: WorkbenchDep,
    project: str,
    task: str,
    body: schemas.ModelTrain,
    wait: Annotated[bool, Query()] = False,
) -> documents.JobPublic:
    job = wb.train_model(
        project,
        task,
        algorithm=body.algorithm,
        with_weak=body.with_weak,
        embedding=body.embedding,
        wait=wait,
    )
    return job


@router.get(
    MODELS,
    summary="The task's versions, the live one, the promotion history and the settings",
)
def models_overview(wb: WorkbenchDep, project: str, task: str) -> documents.ModelsOverview:
    return wb.models_overview(project, task)


# Fixed paths before /models/{version}: "settings" or "rollback" is no version.


@router.get(MODELS + "/settings", summary="The settings of the task's model loop")
def model_settings(wb: WorkbenchDep, project: str, task: str) -> documents.ModelSettings:
    return wb.model_settings(project, task)


@router.patch(
    MODELS + "/settings",
    summary="Change settings of the task's model loop (only the fields given)",
    description="422: a value out of range, or test_fraction after the split's first draw.",
)
def update_model_settings(
    wb: WorkbenchDep, project: str, task: str, body: schemas.ModelSettingsUpdate
) -> documents.ModelSettings:
    return wb.update_model_settings(project, task, **body.model_dump(exclude_none=True))


@router.post(
    MODELS + "/rollback",
    summary="Make the version live before the current one live again",
    description="409: no earlier version to go back to.",
)
def rollback_model(wb: WorkbenchDep, project: str, task: str) -> documents.ModelVersionPublic:
    return wb.rollback_model(project, task)


@router.get(MODELS + "/{version}", summary="A version with its metrics and decision")
def get_model(
    wb: WorkbenchDep, project: str, task: str, version: Version
) -> documents.ModelVersionPublic:
    return wb.get_model(project, task, version)


@router.post(
    MODELS + "/{version}/promote",
    summary="Make a version live, whatever its figures (the manual override)",
    description="404: unknown version. Only the live pointer moves: serving loads the version "
    "on its next request and keeps the old one if it cannot be loaded.",
)
def promote_model(
    wb: WorkbenchDep, project: str, task: str, version: Version
) -> documents.ModelVersionPublic:
    return wb.promote_model(project, task, version)


@router.get(
    MODELS + "/{version}/artifact",
    summary="Download a version's artifact (load it with assay.algorithms.text_models.load)",
    description="409 artifact_invalid: the stored bytes differ from their sha256.",
    response_class=Response,
    responses=ARTIFACT,
)
def model_artifact(wb: WorkbenchDep, project: str, task: str, version: Version) -> Response:
    data = wb.export_model(project, task, version)
    return Response(
        data,
        media_type="application/octet-stream",
        headers=attachment(f"{project}-{task}-v{version}.assay-model"),
    )


@router.post(
    TASK + "/predict",
    summary="Predict texts or records with the task's live model",
    description="One version answers the whole call and the answer names it. At most "
    f"{schemas.PREDICT_MAX_ITEMS:,} texts or records and {MAX_BODY_BYTES:,} bytes per call "
    "(422, 413). 409 no_live_model: the task has no live model.",
)
def predict(
    wb: WorkbenchDep, project: str, task: str, body: schemas.PredictRequest
) -> documents.PredictResult:
    result = wb.predict(project, task, texts=body.texts, records=body.records, store=body.store)
    return result


@router.get(
    TASK + "/predictions",
    summary="The review queue: predictions of the task (pending by default), oldest first",
)
def list_predictions(
    wb: WorkbenchDep,
    project: str,
    task: str,
    status: Annotated[
        Literal["pending", "accepted", "rejected", "corrected", "all"],
        Query(description="all: any status"),
    ] = "pending",
    audit: Annotated[
        bool | None, Query(description="only audit items (true) or only others (false)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page", max_length=200)
    ] = None,
) -> documents.PredictionPage:
    page = wb.list_predictions(
        project,
        task,
        status=None if status == "all" else status,
        audit=audit,
        limit=limit,
        cursor=cursor,
    )
    return page


@router.post(
    TASK + "/predictions/{prediction_id}/review",
    summary="Accept, reject or correct a prediction",
    description="Accepted and corrected predictions become the reviewer's manual labels; "
    "rejected ones are kept as not this label. An audit item (its label hidden) is answered "
    "with the label. 404: unknown prediction; 409: reviewed already; 422: a label the task "
    "lacks, or correct without a label.",
)
def review_prediction(
    wb: WorkbenchDep,
    project: str,
    task: str,
    prediction_id: Annotated[str, Path(max_length=100)],
    body: schemas.PredictionReview,
) -> documents.PredictionPublic:
    reviewed = wb.review_prediction(
        project, task, prediction_id, body.action, body.reviewer, label=body.label
    )
    return reviewed


@router.get(
    TASK + "/live-accuracy",
    summary="The live version's accuracy on reviewed audit predictions, with its interval",
)
def live_accuracy(wb: WorkbenchDep, project: str, task: str) -> documents.LiveAccuracy:
    return wb.live_accuracy(project, task)
