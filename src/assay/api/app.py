"""The FastAPI application: routes under /api, OpenAPI at /docs, one error shape."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from assay.api import schemas
from assay.config import Settings
from assay.errors import AssayError, ValidationError
from assay.services.jobs import FINAL
from assay.workbench import Workbench


def _error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "detail": detail or {}}}, status_code=status
    )


def _span(start: int | None, end: int | None) -> tuple[int, int] | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValidationError("a span needs both start_token and end_token")
    return (start, end)


def create_app(workbench: Workbench | None = None, settings: Settings | None = None) -> FastAPI:
    wb = workbench or Workbench(settings)
    app = FastAPI(
        title="assay",
        version="0.1.0",
        description="A data-centric workbench for NLP training data.",
        docs_url="/docs",
        openapi_url="/api/openapi.json",
    )
    app.state.workbench = wb

    @app.exception_handler(AssayError)
    async def assay_error(_request: Request, exc: AssayError) -> JSONResponse:
        return _error(exc.status_code, exc.code, exc.message, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        return _error(
            422, "invalid", f"{first['location']}: {first['message']}", {"errors": errors}
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        # Until the web UI lands, the server's front door is its API documentation.
        return RedirectResponse("/docs")

    api = APIRouter(prefix="/api")

    # projects
    @api.get("/projects", summary="List projects")
    def list_projects() -> list[dict[str, Any]]:
        return wb.list_projects()

    @api.post("/projects", status_code=201, summary="Create an empty project")
    def create_project(body: schemas.ProjectCreate) -> dict[str, Any]:
        return wb.create_project(body.name, body.description, body.language)

    @api.get("/projects/{project}", summary="A project with its schema and tasks")
    def get_project(project: str) -> dict[str, Any]:
        return wb.get_project(project)

    @api.delete("/projects/{project}", status_code=204, summary="Delete a project")
    def delete_project(project: str) -> None:
        wb.delete_project(project)

    @api.post(
        "/projects/{project}/import",
        status_code=202,
        summary="Upload a file (CSV, TSV, JSON, JSONL, Parquet, Excel, project archive)",
        description="Creates the project when missing. Runs as a job; with wait=true the "
        "response is the finished job.",
    )
    def import_file(
        project: str,
        file: Annotated[UploadFile, File()],
        primary_key: Annotated[list[str] | None, Form()] = None,
        types: Annotated[str | None, Form(description='JSON object {"col": "text"}')] = None,
        format: Annotated[str | None, Form()] = None,
        annotator: Annotated[str, Form()] = "import",
        language: Annotated[str, Form()] = "en",
        wait: Annotated[bool, Query()] = False,
    ) -> dict[str, Any]:
        uploads = wb.settings.data_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        name = Path(file.filename or "upload").name
        # The file keeps its name (errors name it) in a folder of its own.
        target = Path(tempfile.mkdtemp(dir=uploads)) / name
        with target.open("wb") as handle:
            shutil.copyfileobj(file.file, handle)
        try:
            parsed_types = json.loads(types) if types else None
        except json.JSONDecodeError as exc:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise ValidationError(f"types is not a JSON object: {exc.msg}") from exc
        return wb.start_import(
            target,
            project,
            wait=wait,
            remove_file=True,
            primary_key=primary_key or None,
            types=parsed_types,
            fmt=format or files_format(name),
            annotator=annotator,
            language=language,
        )

    @api.get(
        "/projects/{project}/export",
        summary="Download records with labels (json, jsonl, csv, parquet) or a project archive",
    )
    def export(
        project: str,
        format: str = "json",
        slice: str | None = None,
    ) -> FileResponse:
        exports = wb.settings.data_dir / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=exports))
        suffix = ".assay.json" if format == "project" else f".{format}"
        out = folder / f"{project}{suffix}"
        try:
            wb.export(project, format, out, slice_name=slice)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(
            out,
            filename=out.name,
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    # tasks and labels
    @api.get("/projects/{project}/tasks", summary="Labeling tasks with labels")
    def list_tasks(project: str) -> list[dict[str, Any]]:
        return wb.list_tasks(project)

    @api.post("/projects/{project}/tasks", status_code=201, summary="Add a labeling task")
    def add_task(project: str, body: schemas.TaskCreate) -> dict[str, Any]:
        return wb.add_task(project, body.name, body.type, body.attribute, body.labels)

    @api.delete("/projects/{project}/tasks/{task}", status_code=204, summary="Delete a task")
    def delete_task(project: str, task: str) -> None:
        wb.delete_task(project, task)

    @api.post("/projects/{project}/tasks/{task}/labels", status_code=201, summary="Add a label")
    def add_label(project: str, task: str, body: schemas.LabelCreate) -> dict[str, Any]:
        return wb.add_label(project, task, body.name, body.color, body.hotkey)

    @api.patch(
        "/projects/{project}/tasks/{task}/labels/{label}",
        summary="Rename, recolor or re-key a label (annotations follow)",
    )
    def update_label(
        project: str, task: str, label: str, body: schemas.LabelUpdate
    ) -> dict[str, Any]:
        return wb.update_label(
            project, task, label, new_name=body.name, color=body.color, hotkey=body.hotkey
        )

    @api.delete(
        "/projects/{project}/tasks/{task}/labels/{label}",
        status_code=204,
        summary="Delete a label and its annotations",
    )
    def delete_label(project: str, task: str, label: str) -> None:
        wb.delete_label(project, task, label)

    # records
    @api.post("/projects/{project}/records/query", summary="Filter, order and page records")
    def query_records(project: str, body: schemas.Query) -> dict[str, Any]:
        return wb.query(project, **body.model_dump())

    @api.get(
        "/projects/{project}/records/{record}",
        summary="A record (by id or col=value key) with tokens and labels",
    )
    def get_record(project: str, record: str) -> dict[str, Any]:
        return wb.get_record(project, record)

    @api.post(
        "/projects/{project}/records/{record}/annotations",
        summary="Give a record a manual label",
    )
    def annotate(project: str, record: str, body: schemas.AnnotationCreate) -> dict[str, Any]:
        return wb.annotate(
            project,
            record,
            body.task,
            body.label,
            body.annotator,
            gold=body.gold,
            span=_span(body.start_token, body.end_token),
        )

    @api.post(
        "/projects/{project}/records/{record}/annotations/remove",
        summary="Remove an annotator's (or the gold) manual labels",
    )
    def remove_annotation(
        project: str, record: str, body: schemas.AnnotationDelete
    ) -> dict[str, Any]:
        return wb.remove_annotation(
            project,
            record,
            body.task,
            body.annotator,
            label=body.label,
            gold=body.gold,
            span=_span(body.start_token, body.end_token),
        )

    # slices
    @api.get("/projects/{project}/slices", summary="Data slices")
    def list_slices(project: str) -> list[dict[str, Any]]:
        return wb.list_slices(project)

    @api.post("/projects/{project}/slices", status_code=201, summary="Save a slice")
    def create_slice(project: str, body: schemas.SliceCreate) -> dict[str, Any]:
        return wb.create_slice(
            project, body.name, body.where, kind=body.kind, record_ids=body.record_ids
        )

    @api.get("/projects/{project}/slices/{name}", summary="A slice and its current size")
    def get_slice(project: str, name: str) -> dict[str, Any]:
        return wb.get_slice(project, name)

    @api.patch("/projects/{project}/slices/{name}", summary="Rename a slice")
    def rename_slice(project: str, name: str, body: schemas.SliceUpdate) -> dict[str, Any]:
        return wb.rename_slice(project, name, body.name)

    @api.delete("/projects/{project}/slices/{name}", status_code=204, summary="Delete a slice")
    def delete_slice(project: str, name: str) -> None:
        wb.delete_slice(project, name)

    # samples
    @api.post("/samples/{sample}", status_code=201, summary="Create a sample project")
    def create_sample(
        sample: str, variant: str = "initial", name: str | None = None
    ) -> dict[str, Any]:
        return wb.create_sample(sample, variant, name)

    # jobs
    @api.get("/jobs", summary="Recent jobs")
    def list_jobs(project: str | None = None) -> list[dict[str, Any]]:
        return wb.list_jobs(project)

    @api.get("/jobs/{job_id}", summary="A job's status and progress")
    def get_job(job_id: int) -> dict[str, Any]:
        return wb.get_job(job_id)

    @api.post("/jobs/{job_id}/cancel", summary="Ask a job to stop")
    def cancel_job(job_id: int) -> dict[str, Any]:
        return wb.cancel_job(job_id)

    @api.get(
        "/jobs/{job_id}/events",
        summary="Job progress as server-sent events, until the job ends",
        response_class=StreamingResponse,
    )
    async def job_events(job_id: int) -> StreamingResponse:
        first = wb.get_job(job_id)  # 404 before the stream starts

        async def events() -> AsyncIterator[str]:
            job = first
            last = None
            while True:
                payload = json.dumps(job)
                if payload != last:
                    yield f"event: progress\ndata: {payload}\n\n"
                    last = payload
                if job["status"] in FINAL:
                    yield f"event: end\ndata: {payload}\n\n"
                    return
                await asyncio.sleep(0.25)
                job = await asyncio.to_thread(wb.get_job, job_id)

        return StreamingResponse(events(), media_type="text/event-stream")

    app.include_router(api)
    return app


def files_format(name: str) -> str | None:
    lowered = name.lower()
    return "project" if lowered.endswith(".assay.json") else None
