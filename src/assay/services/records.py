"""Records: keys, hashes, lookup by key or id, and reading a record with its labels."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.errors import NotFound, ValidationError
from assay.services import projects
from assay.storage.models import MAX_ID, Attribute, Project, Record, RecordText, can_be_id

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_key(values: list[Any]) -> str:
    """A primary-key value as stored: a compact JSON list."""
    if len(values) == 1 and type(values[0]) is int:  # the common case, without the encoder
        return f"[{values[0]}]"
    return _JSON.encode(values)


def canonical_keys(columns: list[list[Any]]) -> list[str]:
    """:func:`canonical_key` of each row of these key columns."""
    if len(columns) == 1 and set(map(type, columns[0])) == {int}:
        return [f"[{value}]" for value in columns[0]]  # the common case, without a call a row
    return [canonical_key(list(parts)) for parts in zip(*columns, strict=True)]


def encode(data: dict[str, Any]) -> str:
    """A record's data as stored: compact JSON, attributes in schema order."""
    return _JSON.encode(data)


def encode_columns(names: list[str], columns: list[list[Any]]) -> list[str]:
    """:func:`encode` of each row of these columns, built a column at a time: strings, integers
    and nulls skip the encoder's per-call work (half the time on short records, measured)."""
    braced = [_JSON.encode(name).replace("{", "{{").replace("}", "}}") for name in names]
    template = "{{" + ",".join(f"{name}:{{}}" for name in braced) + "}}"
    return list(map(template.format, *map(_encode_values, columns)))


def _encode_values(values: list[Any]) -> list[str]:
    # encode_basestring is what the encoder itself applies to strings (ensure_ascii off).
    return [
        encode_basestring(v)
        if type(v) is str
        else int.__repr__(v)
        if type(v) is int
        else "null"
        if v is None
        else _JSON.encode(v)
        for v in values
    ]


def hash_encoded(encoded: str) -> str:
    return hashlib.blake2b(encoded.encode(), digest_size=16).hexdigest()


def content_hash(data: dict[str, Any]) -> str:
    """Hash of a record's content (its encoded data), for caches keyed by content."""
    return hash_encoded(encode(data))


def positions(session: Session, project: Project, ids: list[int]) -> dict[int, int | None]:
    """Each record's 1-based position in its project (in id order), which names a record
    for its users where the project has no primary key; ``None`` each where it has one (the
    key names it). The ids in ascending order, each counting only the records after the one
    before it: a page deep in the project scans the ids up to it once, not once per record
    (for a page or a few records, not for a whole project)."""
    if any(a.is_primary_key for a in projects.attributes(session, project)):
        return dict.fromkeys(ids)
    visible = projects.visible_records(session, project)
    found: dict[int, int | None] = {}
    position, after = 0, 0
    for i in sorted(set(ids)):
        between = (
            select(func.count()).select_from(Record).where(visible, Record.id.between(after + 1, i))
        )
        position += session.scalar(between) or 0
        found[i], after = position, i
    return {i: found[i] for i in ids}


def token_offsets(session: Session, record_id: int, attribute_id: int) -> bytes | None:
    """The token offsets of a record's text value (None when it has no text there)."""
    return session.scalar(
        select(RecordText.offsets).where(
            RecordText.record_id == record_id, RecordText.attribute_id == attribute_id
        )
    )


def parse_value(attribute: Attribute, raw: str) -> Any:
    """A value typed on the command line, converted to the attribute's type."""
    try:
        if attribute.data_type == "integer":
            return int(raw)
        if attribute.data_type == "float":
            return float(raw)
        if attribute.data_type == "boolean":
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return lowered in ("true", "1")
    except ValueError as exc:
        raise ValidationError(
            f"{raw!r} is not a valid {attribute.data_type} for attribute {attribute.name!r}",
            attribute=attribute.name,
        ) from exc
    return raw


def resolve(session: Session, project: Project, ref: str | int) -> Record:
    """A record named by its internal id (``123``) or its key (``col=value,col=value``)."""
    if isinstance(ref, int) or ref.strip().isdecimal():
        # Ten digits cover the ids (and int() refuses strings of thousands).
        digits = str(ref).strip()
        number = int(digits) if len(digits) <= len(str(MAX_ID)) else MAX_ID + 1
        record = session.get(Record, number) if can_be_id(number) else None
        if record is None or record.project_id != project.id:
            raise NotFound(f"project {project.name!r} has no record with id {ref}", record=ref)
        return record
    pairs = {}
    for part in str(ref).split(","):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValidationError(
                f"cannot read record reference {ref!r}: use an id or col=value[,col=value]",
                record=str(ref),
            )
        pairs[name.strip()] = value
    key_attributes = projects.primary_key(session, project)
    if not key_attributes:
        raise ValidationError(
            f"project {project.name!r} has no primary key; name records by their id",
            record=str(ref),
        )
    names = [a.name for a in key_attributes]
    if sorted(pairs) != sorted(names):
        raise ValidationError(
            f"record reference {ref!r} must name the primary key {', '.join(names)}",
            record=str(ref),
        )
    key = canonical_key([parse_value(a, pairs[a.name]) for a in key_attributes])
    found = session.scalar(select(Record).where(Record.project_id == project.id, Record.key == key))
    if found is None:
        raise NotFound(f"project {project.name!r} has no record {ref}", record=str(ref))
    return found
