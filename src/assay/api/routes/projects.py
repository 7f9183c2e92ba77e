"""Projects: list, create, read, delete; upload records into one; download its records."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from assay import documents
from assay.api import schemas
from assay.api.deps import BodyLimitRoute, WorkbenchDep
from assay.errors import TooLarge, ValidationError


class UploadLimitRoute(BodyLimitRoute):
    """A route whose request body may not exceed ``ASSAY_MAX_UPLOAD_BYTES`` (413 beyond), so
    an upload is never stored whole first (what was spooled is deleted with the form)."""

    def body_limit(self, request: Request) -> int:
        limit: int = request.app.state.workbench.settings.max_upload_bytes
        return limit

    def too_large(self, limit: int) -> TooLarge:
        return _too_large(limit)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"the upload is larger than the server's limit of {limit:,} bytes "
        "(ASSAY_MAX_UPLOAD_BYTES); import a larger file with the CLI (assay import)",
        limit=limit,
    )


router = APIRouter(tags=["projects"], route_class=UploadLimitRoute)


@router.get("/projects", summary="List projects")
def list_projects(wb: WorkbenchDep) -> list[documents.ProjectSummary]:
    return wb.list_projects()


@router.post("/projects", status_code=201, summary="Create an empty project")
def create_project(wb: WorkbenchDep, body: schemas.ProjectCreate) -> documents.ProjectPublic:
    return wb.create_project(body.name, body.description, body.language)


@router.get("/projects/{project}", summary="A project with its schema and tasks")
def get_project(wb: WorkbenchDep, project: str) -> documents.ProjectPublic:
    return wb.get_project(project)


@router.delete("/projects/{project}", status_code=204, summary="Delete a project")
def delete_project(wb: WorkbenchDep, project: str) -> None:
    wb.delete_project(project)


@router.post(
    "/projects/{project}/import",
    status_code=202,
    summary="Upload a file (CSV, TSV, JSON, JSONL, Parquet, Excel, project archive)",
    description="into=new (the default) creates the project and answers 409 when one of "
    "that name exists; into=existing adds the file's records and labels to the project (404 "
    "when missing). Runs as a job; with wait=true the response is the finished job.",
)
def import_file(
    wb: WorkbenchDep,
    project: str,
    file: Annotated[UploadFile, File()],
    primary_key: Annotated[list[str] | None, Form()] = None,
    types: Annotated[str | None, Form(description='JSON object {"col": "text"}')] = None,
    format: Annotated[str | None, Form()] = None,
    annotator: Annotated[str, Form()] = "import",
    language: Annotated[str, Form()] = "en",
    into: Annotated[
        Literal["new", "existing"],
        Form(description="new: create the project; existing: add to it"),
    ] = "new",
    wait: Annotated[bool, Query()] = False,
) -> documents.JobPublic:
    parsed_types = _types(types)
    target = save_upload(wb.settings.data_dir / "uploads", file)
    job = wb.start_import(
        target,
        project,
        wait=wait,
        remove_file=True,
        primary_key=primary_key or None,
        types=parsed_types,
        fmt=format or files_format(target.name),
        annotator=annotator,
        language=language,
        into=into,
    )
    return job


@router.post(
    "/imports/preview",
    summary="Preview an upload: first rows and inferred column types, nothing imported",
    description="With project: also what adding the file to that project would change "
    "(records new and updated, and whose labels it adds).",
)
def preview_file(
    wb: WorkbenchDep,
    file: Annotated[UploadFile, File()],
    format: Annotated[str | None, Form()] = None,
    project: Annotated[str | None, Form(description="a project to add the file to")] = None,
    annotator: Annotated[str, Form()] = "import",
) -> documents.FilePreview:
    target = save_upload(wb.settings.data_dir / "uploads", file)
    try:
        return wb.preview_file(target, fmt=format, project=project, annotator=annotator)
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)


@router.get(
    "/projects/{project}/export",
    summary="Download records with labels (json, jsonl, csv, parquet) or a project archive",
)
def export(
    wb: WorkbenchDep,
    project: str,
    format: str = "json",
    slice: str | None = None,
    raw: Annotated[
        bool,
        Query(description="csv: write text cells as they are, formula-like ones unescaped"),
    ] = False,
) -> FileResponse:
    exports = wb.settings.data_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=exports))
    suffix = ".assay.json" if format == "project" else f".{format}"
    out = folder / f"{project}{suffix}"
    try:
        wb.export(project, format, out, slice_name=slice, raw=raw)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        out,
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/samples/{sample}", status_code=201, summary="Create a sample project")
def create_sample(
    wb: WorkbenchDep, sample: str, variant: str = "initial", name: str | None = None
) -> documents.ProjectPublic:
    return wb.create_sample(sample, variant, name)


_MAX_NAME_BYTES = 255  # a file name's limit on Linux and macOS file systems


def _types(value: str | None) -> dict[str, str] | None:
    """The types form field: a JSON object of column names and types, or nothing."""
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise ValidationError(f"types is not a JSON object: {message}", field="types") from exc
    if not isinstance(parsed, dict):
        raise ValidationError(
            f'types is not a JSON object but {type(parsed).__name__}: use {{"col": "text"}}',
            field="types",
        )
    return parsed


def save_upload(uploads: Path, file: UploadFile) -> Path:
    """The uploaded file on disk, keeping its name (errors name it) in a folder of its own;
    the folder goes again when the name cannot be a file's or the copy fails."""
    name = Path(file.filename or "upload").name
    if name in ("", ".", "..") or "\x00" in name or len(name.encode()) > _MAX_NAME_BYTES:
        raise ValidationError(
            f"the upload's file name {file.filename!r} cannot name a file: "
            "send the file under its own name",
            field="file",
        )
    uploads.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(dir=uploads)) / name
    try:
        with target.open("wb") as handle:
            shutil.copyfileobj(file.file, handle)
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    return target


def files_format(name: str) -> str | None:
    lowered = name.lower()
    return "project" if lowered.endswith(".assay.json") else None
