"""The schema. Alembic owns the tables (``assay/migrations``); this module describes them.

- ``project``; its ``attribute`` columns (a calculated one holds its code); ``record`` (JSON
  data, key, content hash) and ``record_text`` (case-folded text and token offsets per text
  value; on SQLite also indexed by the migrations' ``record_text_fts``).
- ``labeling_task`` and its ``label`` rows; ``annotation``: a label given to a record by a
  source (manual, heuristic, weak supervision), span and gold flag included;
  ``manual_state``: the reference manual label's state per record and task.
- ``data_slice`` (dynamic: a filter; static: its ``slice_record`` rows, in order).
- ``lookup_list`` and its ``lookup_term`` rows; ``heuristic`` (code, config, last run,
  statistics, result cache); ``embedding`` (its vectors live in the data dir); ``job``.
- The model loop: ``model_task`` (a task's settings, test-split salt, live version),
  ``split_record`` (each record's side of the test split), ``model_version`` (trained models
  with metrics and artifact), ``model_event`` (the live model's history) and ``prediction``.
- Curation: ``analysis_run`` (a resumable selection, split, quality or duplicates run, by the
  fingerprint of its inputs), its ``run_chunk`` results and ranked ``finding`` lists, and
  ``record_set`` (each record's set in the project's split).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")

MAX_ID = 2**31 - 1
"""The largest id a row can have: ids are INTEGER, which ends here on PostgreSQL (SQLite's
would reach 2**63 - 1). A larger id names no row; the databases refuse to even compare one."""


def can_be_id(number: int) -> bool:
    """Whether a number can be a row's id at all: a lookup of one that cannot finds nothing
    without asking the database (which would fail on it)."""
    return 0 < number <= MAX_ID


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


def core_table(model: type[Base]) -> Table:
    """The Core table of a model, for bulk inserts that skip the ORM's per-row work."""
    found: Table = model.__table__  # type: ignore[assignment]
    return found


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(20), default="en")
    # Set while an import job creates the project: hidden until that job commits.
    import_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attribute(Base):
    __tablename__ = "attribute"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    data_type: Mapped[str] = mapped_column(String(20))
    is_primary_key: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)
    # A calculated attribute's Python code (services/calculated.py); null: uploaded.
    code: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Bumped by every change of the code: a run remembers the version it came from.
    code_version: Mapped[int] = mapped_column(Integer, default=1)
    # The last finished run: code version, records, time (null: never run).
    last_run: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)


class Record(Base):
    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        Index("ix_record_project_id_id", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    # Canonical primary-key value (a JSON list); NULL when the project has no primary key.
    key: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    content_hash: Mapped[str] = mapped_column(String(64))
    # The import job that wrote the record; hidden while that job is staging. Not indexed:
    # an index entry per imported record costs more than scanning a project when a failed
    # import is removed.
    import_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RecordText(Base):
    """Case-folded text of each text/category value: one search semantics on every database;
    and, for a text value, its token offsets: int32 pairs (start, end), end exclusive.

    ``id`` only grows (AUTOINCREMENT on SQLite), so an entry of the SQLite substring index
    (``record_text_fts``, keyed by this id) never points at other text: entries of deleted
    rows simply match nothing.
    """

    __tablename__ = "record_text"
    __table_args__ = (
        UniqueConstraint("record_id", "attribute_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    attribute_id: Mapped[int] = mapped_column(ForeignKey("attribute.id", ondelete="CASCADE"))
    folded: Mapped[str] = mapped_column(Text)
    # Null for a category value, which is not tokenized.
    offsets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class LabelingTask(Base):
    __tablename__ = "labeling_task"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    task_type: Mapped[str] = mapped_column(String(20))
    attribute_id: Mapped[int | None] = mapped_column(
        ForeignKey("attribute.id", ondelete="CASCADE"), nullable=True
    )


class Label(Base):
    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("task_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("labeling_task.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    color: Mapped[str] = mapped_column(String(20))
    hotkey: Mapped[str | None] = mapped_column(String(5), nullable=True)


class Annotation(Base):
    __tablename__ = "annotation"
    __table_args__ = (
        Index("ix_annotation_record_task_source", "record_id", "task_id", "source"),
        Index("ix_annotation_task_label", "task_id", "label_id"),
        # Votes of a heuristic, or all of a source's labels of a task (migration 0007).
        Index(
            "ix_annotation_task_source", "task_id", "source", "source_id", "record_id", "label_id"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("labeling_task.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("label.id", ondelete="CASCADE"))
    # manual | heuristic | weak_supervision | model
    source: Mapped[str] = mapped_column(String(20))
    # Which heuristic/model/run produced it; "" for manual labels.
    source_id: Mapped[str] = mapped_column(String(200), default="")
    annotator: Mapped[str] = mapped_column(String(200), default="")
    span_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    span_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    # True on the manual rows that make up the record's reference label.
    is_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ManualState(Base):
    """State of the reference manual label of a (record, task): gold | agreed | conflict.

    No row means the record has no manual label for the task.
    """

    __tablename__ = "manual_state"
    __table_args__ = (Index("ix_manual_state_task_state", "task_id", "state"),)

    record_id: Mapped[int] = mapped_column(
        ForeignKey("record.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(10))


class DataSlice(Base):
    __tablename__ = "data_slice"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # dynamic | static
    filter: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SliceRecord(Base):
    __tablename__ = "slice_record"

    slice_id: Mapped[int] = mapped_column(
        ForeignKey("data_slice.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(
        ForeignKey("record.id", ondelete="CASCADE"), primary_key=True
    )
    # The record's place in the slice's own order (the order_by key ``slice:NAME``).
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Job(Base):
    __tablename__ = "job"
    # A job's id is never given again (a client may still poll it): AUTOINCREMENT on SQLite,
    # which otherwise reuses the highest id once that row is gone (a deleted project's jobs).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    # queued | running | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # True while the job's staged records may exist but must stay invisible.
    staging: Mapped[bool] = mapped_column(Boolean, default=False)
    # host:pid of the process running the job, so a job whose process died can be recovered.
    runner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LookupList(Base):
    __tablename__ = "lookup_list"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every change of the terms: cached heuristic results key on it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LookupTerm(Base):
    __tablename__ = "lookup_term"
    __table_args__ = (UniqueConstraint("list_id", "term"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lookup_list.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(500))
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Put there by a labeled span, not by hand: it leaves with the last manual span of its
    # label and text (services/lookup_lists.py). Adding it by hand or blacklisting it clears
    # the flag, and it stays.
    from_spans: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Embedding(Base):
    """Vectors of one text attribute by one embedder (services/embeddings.py). The vectors
    live in the data dir (``embeddings/<id>/``); this row names them and keeps their state."""

    __tablename__ = "embedding"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        UniqueConstraint("project_id", "attribute_id", "embedder", "level", "reducer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    attribute_id: Mapped[int] = mapped_column(ForeignKey("attribute.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # tfidf-svd | st:PACKAGE-OR-PATH | model2vec:PATH
    embedder: Mapped[str] = mapped_column(String(500))
    level: Mapped[str] = mapped_column(String(20), default="attribute")  # attribute | token
    reducer: Mapped[str | None] = mapped_column(String(40), nullable=True)  # e.g. pca-64
    dimensions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|ready|failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The last finished run: records, embedded, reused, seconds, version (null: never run).
    last_run: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # The job that runs (or last ran) it.
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    attribute: Mapped[Attribute] = relationship()


class Heuristic(Base):
    """A heuristic of a task (``kind``: a labeling function, an active learner or a zero-shot
    heuristic). Its votes are annotations with source ``heuristic`` and ``source_id`` its id."""

    __tablename__ = "heuristic"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("labeling_task.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="labeling_function")
    description: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(Text)
    # Bumped by every change of the code: a run remembers the version it came from.
    code_version: Mapped[int] = mapped_column(Integer, default=1)
    # The last finished run: code version, records, votes, time (null: never run).
    last_run: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # Per heuristic and label, against the reference manual labels (see algorithms).
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # The result cache of its votes: the last run's key and a digest per bucket of record
    # ids (services/heuristic_runs.py). Loaded only when a run asks for it.
    cache: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True, deferred=True)
    # Active learners and zero-shot heuristics: the embedding they read (null: none, or it
    # was deleted), and their settings (services/embedding_heuristics.py).
    embedding_id: Mapped[int | None] = mapped_column(
        ForeignKey("embedding.id", ondelete="SET NULL"), nullable=True
    )
    config: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    task: Mapped[LabelingTask] = relationship()


class ModelTask(Base):
    """A task's model loop (services/model_registry.py): its settings, its fixed test split's
    salt, the live version (the pointer serving processes watch), and the manual-label count
    at the last training (the retrain trigger counts from there). One row per task that ever
    trained, made on first use."""

    __tablename__ = "model_task"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    # The salt of the test split's hash: chosen once, so the split never changes.
    split_salt: Mapped[str] = mapped_column(String(64))
    test_fraction: Mapped[float] = mapped_column(Float, default=0.2)
    # Whether the first (stratified) draw was made: later records join by the hash rule.
    split_drawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # Settings: train again after this many new manual labels (0: never); the share of served
    # predictions queued for a blind review; promotion's metric, significance and recall margin.
    retrain_after: Mapped[int] = mapped_column(Integer, default=50)
    audit_share: Mapped[float] = mapped_column(Float, default=0.05)
    metric: Mapped[str] = mapped_column(String(20), default="macro_f1")
    alpha: Mapped[float] = mapped_column(Float, default=0.05)
    recall_margin: Mapped[float] = mapped_column(Float, default=0.05)
    # Manual labels of the task when the last training was queued.
    labels_at_training: Mapped[int] = mapped_column(Integer, default=0)
    live_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_version.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SplitRecord(Base):
    """A record's side of its task's test split, fixed the first time it is assigned: a record
    never moves from test to train or back."""

    __tablename__ = "split_record"
    __table_args__ = (Index("ix_split_record_task_test", "task_id", "in_test"),)

    task_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(
        ForeignKey("record.id", ondelete="CASCADE"), primary_key=True
    )
    in_test: Mapped[bool] = mapped_column(Boolean)


class ModelVersion(Base):
    """A trained model of a task, immutable once written but for its status: algorithm,
    parameters, the fingerprints of its training data and test split, metrics on that split,
    and its artifact (assay's own format of arrays + JSON, never a pickle; sha256 checked on
    every load)."""

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("task_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("labeling_task.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per task
    algorithm: Mapped[str] = mapped_column(String(40))
    # What was asked for (auto picks the algorithm).
    requested: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default="candidate")  # candidate|live|retired
    # records, manual, weak, with_weak, fingerprint, seconds, cross-validation scores
    training: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # records, fingerprint of the test split it was scored on
    test: Mapped[dict[str, Any]] = mapped_column(JsonType)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # Why it was or was not promoted (null: never compared).
    decision: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    artifact: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ModelEvent(Base):
    """The live model's history per task: each promotion (automatic or by hand) and rollback,
    with its reason; a rollback goes back along it."""

    __tablename__ = "model_event"
    __table_args__ = (
        Index("ix_model_event_task_id", "task_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("labeling_task.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))  # promote | auto | rollback
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Prediction(Base):
    """A prediction served by a model version, kept for review: pending until a reviewer
    accepts, rejects or corrects it. An audit prediction is reviewed blind (the model's
    answer hidden), which estimates the live accuracy. ``id`` is made by the server (32 hex
    digits: the prediction's place in its call, then random), so that a prediction is named
    before its row is written and a call's predictions keep their order in the queue."""

    __tablename__ = "prediction"
    __table_args__ = (Index("ix_prediction_task_status", "task_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("labeling_task.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # The record it was made for or stored as (store: true); null: a text only.
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("record.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    # A label name (classification) or a sorted list of names (multi-label).
    output: Mapped[Any] = mapped_column(JsonType)
    confidence: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict[str, float]] = mapped_column(JsonType)
    audit: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending | accepted | rejected | corrected
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # The reviewer's answer (corrected or blind audit labels), and who and when.
    given: Mapped[Any] = mapped_column(JsonType, nullable=True)
    reviewer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnalysisRun(Base):
    """One run of a selection, split, quality check or duplicate search
    (services/stored_runs.py), keyed by the fingerprint of its inputs and parameters: a rerun
    on unchanged inputs finds it ``done``; one whose process died finds it ``running`` and
    resumes from its stored chunks."""

    __tablename__ = "analysis_run"
    __table_args__ = (
        UniqueConstraint("project_id", "kind", "fingerprint"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # selection | split | quality | duplicates
    fingerprint: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RunChunk(Base):
    """The stored result of one chunk of a run (numpy arrays in ``np.savez`` bytes), written
    in its own transaction as soon as the chunk is done."""

    __tablename__ = "run_chunk"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("analysis_run.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Finding(Base):
    """A record in one of a run's ranked lists (``kind``: ``selection``, ``label_error``,
    ``weak_disagreement``, ``annotator_disagreement``, ``exact``, ``lexical``, ``semantic``),
    at its ``position`` (0 first: best, most suspect); duplicates carry their ``group_no``."""

    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_run_group", "run_id", "kind", "group_no"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("analysis_run.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    group_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The given label (a name or a list of names) and the one suggested instead.
    given: Mapped[Any] = mapped_column(JsonType, nullable=True)
    suggested: Mapped[Any] = mapped_column(JsonType, nullable=True)
    # A duplicate group whose records carry different manual labels.
    mixed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RecordSet(Base):
    """The named set of a record in its project's split (``train``, ``validation``,
    ``test``...): model training of every task trains on the records outside ``test`` and
    scores on those in it."""

    __tablename__ = "record_set"
    __table_args__ = (Index("ix_record_set_project_name", "project_id", "name"),)

    record_id: Mapped[int] = mapped_column(
        ForeignKey("record.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("analysis_run.id", ondelete="SET NULL"), nullable=True
    )
