"""Request bodies of the API. Responses are the Workbench's plain documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    language: str = "en"


class TaskCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(description="classification | multi-label | extraction")
    attribute: str | None = Field(default=None, description="target attribute; none = record")
    labels: list[str] = []


class LabelCreate(BaseModel):
    name: str
    color: str | None = None
    hotkey: str | None = None


class LabelUpdate(BaseModel):
    name: str | None = Field(default=None, description="new name (rename)")
    color: str | None = None
    hotkey: str | None = Field(default=None, description="one character; empty string clears")


class Query(BaseModel):
    where: dict[str, Any] | None = Field(default=None, description="filter tree (docs/queries.md)")
    order_by: str = Field(default="id", description="id, random or an attribute name")
    descending: bool = False
    seed: int = Field(default=0, description="seed of order_by=random")
    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    offset: int | None = Field(default=None, ge=0)
    with_labels: bool = True


class AnnotationCreate(BaseModel):
    task: str
    label: str
    annotator: str = Field(min_length=1)
    gold: bool = False
    start_token: int | None = None
    end_token: int | None = None


class AnnotationDelete(BaseModel):
    task: str
    annotator: str = ""
    label: str | None = None
    gold: bool = False
    start_token: int | None = None
    end_token: int | None = None


class SliceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="dynamic", description="dynamic | static")
    where: dict[str, Any] | None = None
    record_ids: list[int] | None = None


class SliceUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
