"""Lookup lists: the terms that labeling functions import from ``knowledge``."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import PlainTextResponse

from assay import documents
from assay.api import schemas
from assay.api.deps import WorkbenchDep, attachment
from assay.api.routes.projects import UploadLimitRoute, save_upload

router = APIRouter(tags=["lookup lists"], route_class=UploadLimitRoute)
LISTS = "/projects/{project}/lookup-lists"


@router.get(LISTS, summary="Lookup lists with their sizes")
def list_lookup_lists(wb: WorkbenchDep, project: str) -> list[documents.LookupListPublic]:
    return wb.list_lookup_lists(project)


@router.post(LISTS, status_code=201, summary="Create a lookup list")
def create_lookup_list(
    wb: WorkbenchDep, project: str, body: schemas.LookupListCreate
) -> documents.LookupListPublic:
    return wb.create_lookup_list(project, body.name, body.description)


@router.get(LISTS + "/{name}", summary="A lookup list with its terms")
def get_lookup_list(wb: WorkbenchDep, project: str, name: str) -> documents.LookupListDetail:
    return wb.get_lookup_list(project, name)


@router.delete(LISTS + "/{name}", status_code=204, summary="Delete a lookup list")
def delete_lookup_list(wb: WorkbenchDep, project: str, name: str) -> None:
    wb.delete_lookup_list(project, name)


@router.post(
    LISTS + "/{name}/terms",
    summary="Add terms (or blacklist them); creates the list when missing",
)
def add_terms(
    wb: WorkbenchDep, project: str, name: str, body: schemas.LookupTerms
) -> documents.LookupListPublic:
    return wb.add_terms(project, name, body.terms, blacklisted=body.blacklisted)


@router.post(
    LISTS + "/{name}/terms/remove",
    summary="Remove terms (with blacklisted=true: take them off the blacklist)",
)
def remove_terms(
    wb: WorkbenchDep, project: str, name: str, body: schemas.LookupTerms
) -> documents.LookupListPublic:
    return wb.remove_terms(project, name, body.terms, blacklist_only=body.blacklisted)


@router.post(
    LISTS + "/{name}/import",
    summary="Add the terms of a text (one a line) or CSV (term, blacklisted) file",
)
def import_terms(
    wb: WorkbenchDep, project: str, name: str, file: Annotated[UploadFile, File()]
) -> documents.LookupListPublic:
    target = save_upload(wb.settings.data_dir / "uploads", file)
    try:
        return wb.import_terms(project, name, target)
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)


@router.get(
    LISTS + "/{name}/export",
    summary="The terms as text (one a line, blacklisted left out) or CSV (term, blacklisted)",
    response_class=PlainTextResponse,
)
def export_terms(
    wb: WorkbenchDep,
    project: str,
    name: str,
    format: str = "txt",
    raw: Annotated[
        bool, Query(description="csv: write terms as they are, formula-like ones unescaped")
    ] = False,
) -> PlainTextResponse:
    content = wb.export_terms(project, name, format, raw=raw)
    media = "text/csv" if format == "csv" else "text/plain"
    return PlainTextResponse(
        content, media_type=f"{media}; charset=utf-8", headers=attachment(f"{name}.{format}")
    )
