"""Record queries: one JSON filter tree, ordering and pages, the same on every database.

A filter is a tree of ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": node}`` over conditions
(see ``docs/queries.md``). Text matching never relies on a database's collation or case
rules: ``contains`` and friends compare Python-case-folded text stored at import, and text
ordering is by code point (SQLite's binary collation, PostgreSQL's "C").
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import NotFound, ValidationError
from assay.services import annotating, named, names, projects, records, tasks
from assay.storage.models import (
    MAX_ID,
    Annotation,
    Attribute,
    DataSlice,
    ManualState,
    Project,
    Record,
    RecordSet,
    RecordText,
    SliceRecord,
    can_be_id,
)

OPS = documents.values(documents.FilterOperator)
TEXT_OPS = ("contains", "begins_with", "ends_with")
STATES = documents.values(documents.ManualState)
MAX_LIMIT = 1000
MAX_FILTER_DEPTH = 32
"""How deep a filter tree may nest (and, or, not): far beyond any filter a person writes, and
well within what the compiler, the database and a saved slice's JSON can take (at a few
hundred levels each of them overflows)."""
_PRIME = 2147483647  # 2**31 - 1, a prime
TRIGRAM = 3
MAX_TRIGRAMS = 16  # enough to be selective; the exact test runs on the candidates anyway


_NAMED = ("attribute", "task", "slice", "set")  # the conditions that name a thing of the project


def _invalid(message: str, path: str) -> ValidationError:
    return ValidationError(f"invalid filter at {path}: {message}", path=path)


@dataclass
class _Context:
    session: Session
    project: Project
    dialect: str
    attributes: dict[str, Attribute] = field(default_factory=dict)
    slices_seen: set[str] = field(default_factory=set)


def _context(session: Session, project: Project) -> _Context:
    bind = session.get_bind()
    return _Context(
        session,
        project,
        bind.dialect.name,
        {a.name: a for a in projects.attributes(session, project)},
    )


def compile_filter(session: Session, project: Project, node: Any) -> ColumnElement[bool]:
    """The SQL condition of a filter tree; raises ValidationError naming the bad node."""
    return _compile_root(_context(session, project), node)


def _compile_root(ctx: _Context, node: Any) -> ColumnElement[bool]:
    problem = names.unstorable(node, "$")  # PostgreSQL refuses a NUL, SQLite matches none
    if problem is not None:
        raise _invalid(f"a filter cannot hold {problem[1]}", problem[0])
    return _compile(ctx, node or {}, "$", 1)


def _compile(ctx: _Context, node: Any, path: str, depth: int) -> ColumnElement[bool]:
    if not isinstance(node, dict):
        raise _invalid(f"expected an object, found {type(node).__name__}", path)
    if not node:
        return true()
    if depth > MAX_FILTER_DEPTH:
        raise _invalid(f"a filter nests at most {MAX_FILTER_DEPTH} levels deep", path)
    if "and" in node or "or" in node:
        op = "and" if "and" in node else "or"
        children = node[op]
        if not isinstance(children, list):
            raise _invalid(f"{op!r} takes a list", path)
        parts = [
            _compile(ctx, child, f"{path}.{op}[{i}]", depth + 1) for i, child in enumerate(children)
        ]
        if not parts:
            return true() if op == "and" else false()
        return and_(*parts) if op == "and" else or_(*parts)
    if "not" in node:
        return not_(_compile(ctx, node["not"], f"{path}.not", depth + 1))
    named = next((key for key in _NAMED if key in node), None)
    if named is not None and not isinstance(node[named], str):
        raise _invalid(f"{named!r} takes a name (a string)", path)
    if "attribute" in node:
        condition: ColumnElement[bool] = _attribute_condition(ctx, node, path)
    elif "task" in node:
        condition = _label_condition(ctx, node, path)
    elif "search" in node:
        condition = _search_condition(ctx, node, path)
    elif "ids" in node:
        ids = node["ids"]
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):  # no booleans
            raise _invalid("'ids' takes a list of integers", path)
        condition = Record.id.in_([i for i in ids if can_be_id(i)])
    elif "slice" in node:
        condition = _slice_condition(ctx, node, path, depth)
    elif "set" in node:
        condition = _set_condition(ctx, node["set"])
    else:
        raise _invalid(
            "expected one of and, or, not, attribute, task, search, ids, slice, set", path
        )
    return not_(condition) if node.get("negate") else condition


def _text_expr(ctx: _Context, attribute: Attribute) -> ColumnElement[Any]:
    expr: ColumnElement[Any] = Record.data[attribute.name].as_string()
    return expr.collate("C") if ctx.dialect == "postgresql" else expr


def value_expr(ctx: _Context, attribute: Attribute) -> ColumnElement[Any]:
    """The typed SQL value of an attribute of the current record."""
    column: Any = Record.data[attribute.name]
    typed: ColumnElement[Any]
    if attribute.data_type == "integer" and ctx.dialect == "postgresql":
        # BIGINT, as SQLite's integers: PostgreSQL's INTEGER ends at 2**31 - 1, which stored
        # values and the values a filter compares them with may pass.
        typed = cast(column.as_string(), BigInteger)
    elif attribute.data_type == "integer":
        typed = column.as_integer()
    elif attribute.data_type == "float":
        typed = column.as_float()
    elif attribute.data_type == "boolean":
        typed = column.as_boolean()
    else:
        typed = _text_expr(ctx, attribute)
    return typed


def _position(ctx: _Context, haystack: Any, needle: str) -> ColumnElement[Any]:
    if ctx.dialect == "postgresql":
        return func.strpos(haystack, literal(needle))
    return func.instr(haystack, literal(needle))


def _text_match(ctx: _Context, expr: Any, op: str, needle: str) -> ColumnElement[bool]:
    if op == "contains":
        return _position(ctx, expr, needle) > 0
    length = len(needle)
    if op == "begins_with":
        return func.substr(expr, 1, length) == needle
    if ctx.dialect == "postgresql":
        return func.right(expr, length) == needle
    return and_(func.length(expr) >= length, func.substr(expr, -length) == needle)


def _folded_match(
    ctx: _Context, attribute_ids: list[int], condition: Any, substring: str | None = None
) -> ColumnElement[bool]:
    """Records whose folded text (of any of these attributes) meets ``condition``.

    A non-correlated ``IN``: the database finds the matching texts once, through the trigram
    index when ``substring`` (a folded needle the condition requires) is long enough, then
    looks the records up by id.
    """
    matching = select(RecordText.record_id).where(
        RecordText.attribute_id.in_(attribute_ids), condition
    )
    if substring is not None and len(substring) >= TRIGRAM:
        matching = matching.where(_trigram_candidates(ctx, substring))
    return Record.id.in_(matching)


def _trigram_candidates(ctx: _Context, substring: str) -> ColumnElement[bool]:
    """Narrow record_text rows to a superset of those containing ``substring`` through the
    trigram index (migration 0002): on SQLite the rows holding all of its trigrams, on
    PostgreSQL a LIKE that pg_trgm can serve. Exactness comes from the caller's condition."""
    if ctx.dialect == "sqlite":
        grams = sorted({substring[i : i + TRIGRAM] for i in range(len(substring) - TRIGRAM + 1)})
        query = " AND ".join('"' + g.replace('"', '""') + '"' for g in grams[:MAX_TRIGRAMS])
        fts = text("SELECT rowid FROM record_text_fts WHERE record_text_fts MATCH :grams")
        return RecordText.id.in_(fts.bindparams(bindparam("grams", query, unique=True)))
    escaped = substring.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast_bool(RecordText.folded.like(f"%{escaped}%", escape="\\"))


def _coerce(attribute: Attribute, value: Any, path: str) -> Any:
    kind = attribute.data_type
    ok = (
        isinstance(value, str)
        if kind in projects.STRING_TYPES
        else isinstance(value, bool)
        if kind == "boolean"
        else isinstance(value, (int, float)) and not isinstance(value, bool)
    )
    if not ok:
        raise _invalid(f"{value!r} is not a {kind} value for attribute {attribute.name!r}", path)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:  # what a database can bind
        raise _invalid(f"{value} is beyond the 64-bit integers the databases compare", path)
    return value


def _attribute_condition(ctx: _Context, node: dict[str, Any], path: str) -> ColumnElement[bool]:
    name = node["attribute"]
    attribute = ctx.attributes.get(name)
    if attribute is None:
        raise _invalid(
            f"unknown attribute {name!r} (attributes: {', '.join(ctx.attributes) or 'none'})",
            path,
        )
    op = node.get("op", "eq")
    if op not in OPS:
        raise _invalid(f"unknown op {op!r}; use one of {', '.join(OPS)}", path)
    is_string = attribute.data_type in projects.STRING_TYPES
    case_sensitive = bool(node.get("case_sensitive", op not in TEXT_OPS))
    value = node.get("value")
    expr: Any = value_expr(ctx, attribute)
    if op == "is_null":
        return cast_bool(expr.is_(None))
    if op in TEXT_OPS:
        if not is_string:
            raise _invalid(f"{op!r} works on text and category attributes only", path)
        needle = _coerce(attribute, value, path)
        if case_sensitive:
            return _null_safe(_text_match(ctx, expr, op, needle))
        folded_needle = needle.casefold()
        return _folded_match(
            ctx,
            [attribute.id],
            _text_match(ctx, RecordText.folded, op, folded_needle),
            folded_needle,
        )
    if op == "in":
        if not isinstance(value, list):
            raise _invalid("'in' takes a list", path)
        values = [_coerce(attribute, v, path) for v in value]
        if is_string and not case_sensitive:
            wanted = [v.casefold() for v in values]
            return _folded_match(ctx, [attribute.id], RecordText.folded.in_(wanted))
        return _null_safe(expr.in_(values))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _invalid("'between' takes [low, high]", path)
        low, high = (_coerce(attribute, v, path) for v in value)
        return _null_safe(and_(expr >= low, expr <= high))
    value = _coerce(attribute, value, path)
    if is_string and not case_sensitive:
        folded: Any = RecordText.folded
        if ctx.dialect == "postgresql":
            folded = folded.collate("C")
        return _folded_match(ctx, [attribute.id], _comparison(folded, op, value.casefold()))
    return _null_safe(_comparison(expr, op, value))


def _null_safe(condition: Any) -> ColumnElement[bool]:
    """A condition on a missing (NULL) value is false, not unknown, so its negation holds.
    Only conditions on a record's JSON values need this; the others are never NULL."""
    safe: ColumnElement[bool] = func.coalesce(condition, false())
    return safe


def cast_bool(expr: Any) -> ColumnElement[bool]:
    """An SQL expression typed as a condition (SQLAlchemy's JSON accessors type as Any)."""
    condition: ColumnElement[bool] = expr
    return condition


def _comparison(expr: Any, op: str, value: Any) -> ColumnElement[bool]:
    comparisons: dict[str, Callable[[], ColumnElement[bool]]] = {
        "eq": lambda: expr == value,
        "ne": lambda: expr != value,
        "lt": lambda: expr < value,
        "le": lambda: expr <= value,
        "gt": lambda: expr > value,
        "ge": lambda: expr >= value,
    }
    return comparisons[op]()


def _label_condition(ctx: _Context, node: dict[str, Any], path: str) -> ColumnElement[bool]:
    task = tasks.get(ctx.session, ctx.project, node["task"])
    source = node.get("source", annotating.MANUAL)
    if source not in annotating.SOURCES:
        raise _invalid(f"unknown source {source!r}; use one of {annotating.SOURCES}", path)
    state = node.get("state")
    if state is not None:
        if state not in STATES:
            raise _invalid(f"unknown state {state!r}; use one of {', '.join(STATES)}", path)
        if source == annotating.MANUAL:
            has_state = exists().where(
                ManualState.record_id == Record.id, ManualState.task_id == task.id
            )
            if state == "none":
                return not_(has_state)
            wanted = ["gold", "agreed"] if state == "labeled" else [state]
            return exists().where(
                ManualState.record_id == Record.id,
                ManualState.task_id == task.id,
                ManualState.state.in_(wanted),
            )
        if state in ("gold", "agreed"):
            raise _invalid(f"state {state!r} exists for manual labels only", path)
        if state == "conflict":
            return Record.id.in_(_source_conflicts(task.id, source))
        any_vote = exists().where(
            Annotation.record_id == Record.id,
            Annotation.task_id == task.id,
            Annotation.source == source,
        )
        return not_(any_vote) if state == "none" else any_vote
    conditions = [
        Annotation.record_id == Record.id,
        Annotation.task_id == task.id,
        Annotation.source == source,
    ]
    if source == annotating.MANUAL:
        conditions.append(Annotation.is_reference.is_(True))
    wanted_labels = node.get("labels") or ([node["label"]] if "label" in node else [])
    if not isinstance(wanted_labels, list):
        raise _invalid("'labels' takes a list of label names", path)
    if wanted_labels:
        ids = [tasks.label(ctx.session, task, str(name)).id for name in wanted_labels]
        conditions.append(Annotation.label_id.in_(ids))
    low, high = node.get("min_confidence"), node.get("max_confidence")
    if low is not None:
        conditions.append(Annotation.confidence >= float(low))
    if high is not None:
        conditions.append(Annotation.confidence <= float(high))
    return exists().where(*conditions)


def _source_conflicts(task_id: int, source: str) -> Select[tuple[int]]:
    """Records where at least two sources (heuristics, models) of ``source`` voted and their
    values differ: some unit (a label, or a labeled span) lacks the support of every one of
    them. One non-correlated subquery, the same on every database."""
    votes = and_(Annotation.task_id == task_id, Annotation.source == source)
    units = (
        select(
            Annotation.record_id,
            Annotation.source_id,
            Annotation.label_id,
            func.coalesce(Annotation.span_start, -1).label("start"),
            func.coalesce(Annotation.span_end, -1).label("end"),
        )
        .where(votes)
        .distinct()
        .subquery()
    )
    support = (
        select(units.c.record_id, func.count().label("n"))
        .group_by(units.c.record_id, units.c.label_id, units.c.start, units.c.end)
        .subquery()
    )
    voters = (
        select(Annotation.record_id, func.count(func.distinct(Annotation.source_id)).label("n"))
        .where(votes)
        .group_by(Annotation.record_id)
        .having(func.count(func.distinct(Annotation.source_id)) >= 2)
        .subquery()
    )
    return (
        select(support.c.record_id)
        .join(voters, voters.c.record_id == support.c.record_id)
        .where(support.c.n < voters.c.n)
    )


def _search_condition(ctx: _Context, node: dict[str, Any], path: str) -> ColumnElement[bool]:
    phrase = node["search"]
    if not isinstance(phrase, str):
        raise _invalid("'search' takes a string", path)
    terms = phrase.casefold().split()
    if not terms:
        return true()
    string_ids = [a.id for a in ctx.attributes.values() if a.data_type in projects.STRING_TYPES]
    return and_(
        *(
            _folded_match(ctx, string_ids, _position(ctx, RecordText.folded, term) > 0, term)
            for term in terms
        )
    )


def _named_slice(ctx: _Context, name: str) -> DataSlice:
    return named.get(ctx.session, DataSlice, ctx.project, name, "slice")


def _slice_condition(
    ctx: _Context, node: dict[str, Any], path: str, depth: int
) -> ColumnElement[bool]:
    name = node["slice"]
    found = _named_slice(ctx, name)
    if found.kind == "static":
        return exists().where(SliceRecord.slice_id == found.id, SliceRecord.record_id == Record.id)
    if name in ctx.slices_seen:
        raise _invalid(f"slice {name!r} refers to itself", path)
    ctx.slices_seen.add(name)
    try:
        # the slice's tree stands in for this node: its root is at this node's depth
        return _compile(ctx, found.filter or {}, f"{path}<slice {name}>", depth)
    finally:
        ctx.slices_seen.discard(name)


def _set_condition(ctx: _Context, name: str) -> ColumnElement[bool]:
    """Records in the set ``name`` of the project's split (``services/splits.py``); a set the
    split does not have is a 404 naming those it has."""
    known = ctx.session.scalar(
        select(RecordSet.name)
        .where(RecordSet.project_id == ctx.project.id, RecordSet.name == name)
        .limit(1)
    )
    if known is None:
        sets = sorted(
            ctx.session.scalars(
                select(RecordSet.name).where(RecordSet.project_id == ctx.project.id).distinct()
            )
        )
        raise NotFound(
            f"project {ctx.project.name!r} has no split set {name!r} "
            + (f"(sets: {', '.join(sets)})" if sets else "(no split yet: run assay split)"),
            set=name,
        )
    return exists().where(
        RecordSet.record_id == Record.id,
        RecordSet.project_id == ctx.project.id,
        RecordSet.name == name,
    )


# --- ordering and pages -------------------------------------------------------------------


SLICE_ORDER = "slice:"  # order_by "slice:NAME": a static slice's own order


@dataclass(frozen=True)
class Page:
    records: list[documents.RecordPublic]
    total: int
    next_cursor: str | None


def _sort_key(ctx: _Context, order_by: str, seed: int) -> ColumnElement[Any] | None:
    if order_by == "id":
        return None
    if order_by == "random":
        # Two rounds of square-and-mix modulo 2**31 - 1: integer arithmetic that SQLite and
        # PostgreSQL compute alike (squares stay below 2**62), and non-linear in the seed.
        seed = seed % _PRIME
        x = (cast(Record.id, BigInteger) * 48271 + seed * 7919 + 1) % _PRIME
        y = (x * x) % _PRIME
        z = (y * 16807 + seed) % _PRIME
        return (z * z + x) % _PRIME
    attribute = ctx.attributes.get(order_by)
    if attribute is None and order_by.startswith(SLICE_ORDER):
        return _slice_position(ctx, order_by.removeprefix(SLICE_ORDER))
    if attribute is None:
        raise ValidationError(
            f"cannot order by {order_by!r}: use id, random, {SLICE_ORDER}NAME (a static "
            f"slice's own order) or an attribute ({', '.join(ctx.attributes) or 'none'})",
            order_by=order_by,
        )
    if attribute.data_type == "boolean":  # false < true, and comparable in a keyset cursor
        return cast(value_expr(ctx, attribute), Integer)
    return value_expr(ctx, attribute)


def _slice_position(ctx: _Context, name: str) -> ColumnElement[Any]:
    """A record's position in a static slice (records outside it come last)."""
    found = _named_slice(ctx, name)
    if found.kind != "static":
        raise ValidationError(
            f"cannot order by slice {name!r}: it is a dynamic slice (a filter), which has no "
            "order of its own",
            order_by=SLICE_ORDER + name,
        )
    return (
        select(SliceRecord.position)
        .where(SliceRecord.slice_id == found.id, SliceRecord.record_id == Record.id)
        .scalar_subquery()
    )


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise ValidationError("invalid cursor", cursor=cursor) from exc
    if not isinstance(values, list) or len(values) != 2:
        raise ValidationError("invalid cursor", cursor=cursor)
    return values


def _after(key: Any, id_column: Any, descending: bool, cursor: list[Any]) -> ColumnElement[bool]:
    """Keyset condition: rows after (value, id) in (key, id) order, nulls last."""
    value, last_id = cursor
    next_id = cast_bool(id_column < last_id if descending else id_column > last_id)
    if key is None:
        return next_id
    if value is None:
        return and_(cast_bool(key.is_(None)), next_id)
    beyond = key < value if descending else key > value
    return or_(beyond, and_(key == value, next_id), key.is_(None))


def build(
    session: Session,
    project: Project,
    where: Any = None,
    order_by: str = "id",
    descending: bool = False,
    seed: int = 0,
) -> tuple[Select[Any], ColumnElement[Any] | None, ColumnElement[bool]]:
    ctx = _context(session, project)
    condition = and_(projects.visible_records(session, project), _compile_root(ctx, where))
    key = _sort_key(ctx, order_by, seed)
    columns: list[Any] = [Record.id]
    if key is not None:
        columns.append(key.label("sort_key"))
    query = select(*columns).where(condition)
    order: list[Any] = []
    if key is not None:
        order.append(_direction(key, descending))
    order.append(Record.id.desc() if descending else Record.id.asc())
    return query.order_by(*order), key, condition


def _direction(key: Any, descending: bool) -> Any:
    return (key.desc() if descending else key.asc()).nulls_last()


def record_ids(session: Session, project: Project, where: Any = None) -> list[int]:
    query, _key, _condition = build(session, project, where)
    return [row.id for row in session.execute(query)]


def count(session: Session, project: Project, where: Any = None) -> int:
    _query, _key, condition = build(session, project, where)
    return _count(session, condition)


def _count(session: Session, condition: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(Record).where(condition)) or 0)


def page(session: Session, project: Project, params: documents.RecordQuery) -> documents.RecordPage:
    """One page of records (:func:`run`) as its document."""
    found = run(session, project, params)
    return {"records": found.records, "total": found.total, "next_cursor": found.next_cursor}


def parameters(where: Any = None, **given: Any) -> documents.RecordQuery:
    """A record query's parameters as the Python API passes them, with the defaults of
    :class:`assay.documents.RecordQuery`. An unknown name is refused; the values are not
    coerced: :func:`run` checks them and says where and why."""
    unknown = sorted(given.keys() - documents.RecordQuery.model_fields.keys())
    if unknown:
        raise TypeError(f"unknown record query parameter(s): {', '.join(unknown)}")
    return documents.RecordQuery.model_construct(where=where, **given)


def run(session: Session, project: Project, params: documents.RecordQuery) -> Page:
    """One page of records matching ``where``, with the exact total count."""
    where, order_by, descending, seed = (
        params.where,
        params.order_by,
        params.descending,
        params.seed,
    )
    limit, cursor, offset = params.limit, params.cursor, params.offset
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}", limit=limit)
    query, key, condition = build(session, project, where, order_by, descending, seed)
    # Each page carries the total from the same pass: a window count over all matches.
    query = query.add_columns(func.count().over().label("total"))
    if cursor:
        # Keyset: filter after the window, so the count still covers every match.
        matches = query.order_by(None).subquery()
        sort_column = matches.c.sort_key if key is not None else None
        order = [] if sort_column is None else [_direction(sort_column, descending)]
        query = (
            select(matches)
            .where(_after(sort_column, matches.c.id, descending, decode_cursor(cursor)))
            .order_by(*order, matches.c.id.desc() if descending else matches.c.id.asc())
        )
    elif offset:
        if offset < 0:
            raise ValidationError("offset must not be negative", offset=offset)
        query = query.offset(min(offset, MAX_ID))  # past every record; a database binds it
    rows = session.execute(query.limit(limit + 1)).all()
    # Past the last match there is no row to carry the total: count alone.
    total = int(rows[0].total) if rows else _count(session, condition)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([last.sort_key if key is not None else None, last.id])
    # The sort ran over ids and sort keys only; the page's records are read by id.
    ids = [r.id for r in rows]
    stored = {
        r.id: r
        for r in session.execute(
            select(Record.id, Record.key, Record.data).where(Record.id.in_(ids))
        )
    }
    position = records.positions(session, project, ids)
    page: list[documents.RecordPublic] = [
        {"id": i, "key": stored[i].key, "data": stored[i].data, "position": position[i]}
        for i in ids
    ]
    if params.with_labels and page:
        attach_labels(session, project, page)
    return Page(page, total, next_cursor)


def attach_labels(session: Session, project: Project, page: list[documents.RecordPublic]) -> None:
    """Add each record's labels per task: the manual reference and every other source."""
    ids = [r["id"] for r in page]
    summaries: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for task in tasks.list_all(session, project):
        manual = annotating.reference_values(session, task, ids)
        others = {
            source: annotating.source_values(session, task, ids, source)
            for source in annotating.SOURCES[1:]
        }
        for record_id in ids:
            entry: dict[str, Any] = {"manual": manual.get(record_id)}
            for source, (values, confidences) in others.items():
                if record_id in values:
                    entry[source] = values[record_id]
                    entry[f"{source}_confidence"] = confidences.get(record_id)
            summaries[record_id][task.name] = entry
    for record in page:
        record["labels"] = summaries[record["id"]]
