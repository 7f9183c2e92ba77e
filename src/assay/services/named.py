"""Finding a project's entities by name: one helper for every kind of row that a project
names (labeling tasks, slices, lookup lists, heuristics, embeddings, ...), so a missing one
is refused with the same message everywhere: what was asked, where, and what exists."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from assay.errors import NotFound
from assay.storage.models import Project


class _Named(Protocol):
    id: Any
    name: Any
    project_id: Any


T = TypeVar("T", bound=_Named)


def find(session: Session, model: type[T], project: Project, name: str) -> T | None:
    """The project's row of this kind with this name, or None."""
    return session.scalar(
        select(model).where(
            _column(model, "project_id") == project.id, _column(model, "name") == name
        )
    )


def list_all(session: Session, model: type[T], project: Project, *, by: str = "name") -> list[T]:
    """The project's rows of this kind, ordered ``by`` a column (name or id)."""
    return list(
        session.scalars(
            select(model)
            .where(_column(model, "project_id") == project.id)
            .order_by(_column(model, by))
        )
    )


def get(
    session: Session, model: type[T], project: Project, name: str, noun: str, **detail: Any
) -> T:
    """The project's row of this kind with this name; NotFound names the ones there are.

    ``noun`` says what it is ("labeling task"); ``detail`` goes into the error's detail
    (default: ``{noun-as-key: name}``).
    """
    found = find(session, model, project, name)
    if found is None:
        known = ", ".join(sorted(str(x.name) for x in list_all(session, model, project)))
        detail = detail or {noun.split()[-1]: name}
        raise NotFound(
            f"project {project.name!r} has no {noun} {name!r} ({_plural(noun)}: {known or 'none'})",
            **detail,
        )
    return found


def _column(model: type[Any], name: str) -> InstrumentedAttribute[Any]:
    column: InstrumentedAttribute[Any] = getattr(model, name)
    return column


def _plural(noun: str) -> str:
    last = noun.split()[-1]
    return last[:-1] + "ies" if last.endswith("y") and last[-2:] != "ey" else last + "s"
