"""Heuristic kinds: what differs between a labeling function, an active learner, a
zero-shot heuristic and the task's live model, declared once per kind.

Every heuristic is a row of ``heuristic`` with a ``kind``; its votes, statistics, weak
supervision and runs are the same whatever the kind. A :class:`Kind` says the rest:

- **created**: the settings it takes and their defaults (``settings``, declared once), and
  how a new heuristic of it is checked and completed (:meth:`Kind.create`: its code, its
  ``config``, the embedding it reads, its default name);
- **changed**: new code (:meth:`Kind.check_code`), new settings (:meth:`Kind.update_config`),
  a renamed label (:meth:`Kind.rename_label`);
- **described**: what it adds to the heuristic's document (:meth:`Kind.describe`);
- **previewed**: what it votes on a few records, nothing stored (:meth:`Kind.preview`);
- **planned**: how it takes part in a run (:meth:`Kind.plan`): over partitions of records
  with the other labeling functions (None), or as a whole (:class:`WholeRun`);
- **measured**: the records whose manual labels its statistics compare its votes with
  (:meth:`Kind.statistics_records`): all of them (None), or only those outside what it
  learned from (a trained model's: its task's test split), where agreeing with a label is
  evidence.

The registry of kinds is ``heuristics.KINDS``; nothing else branches on a heuristic's kind.
This module imports no other service, so every kind's module can import it.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypedDict

import numpy as np
from sqlalchemy.orm import Session

from assay.errors import AssayError, ValidationError
from assay.runtime.executor import MapFunction
from assay.runtime.sandbox import Limits, Record, RecordResult, Sandbox
from assay.storage.models import Heuristic, LabelingTask, Project

Vote = tuple[int, str, int | None, int | None, float]  # record, label, start, end, confidence


class HeuristicNotRunnable(AssayError):
    """A heuristic that cannot run as things are (an active learner or zero-shot heuristic
    without a usable embedding, or with too few manual labels; a model heuristic of a task
    with no live model); the message says what to do."""

    status_code = 422
    code = "heuristic_not_runnable"


@dataclass
class Draft:
    """A heuristic about to be added, as its kind checks and completes it."""

    name: str | None
    code: str | None
    description: str
    settings: dict[str, Any]  # the kind's settings given (its defaults fill the rest)
    config: dict[str, Any] | None = None
    embedding_id: int | None = None


class KindFacts(TypedDict):
    """What a kind adds to a heuristic's document."""

    embedding: str | None  # the embedding it reads (None: none, or deleted)
    config: dict[str, Any] | None  # its settings


@dataclass(frozen=True)
class Tools:
    """What trying a heuristic on a few records needs besides the database."""

    box: Sandbox
    limits: Limits
    data_dir: Path


class WholeRun(Protocol):
    """A heuristic's part of a run computed as a whole (over its embedding), after the
    partitions of records."""

    @property
    def key(self) -> str:
        """What its votes depend on, hashed: the same key over the same records keeps them."""
        ...

    def votes(
        self, code: str, record_ids: np.ndarray, mapper: MapFunction, limits: Limits
    ) -> tuple[list[Vote], dict[str, Any]]:
        """Its votes on these records, and what its ``last_run`` adds (``model``)."""
        ...


class Kind:
    """A kind of heuristic. The defaults here are a labeling function's: code of its own,
    no settings, no embedding, run over the records."""

    name: ClassVar[str]  # as stored in ``heuristic.kind``
    noun: ClassVar[str]  # in messages: "an active learner"
    # The settings a new heuristic of the kind takes, with their defaults (None: computed).
    settings: ClassVar[Mapping[str, Any]] = {}

    def create(self, session: Session, project: Project, task: LabelingTask, draft: Draft) -> Draft:
        """Check a new heuristic of the kind and complete it (code, config, embedding,
        default name); raises ``ValidationError`` saying what is wrong."""
        return draft

    def check_code(self, heuristic: Heuristic, code: str) -> None:
        """Refuse new code where the kind has none."""

    def update_config(
        self, session: Session, heuristic: Heuristic, changes: Mapping[str, Any]
    ) -> bool:
        """Change the heuristic's settings; True when they changed."""
        raise ValidationError(
            f"the heuristic {heuristic.name!r} is {self.noun}: only zero-shot heuristics take "
            "settings (change its code)",
            heuristic=heuristic.name,
        )

    def rename_label(self, heuristic: Heuristic, old: str, new: str) -> bool:
        """Follow a renamed label: the string literals equal to ``old`` in the code become
        ``new`` (other text, comments and strings that merely contain it stay; code that
        does not tokenize stays as it is). True when the heuristic changed."""
        code = replace_literal(heuristic.code, old, new)
        if code == heuristic.code:
            return False
        heuristic.code = code
        return True

    def describe(self, session: Session, heuristic: Heuristic) -> KindFacts:
        """What the kind adds to the heuristic's document."""
        return KindFacts(embedding=None, config=heuristic.config)

    def preview(
        self,
        session: Session,
        project: Project,
        heuristic: Heuristic,
        records: list[Record],
        tools: Tools,
    ) -> list[RecordResult]:
        """What the heuristic votes on these records, and why; nothing is stored."""
        raise NotImplementedError

    def plan(self, session: Session, heuristic: Heuristic, data_dir: Path) -> WholeRun | None:
        """How the heuristic takes part in a run: None, its code runs over the records'
        partitions; else as a whole. Raises ``HeuristicNotRunnable`` when it cannot run."""
        return None

    def statistics_records(self, session: Session, heuristic: Heuristic) -> np.ndarray | None:
        """The ids of the records whose manual labels its statistics are measured on; None:
        every record's."""
        return None


def check_settings(kind: Kind, given: Mapping[str, Any]) -> dict[str, Any]:
    """The kind's settings: its defaults with ``given`` over them (None: the default);
    unknown ones refused."""
    given = {key: value for key, value in given.items() if value is not None}
    unknown = sorted(set(given) - set(kind.settings))
    if unknown:
        allowed = ", ".join(kind.settings) or "none"
        raise ValidationError(
            f"unknown config of {kind.noun}: {', '.join(unknown)} (it takes: {allowed})"
        )
    return {**kind.settings, **given}


def replace_literal(code: str, old: str, new: str) -> str:
    """The code with each string literal equal to ``old`` written as ``new``."""
    try:
        found = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    lines = code.splitlines(keepends=True)
    # Replace from the end, so earlier positions stay valid.
    for token in reversed(found):
        if token.type != tokenize.STRING or token.start[0] != token.end[0]:
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue
        if value != old:
            continue
        row, (start, end) = token.start[0] - 1, (token.start[1], token.end[1])
        # In the literal's own quotes: JSON's escapes are Python's too.
        literal = json.dumps(new, ensure_ascii=False) if token.string[-1] == '"' else repr(new)
        lines[row] = lines[row][:start] + literal + lines[row][end:]
    return "".join(lines)
