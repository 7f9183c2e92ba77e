"""Lookup lists (the knowledge base): named lists of terms that labeling functions import
(``from knowledge import country_related``). Filled by hand, from files, and from every span
labeled with an extraction label of the same name. Blacklisted terms stay in the list, so an
automatic fill never brings them back, but labeling functions do not see them. A term that
only spans put there (``from_spans``) leaves again when the last manual span of its label and
text is removed; a term added by hand (or blacklisted) stays.

Each change bumps the list's ``version``: cached heuristic results key on it, so a grown list
is never served stale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import Conflict, ImportFileError, ValidationError
from assay.runtime.sandbox import module_name
from assay.services import named, names, tokens
from assay.services.cells import defuse
from assay.storage.models import (
    Annotation,
    Attribute,
    Label,
    LabelingTask,
    LookupList,
    LookupTerm,
    Project,
    Record,
    RecordText,
    utcnow,
)

MAX_TERM = 500  # characters; longer "terms" are texts, not knowledge
EXPORT_FORMATS = ("txt", "csv")


def create(session: Session, project: Project, name: str, description: str = "") -> LookupList:
    name = names.clean(name, "lookup list", list=name)
    names.check_text(description, "a lookup list's description", list=name)
    if not module_name(name):
        raise ValidationError(
            f"lookup list {name!r} has no letter, digit or '_' to import it by", list=name
        )
    imported_as = module_name(name)
    clash = next(
        (o for o in list_all(session, project) if module_name(o.name) == imported_as), None
    )
    if clash is not None:
        what = "a lookup list" if clash.name == name else f"the lookup list {clash.name!r}"
        raise Conflict(
            f"project {project.name!r} already has {what} imported as {imported_as!r}",
            list=name,
        )
    found = LookupList(project_id=project.id, name=name, description=description)
    session.add(found)
    session.flush()
    return found


def get(session: Session, project: Project, name: str) -> LookupList:
    return named.get(session, LookupList, project, name, "lookup list")


def get_or_create(session: Session, project: Project, name: str) -> LookupList:
    name = names.clean(name, "lookup list", list=name)  # checked before it is looked up
    return named.find(session, LookupList, project, name) or create(session, project, name)


def list_all(session: Session, project: Project) -> list[LookupList]:
    return named.list_all(session, LookupList, project)


def delete_list(session: Session, project: Project, name: str) -> None:
    session.delete(get(session, project, name))


def counts(session: Session, lists: list[LookupList]) -> dict[int, tuple[int, int]]:
    """(terms, blacklisted terms) per list id."""
    rows = session.execute(
        select(
            LookupTerm.list_id,
            func.count(),
            func.sum(case((LookupTerm.blacklisted, 1), else_=0)),
        )
        .where(LookupTerm.list_id.in_([lst.id for lst in lists]))
        .group_by(LookupTerm.list_id)
    ).all()
    found = {list_id: (int(n), int(black or 0)) for list_id, n, black in rows}
    return {lst.id: found.get(lst.id, (0, 0)) for lst in lists}


def describe(session: Session, lst: LookupList) -> documents.LookupListPublic:
    sizes = counts(session, [lst]).get(lst.id, (0, 0))
    return _document(lst, sizes)


def describe_all(session: Session, lists: list[LookupList]) -> list[documents.LookupListPublic]:
    sizes = counts(session, lists)
    return [_document(lst, sizes.get(lst.id, (0, 0))) for lst in lists]


def detail(session: Session, lst: LookupList) -> documents.LookupListDetail:
    """A list with its terms (``entries``: each term and whether it is blacklisted)."""
    found = terms(session, lst)
    doc = _document(lst, (len(found), sum(t.blacklisted for t in found)))
    return {**doc, "entries": [{"term": t.term, "blacklisted": t.blacklisted} for t in found]}


def _document(lst: LookupList, sizes: tuple[int, int]) -> documents.LookupListPublic:
    return {
        "id": lst.id,
        "name": lst.name,
        "module": module_name(lst.name),
        "description": lst.description,
        "version": lst.version,
        "terms": sizes[0],
        "blacklisted": sizes[1],
        "updated_at": lst.updated_at.isoformat(),
    }


def terms(session: Session, lst: LookupList) -> list[LookupTerm]:
    return list(
        session.scalars(
            select(LookupTerm).where(LookupTerm.list_id == lst.id).order_by(LookupTerm.term)
        )
    )


def _clean_terms(values: Iterable[str]) -> list[str]:
    """Terms as stored: surrounding white space removed, empty ones skipped, each once."""
    seen: dict[str, None] = {}
    for value in values:
        term = names.check_text(str(value).strip(), "a lookup term")
        if not term:
            continue
        if len(term) > MAX_TERM:
            raise ValidationError(
                f"a term is at most {MAX_TERM} characters; this one has {len(term)}: "
                f"{term[:40]!r}...",
                term=term[:40],
            )
        seen.setdefault(term, None)
    return list(seen)


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    """Pieces small enough for one IN list on every database."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _changed(session: Session, lst: LookupList) -> None:
    session.execute(
        update(LookupList)
        .where(LookupList.id == lst.id)
        .values(version=LookupList.version + 1, updated_at=utcnow())
    )
    session.refresh(lst)


def add_terms(
    session: Session,
    lst: LookupList,
    values: Iterable[str],
    *,
    blacklisted: bool = False,
    from_spans: bool = False,
) -> dict[str, int]:
    """Add terms. With ``blacklisted`` they are added (or marked) as blacklisted; without,
    terms already blacklisted stay so (say ``unblacklist`` to bring one back).
    ``from_spans``: a labeled span adds them; otherwise a hand does, and the terms it names
    stay when spans go, even those that spans added first."""
    wanted = _clean_terms(values)
    # Only the wanted terms are read: labeled spans add one term at a time to lists that may
    # be long.
    existing = {
        t.term: t
        for chunk in _chunks(wanted)
        for t in session.scalars(
            select(LookupTerm).where(LookupTerm.list_id == lst.id, LookupTerm.term.in_(chunk))
        )
    }
    added = [t for t in wanted if t not in existing]
    marked = [t for t in wanted if t in existing and blacklisted and not existing[t].blacklisted]
    session.add_all(
        LookupTerm(list_id=lst.id, term=t, blacklisted=blacklisted, from_spans=from_spans)
        for t in added
    )
    for term in marked:
        existing[term].blacklisted = True
    if not from_spans:
        for row in existing.values():
            row.from_spans = False
    if added or marked:
        session.flush()
        _changed(session, lst)
    return {"added": len(added), "blacklisted": len(marked) + (len(added) if blacklisted else 0)}


def unblacklist(session: Session, lst: LookupList, values: Iterable[str]) -> int:
    wanted = _clean_terms(values)
    changed = 0
    for chunk in _chunks(wanted):
        query = (
            update(LookupTerm)
            .where(LookupTerm.list_id == lst.id, LookupTerm.term.in_(chunk), LookupTerm.blacklisted)
            .values(blacklisted=False)
        )
        changed += int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]
    if changed:
        _changed(session, lst)
    return changed


def remove_terms(session: Session, lst: LookupList, values: Iterable[str]) -> int:
    wanted = _clean_terms(values)
    removed = 0
    for chunk in _chunks(wanted):
        query = delete(LookupTerm).where(LookupTerm.list_id == lst.id, LookupTerm.term.in_(chunk))
        removed += int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]
    if removed:
        _changed(session, lst)
    return removed


def add_from_span(session: Session, project_id: int, label_name: str, text: str) -> None:
    """A manually labeled span's text joins the list named like its label (created when
    missing). A label whose name cannot name a list fills none: labeling never fails here."""
    project = session.get(Project, project_id)
    assert project is not None  # the record being labeled belongs to it
    try:  # both checks raise before anything is written
        add_terms(session, get_or_create(session, project, label_name), [text], from_spans=True)
    except (Conflict, ValidationError):
        return


def remove_from_span(session: Session, project_id: int, label_name: str, text: str) -> None:
    """A removed manual span's text leaves the list named like its label when spans alone put
    it there and no manual span of a label of that name (in any task of the project) still
    has that text."""
    project = session.get(Project, project_id)
    assert project is not None  # the record whose span was removed belongs to it
    lst = named.find(session, LookupList, project, label_name)
    term = text.strip()
    if lst is None or not term:
        return
    found = session.scalar(
        select(LookupTerm).where(
            LookupTerm.list_id == lst.id,
            LookupTerm.term == term,
            LookupTerm.from_spans,
            LookupTerm.blacklisted.is_(False),
        )
    )
    if found is None or _span_remains(session, project_id, label_name, term):
        return
    session.delete(found)
    session.flush()
    _changed(session, lst)


def _span_remains(session: Session, project_id: int, label_name: str, term: str) -> bool:
    """Whether a manual span of a label of this name has this text (after stripping). Only
    the records whose folded text contains the term are read."""
    rows = session.execute(
        select(
            Record.data,
            Attribute.name,
            RecordText.offsets,
            Annotation.span_start,
            Annotation.span_end,
        )
        .join(Label, Label.id == Annotation.label_id)
        .join(LabelingTask, LabelingTask.id == Annotation.task_id)
        .join(Attribute, Attribute.id == LabelingTask.attribute_id)
        .join(Record, Record.id == Annotation.record_id)
        .join(
            RecordText,
            (RecordText.record_id == Annotation.record_id)
            & (RecordText.attribute_id == LabelingTask.attribute_id),
        )
        .where(
            LabelingTask.project_id == project_id,
            Label.name == label_name,
            Annotation.source == documents.MANUAL,
            Annotation.span_start.is_not(None),
            RecordText.folded.contains(term.casefold(), autoescape=True),
        )
    )
    for data, attribute, offsets, start, end in rows:
        value = data.get(attribute)
        if isinstance(value, str) and offsets is not None:
            try:
                if tokens.span_text(value, offsets, start, end).strip() == term:
                    return True
            except ValidationError:  # a span outside the text's tokens: it has no text
                continue
    return False


def add(
    session: Session, project: Project, name: str, terms: list[str], *, blacklisted: bool = False
) -> documents.LookupListPublic:
    """Add terms to a list (created when missing); ``blacklisted`` adds or marks them as
    blacklisted. The list's document, with what ``changed``."""
    lst = get_or_create(session, project, name)
    changed = add_terms(session, lst, terms, blacklisted=blacklisted)
    return {**describe(session, lst), "changed": changed}


def remove(
    session: Session, project: Project, name: str, terms: list[str], *, blacklist_only: bool
) -> documents.LookupListPublic:
    """Remove terms from a list; ``blacklist_only`` takes them off the blacklist instead."""
    lst = get(session, project, name)
    if blacklist_only:
        changed = {"unblacklisted": unblacklist(session, lst, terms)}
    else:
        changed = {"removed": remove_terms(session, lst, terms)}
    return {**describe(session, lst), "changed": changed}


def add_file(
    session: Session, project: Project, name: str, path: Path
) -> documents.LookupListPublic:
    """Add the terms of a file (:func:`read_terms`) to a list, created when missing."""
    plain, black = read_terms(path)
    lst = get_or_create(session, project, name)
    changed = add_terms(session, lst, plain)
    marked = add_terms(session, lst, black, blacklisted=True)
    changed["added"] += marked["added"]
    changed["blacklisted"] = marked["blacklisted"]
    return {**describe(session, lst), "changed": changed}


def read_terms(path: Path) -> tuple[list[str], list[str]]:
    """Terms and blacklisted terms of a file: text (one term per line) or CSV (a ``term``
    column, else the first; an optional ``blacklisted`` column of true/false)."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ImportFileError(f"{path}: no such file", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name}: not UTF-8 text (byte {exc.start})", file=str(path)
        ) from exc
    if path.suffix.lower() != ".csv":
        return content.splitlines(), []
    rows = list(csv.reader(io.StringIO(content)))
    if not rows:
        return [], []
    header = [h.strip().lower() for h in rows[0]]
    if "term" not in header:  # no header: every row is data, the first column the term
        return [r[0] for r in rows if r], []
    at = header.index("term")
    black_at = header.index("blacklisted") if "blacklisted" in header else None
    plain: list[str] = []
    black: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ImportFileError(
                f"{path.name}: row {number} has {len(row)} cells, the header {len(header)}",
                file=str(path),
                row=number,
            )
        flag = black_at is not None and row[black_at].strip().lower() in ("true", "1", "yes")
        (black if flag else plain).append(row[at])
    return plain, black


def export_terms(session: Session, lst: LookupList, fmt: str, *, raw: bool = False) -> str:
    """The terms as text (one a line, blacklisted left out) or CSV (term, blacklisted). A CSV
    escapes terms a spreadsheet would run as formulas unless ``raw`` (terms come from labeled
    spans, that is from the records' text)."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use txt or csv", format=fmt)
    found = terms(session, lst)
    if fmt == "txt":
        return "".join(f"{t.term}\n" for t in found if not t.blacklisted)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["term", "blacklisted"])
    writer.writerows(
        [t.term if raw else defuse(t.term), "true" if t.blacklisted else "false"] for t in found
    )
    return out.getvalue()


def knowledge(session: Session, project: Project) -> dict[str, Any]:
    """What labeling functions see: ``{"modules": {module name: [terms]}, "versions":
    {list name: version}}`` (blacklisted terms left out)."""
    lists = list_all(session, project)
    by_id = {lst.id: lst for lst in lists}
    modules: dict[str, list[str]] = {module_name(lst.name): [] for lst in lists}
    rows = session.execute(
        select(LookupTerm.list_id, LookupTerm.term)
        .where(LookupTerm.list_id.in_(by_id), LookupTerm.blacklisted.is_(False))
        .order_by(LookupTerm.list_id, LookupTerm.term)
    )
    for list_id, term in rows:
        modules[module_name(by_id[list_id].name)].append(term)
    return {"modules": modules, "versions": {lst.name: lst.version for lst in lists}}
