"""Sample projects that ship with assay.

``clickbait``: 1,400 short headlines written for assay (see ``assay/samples/README.md``).
Variant ``initial`` holds the data and the two tasks of the first-hour story; ``finished``
applies the story's steps through the services themselves: renaming the labels, labeling 25
records by hand (spans included, which fill the lookup lists), then (``Workbench``) adding
:data:`STORY_HEURISTICS`, an embedding and an active learner on it, running them in the
sandbox and a weak-supervision run. Gold answers
are kept apart, for scoring.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from assay.errors import NotFound, ValidationError
from assay.services import annotating, importing, projects, records, tasks, tokens
from assay.services.files import table_from_records
from assay.storage.models import Project

SAMPLES = ("clickbait",)
VARIANTS = ("initial", "finished")
# Steps 9, 10 and 12 of the story: (task, name, code), run in the sandbox like any heuristic.
STORY_HEURISTICS = (
    (
        "clickbait",
        "starts_with_digit",
        "def starts_with_digit(record):\n"
        '    if record["headline"][0].text[0].isdigit():\n'
        '        return "clickbait"\n',
    ),
    (
        "clickbait",
        "lookup_not_clickbait",
        "from knowledge import country_related\n\n\n"
        "def lookup_not_clickbait(record):\n"
        '    text = record["headline"].text.lower()\n'
        "    if any(term.lower() in text for term in country_related):\n"
        '        return "not clickbait"\n',
    ),
    (
        "clickbait",
        "question_words",
        "def question_words(record):\n"
        '    words = {token.text.lower() for token in record["headline"]}\n'
        '    if words & {"why", "what", "how"}:\n'
        '        return "clickbait"\n',
    ),
)
# Steps 5 and 11: an embedding of the headlines (the built-in embedder) and an active learner
# on it, from its template.
STORY_EMBEDDING = ("headline", "tfidf-svd")
STORY_ACTIVE_LEARNER = ("clickbait", "active_learner")
STORY_ANNOTATOR = "sample-annotator"
STORY_LABELED = 25
RENAMES = {"yes": "clickbait", "no": "not clickbait"}


def _lines(name: str) -> list[dict[str, Any]]:
    text = resources.files("assay.samples").joinpath(name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def data(sample: str = "clickbait") -> list[dict[str, Any]]:
    _check(sample)
    return _lines(f"{sample}.jsonl")


def gold(sample: str = "clickbait") -> list[dict[str, Any]]:
    """Gold answers (kept outside the project data): a label and character spans per record."""
    _check(sample)
    return _lines(f"{sample}_gold.jsonl")


def _check(sample: str) -> None:
    if sample not in SAMPLES:
        raise NotFound(f"no sample project {sample!r} (samples: {', '.join(SAMPLES)})")


def create(
    session: Session,
    sample: str = "clickbait",
    variant: str = "initial",
    name: str | None = None,
) -> Project:
    _check(sample)
    if variant not in VARIANTS:
        raise ValidationError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    project_name = name or (sample if variant == "initial" else f"{sample}-{variant}")
    table = table_from_records(f"sample {sample}", data(sample))
    importing.import_table(
        session, project_name, table, importing.ImportOptions(primary_key=["running_id"])
    )
    project = projects.get(session, project_name)
    project.description = "Short news headlines, some of them clickbait (assay sample project)."
    tasks.create(session, project, "clickbait", "classification", labels=["yes", "no"])
    tasks.create(
        session,
        project,
        "entities",
        "extraction",
        attribute="headline",
        labels=["clickbait_expression", "country_related"],
    )
    if variant == "finished":
        _apply_story(session, project, sample)
    return project


def _apply_story(session: Session, project: Project, sample: str) -> None:
    """Steps 6-7 of the first-hour story: rename the labels, label 25 records by hand."""
    clickbait = tasks.get(session, project, "clickbait")
    for old, new in RENAMES.items():
        tasks.update_label(session, clickbait, old, new_name=new)
    entities = tasks.get(session, project, "entities")
    for answer in gold(sample)[:STORY_LABELED]:
        record = records.resolve(session, project, f"running_id={answer['running_id']}")
        annotating.add(session, record, clickbait, RENAMES[answer["clickbait"]], STORY_ANNOTATOR)
        assert entities.attribute_id is not None
        blob = records.token_offsets(session, record.id, entities.attribute_id)
        assert blob is not None
        for span in answer["entities"]:
            start, end = tokens.char_span_to_tokens(blob, span["start_char"], span["end_char"])
            annotating.add(
                session,
                record,
                entities,
                span["label"],
                STORY_ANNOTATOR,
                span=annotating.Span(start, end),
            )
