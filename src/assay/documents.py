"""The public shapes of assay, each defined once: the closed value sets (``Literal``s) and the
documents that the services build, the Workbench returns and the API serves as they are.

A document is a ``TypedDict``: plain JSON-able dicts for the Python API and the CLI, checked
by mypy where a service builds one, and taken by FastAPI as a ``response_model`` (so the
OpenAPI schema, and the web UI's generated client, carry every field and every enum).
This module imports nothing of assay.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, get_args

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

# --- closed value sets ---------------------------------------------------------------------------

TaskType = Literal["classification", "multi-label", "extraction"]
DataType = Literal["text", "category", "integer", "float", "boolean"]
HeuristicKind = Literal["labeling_function", "active_learner", "zero_shot", "model"]
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
EmbeddingState = Literal["queued", "running", "failed", "ready"]
EmbeddingLevel = Literal["attribute", "token"]
AnnotationSource = Literal["manual", "heuristic", "weak_supervision", "model"]
MANUAL: AnnotationSource = "manual"  # the source of labels that annotators give
ReferenceState = Literal["gold", "agreed", "conflict", "none"]
ManualState = Literal["none", "labeled", "conflict", "gold", "agreed"]
"""What the data browser filters on: a record's manual state for a task (labeled = gold or
agreed)."""
FilterOperator = Literal[
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "contains",
    "begins_with",
    "ends_with",
    "in",
    "between",
    "is_null",
]
LabelColumnSource = Literal["manual", "weak_supervision"]
"""The sources an import's label columns add labels as."""
SliceKind = Literal["dynamic", "static"]
CalculatedState = Literal["new", "stale", "ready"]
OutlierMethod = Literal["labeled", "density"]
ModelAlgorithm = Literal["auto", "tfidf-logreg", "tfidf-nb", "embedding-logreg"]
"""What training may be asked for; ``auto`` picks one of the others by cross-validation on the
training split."""
ModelStatus = Literal["candidate", "live", "retired"]
ModelMetric = Literal["macro_f1", "micro_f1", "accuracy"]
PredictionStatus = Literal["pending", "accepted", "rejected", "corrected"]
ReviewAction = Literal["accept", "reject", "correct"]
SelectionStrategy = Literal[
    "random", "coreset", "typical", "cluster", "uncertainty", "hybrid", "auto"
]
"""How ``select`` picks records to label next; ``auto`` picks ``typical`` while a task has few
manual labels and ``hybrid`` after (``coreset`` where no probabilities exist)."""
UncertaintyMeasure = Literal["margin", "least_confidence", "entropy"]
UncertaintySource = Literal["model", "weak_supervision", "heuristic"]
"""Where ``uncertainty`` and ``hybrid`` read probabilities: the task's live model, the weak
supervision's confidence, or an active learner (a heuristic, named by ``heuristic``)."""
RunKind = Literal["selection", "split", "quality", "duplicates"]
RunStatus = Literal["running", "done", "failed"]
DuplicateKind = Literal["exact", "lexical", "semantic"]
QualityList = Literal["label_error", "weak_disagreement", "annotator_disagreement"]


def values(closed: Any) -> tuple[str, ...]:
    """The values of a closed set, in order: ``values(TaskType)``."""
    return tuple(get_args(closed))


RecordPosition = Annotated[
    int | None,
    Field(
        description="the record's 1-based position in the project (id order), which names it "
        "where the project has no primary key; null where it has one (the key names it)"
    ),
]
Timestamp = Annotated[str, Field(description="ISO 8601, UTC")]

# --- the record query ----------------------------------------------------------------------------


@with_config(ConfigDict(extra="allow"))
class AttributeCondition(TypedDict):
    """A filter tree's condition on an attribute's value (docs/queries.md); other nodes
    (and, or, not, task, slice, ids, search) are objects of their own keys."""

    attribute: str
    op: NotRequired[Annotated[FilterOperator, Field(description="default eq")]]
    value: NotRequired[Any]
    case_sensitive: NotRequired[bool]
    negate: NotRequired[bool]


FilterTree = AttributeCondition | dict[str, Any]


class RecordQuery(BaseModel):
    """Which records, in which order, which page: the one set of parameters (and defaults)
    of a record query, for the API's body, the Python API and the CLI alike. The query
    service checks the values (a limit out of range is refused with where and why)."""

    where: FilterTree | None = Field(default=None, description="filter tree (docs/queries.md)")
    order_by: str = Field(
        default="id",
        description="id, random, an attribute name, or slice:NAME (a static slice's own "
        "order, e.g. an outlier slice ranked)",
    )
    descending: bool = False
    seed: int = Field(default=0, description="seed of order_by=random")
    limit: int = Field(default=50, description="records per page, 1 to 1000")
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    offset: int | None = Field(default=None, description="skip this many (instead of a cursor)")
    with_labels: bool = Field(default=True, description="add each record's labels per task")


# --- projects, tasks, labels ---------------------------------------------------------------------


class LabelPublic(TypedDict):
    id: int
    name: str
    color: str
    hotkey: str | None


class TaskPublic(TypedDict):
    id: int
    name: str
    type: TaskType
    attribute: Annotated[str | None, Field(description="target attribute; null = the whole record")]
    labels: list[LabelPublic]


class AttributePublic(TypedDict):
    name: str
    data_type: DataType
    primary_key: bool
    position: int
    calculated: Annotated[bool, Field(description="computed by code (calculated)")]


class ProjectSummary(TypedDict):
    id: int
    name: str
    description: str
    language: str
    records: int
    tasks: int
    created_at: Timestamp
    updated_at: Timestamp


class ProjectPublic(TypedDict):
    id: int
    name: str
    description: str
    language: str
    records: int
    tasks: list[TaskPublic]
    attributes: list[AttributePublic]
    created_at: Timestamp
    updated_at: Timestamp


# --- records -------------------------------------------------------------------------------------


class RecordPublic(TypedDict):
    id: int
    key: Annotated[
        str | None, Field(description="the primary-key value as a JSON list; null without key")
    ]
    position: RecordPosition
    data: dict[str, Any]
    labels: NotRequired[
        Annotated[
            dict[str, dict[str, Any]],
            Field(
                description='with_labels: per task, {"manual": reference value or null} and, '
                'per other source, "<source>" and "<source>_confidence"'
            ),
        ]
    ]


class RecordPage(TypedDict):
    records: list[RecordPublic]
    total: Annotated[int, Field(description="exact number of matching records")]
    next_cursor: Annotated[str | None, Field(description="pass back as cursor for the next page")]


class Token(TypedDict):
    text: str
    start: Annotated[int, Field(description="character offset")]
    end: Annotated[int, Field(description="character offset, exclusive")]


class AnnotationPublic(TypedDict):
    id: int
    label: str
    source: AnnotationSource
    source_id: str
    source_name: Annotated[
        str | None,
        Field(
            description="the name of the heuristic that voted it (source heuristic); null for "
            "other sources"
        ),
    ]
    annotator: str
    start_token: int | None
    end_token: int | None
    confidence: float | None
    gold: bool
    created_at: Timestamp


class Reference(TypedDict):
    state: ReferenceState
    value: Annotated[
        Any,
        Field(
            description="a label name; a list of names (multi-label); a list of "
            "{label, start_token, end_token} (extraction); null"
        ),
    ]


class TaskLabels(TypedDict):
    reference: Reference
    annotations: list[AnnotationPublic]


class RecordDetail(TypedDict):
    id: int
    key: str | None
    position: RecordPosition
    data: dict[str, Any]
    tokens: Annotated[dict[str, list[Token]], Field(description="per text attribute")]
    labels: Annotated[dict[str, TaskLabels], Field(description="per task")]


class SlicePublic(TypedDict):
    id: int
    name: str
    kind: SliceKind
    filter: dict[str, Any] | None
    records: int
    created_at: Timestamp


# --- search --------------------------------------------------------------------------------------


class ScoredRecord(TypedDict):
    id: int
    key: str | None
    position: RecordPosition
    score: Annotated[float, Field(description="similarity (search) or outlier score, higher first")]
    data: dict[str, Any]


class SimilarResult(TypedDict):
    embedding: str
    threshold: Annotated[
        float, Field(description="the threshold applied (the embedder's by default)")
    ]
    records: Annotated[
        list[ScoredRecord], Field(description="best first; the query record left out")
    ]


class OutlierResult(TypedDict):
    embedding: str
    method: Annotated[
        OutlierMethod,
        Field(
            description="labeled: distance to the manually labeled records (left out); "
            "density: mean distance to the 10 nearest records (before any manual label)"
        ),
    ]
    records: list[ScoredRecord]


# --- jobs ----------------------------------------------------------------------------------------


class JobPublic(TypedDict):
    id: int
    kind: str
    project_id: int | None
    status: JobStatus
    progress: float
    message: str | None
    error: str | None
    result: Any
    created_at: Timestamp
    started_at: str | None
    finished_at: str | None


# --- import previews -----------------------------------------------------------------------------


class PreviewColumn(TypedDict):
    name: str
    data_type: Annotated[
        DataType | None, Field(description="the inferred type; null where inference failed")
    ]
    problem: Annotated[str | None, Field(description="why no type could be inferred")]


class PreviewLabelColumn(TypedDict):
    name: str
    task: str
    attribute: str | None
    source: LabelColumnSource
    labels: Annotated[int, Field(description="rows with a value in this column")]


class ImportAddition(TypedDict):
    """What adding a file to an existing project changes, before it is imported."""

    project: str
    primary_key: Annotated[
        list[str], Field(description="the project's key; empty: every row is new")
    ]
    records_new: Annotated[
        int | None, Field(description="rows that become new records (null: problem)")
    ]
    records_updated: Annotated[
        int | None,
        Field(description="rows whose primary key an existing record has: they update it"),
    ]
    attributes_new: Annotated[list[str], Field(description="columns that become new attributes")]
    tasks_new: Annotated[list[str], Field(description="label columns' tasks the project lacks")]
    annotator: Annotated[
        str, Field(description="the annotator that manual label columns are added as")
    ]
    weak_supervision_source: Annotated[
        str,
        Field(
            description="the source that weak-supervision columns are added as, beside the "
            "project's own weak supervision"
        ),
    ]
    problem: Annotated[
        str | None, Field(description="why the import would be refused (null: none)")
    ]


class FilePreview(TypedDict):
    source: str
    rows: Annotated[int, Field(description="rows in the file")]
    columns: Annotated[list[PreviewColumn], Field(description="attribute columns, in file order")]
    label_columns: Annotated[
        list[PreviewLabelColumn],
        Field(description="columns in the refinery label style: they become labeling tasks"),
    ]
    head: Annotated[list[dict[str, Any]], Field(description="the first rows, values as read")]
    addition: Annotated[
        ImportAddition | None,
        Field(description="with a project: what adding the file to it changes"),
    ]


# --- statistics ----------------------------------------------------------------------------------


class ManualProgress(TypedDict):
    records: Annotated[int, Field(description="records in scope")]
    labeled: Annotated[int, Field(description="records with a reference label (gold + agreed)")]
    gold: int
    agreed: int
    conflict: Annotated[int, Field(description="annotators disagree and no gold label decides")]
    none: Annotated[int, Field(description="no manual label")]


class LabelCount(TypedDict):
    label: str
    manual: Annotated[int, Field(description="reference manual labels")]
    weak_supervision: int


class ConfidenceHistogram(TypedDict):
    source: AnnotationSource
    bins: Annotated[
        list[int],
        Field(description="labels per confidence bin: [0, 0.1), [0.1, 0.2), ... [0.9, 1]"),
    ]
    without_confidence: int


class ConfusionMatrix(TypedDict):
    labels: list[str]
    counts: Annotated[
        list[list[int]],
        Field(description="records per (reference label: row, weak-supervision label: column)"),
    ]
    records: Annotated[int, Field(description="records with both a reference and a weak label")]


class AnnotatorCount(TypedDict):
    annotator: str
    records: Annotated[int, Field(description="records this annotator labeled (gold labels aside)")]


class PairAgreement(TypedDict):
    annotator_a: str
    annotator_b: str
    items: Annotated[int, Field(description="records both labeled")]
    percent_agreement: Annotated[
        float, Field(description="share of those with equal values, 0 to 1")
    ]
    kappa: Annotated[float | None, Field(description="Cohen's kappa; null where undefined")]


class Agreement(TypedDict):
    items: Annotated[int, Field(description="records labeled by two or more annotators")]
    annotators: list[str]
    pairs: Annotated[
        list[PairAgreement], Field(description="pairs with at least one record in common")
    ]
    alpha: Annotated[
        float | None, Field(description="Krippendorff's alpha (nominal); null if undefined")
    ]


class Conflicts(TypedDict):
    count: int
    where: Annotated[dict[str, Any], Field(description="the filter tree that lists them")]


class TaskStatistics(TypedDict):
    project: str
    task: str
    task_type: TaskType
    slice: str | None
    records: Annotated[int, Field(description="records in scope (the project's, or the slice's)")]
    progress: ManualProgress
    distribution_unit: Annotated[
        Literal["records", "spans"],
        Field(description="what distribution counts: records, or spans (extraction)"),
    ]
    distribution: Annotated[list[LabelCount], Field(description="per label of the task, in order")]
    weakly_supervised: Annotated[int, Field(description="records with a weak-supervision label")]
    confidence: Annotated[list[ConfidenceHistogram], Field(description="per non-manual source")]
    confusion: Annotated[ConfusionMatrix | None, Field(description="classification tasks only")]
    annotators: list[AnnotatorCount]
    agreement: Agreement
    conflicts: Conflicts


# --- lookup lists --------------------------------------------------------------------------------


class LookupListPublic(TypedDict):
    id: int
    name: str
    module: Annotated[
        str, Field(description="its name in labeling functions: from knowledge import …")
    ]
    description: str
    version: Annotated[int, Field(description="bumped by every change of the terms")]
    terms: int
    blacklisted: int
    updated_at: Timestamp
    changed: NotRequired[
        Annotated[
            dict[str, int],
            Field(description="after a change: what it did (added, blacklisted, removed, ...)"),
        ]
    ]


class LookupEntry(TypedDict):
    term: str
    blacklisted: bool


class LookupListDetail(LookupListPublic):
    entries: list[LookupEntry]


# --- heuristics ----------------------------------------------------------------------------------


class HeuristicPublic(TypedDict):
    id: int
    name: str
    task: str
    kind: HeuristicKind
    description: str
    code: str
    code_version: int
    last_run: Annotated[
        dict[str, Any] | None,
        Field(
            description="code_version, records (all of the run), ran (records the code ran "
            "on), cached (records served from the result cache), records_with_votes, votes, "
            "seconds, finished_at; a model heuristic's also model (version, version_id, "
            "algorithm)"
        ),
    ]
    stale: Annotated[bool, Field(description="the stored votes come from an older code version")]
    statistics: Annotated[
        dict[str, Any] | None,
        Field(
            description="coverage, records, hits, overlaps, conflicts, true_positives, "
            "false_positives, false_negatives, precision, interval (95% Wilson), labels; a "
            "model heuristic's true/false positives only on the task's test split"
        ),
    ]
    embedding: Annotated[
        str | None, Field(description="active learner, zero-shot: the embedding it reads")
    ]
    config: Annotated[
        dict[str, Any] | None,
        Field(
            description="active learner: classifier, folds; zero-shot: its settings; model: "
            "version (it last voted with), live_version"
        ),
    ]
    created_at: Timestamp
    updated_at: Timestamp


class TryResult(TypedDict):
    record_id: int
    position: RecordPosition
    data: dict[str, Any]
    value: Any
    output: str


class TryFailure(TypedDict):
    record_id: int | None
    error: str
    traceback: str
    output: str


class HeuristicTryResult(TypedDict):
    results: list[TryResult]
    failures: list[TryFailure]
    error: Annotated[str | None, Field(description="why the run failed (null when it worked)")]
    votes: Annotated[
        int, Field(description="how many of the results are votes (the others abstain)")
    ]


class WeakSupervisionHeuristic(TypedDict):
    id: int
    name: Annotated[str, Field(description="its name at the time of the run")]
    code_version: Annotated[int, Field(description="the code version its votes came from")]
    ran_at: Annotated[str | None, Field(description="when the run that made those votes finished")]


class WeakSupervisionInfo(TypedDict):
    task: str
    task_type: TaskType
    model: str
    params: dict[str, Any]
    selection: Annotated[
        Literal["all", "named"],
        Field(description="all (every heuristic that had run) | named"),
    ]
    heuristics: list[str]
    used: list[WeakSupervisionHeuristic]
    records_with_votes: int
    labeled: Annotated[int, Field(description="records that got a weakly supervised label")]
    labels: Annotated[int, Field(description="labels stored (spans for extraction)")]
    ties: int
    finished_at: Timestamp
    seconds: Annotated[dict[str, float], Field(description="read_votes, fit, predict, store")]
    stale: Annotated[bool, Field(description="a heuristic ran, changed or went since")]
    stale_reasons: list[str]


# --- calculated attributes and the record IDE ----------------------------------------------------


class CalculatedPublic(TypedDict):
    name: str
    data_type: DataType
    position: int
    code: str
    code_version: int
    last_run: Annotated[
        dict[str, Any] | None,
        Field(description="code_version, records, with_value, last_record_id, finished_at"),
    ]
    state: Annotated[
        CalculatedState,
        Field(description="new (never run) | stale (code changed or records added since) | ready"),
    ]


class CalculatedTryRow(TypedDict):
    record_id: int
    position: RecordPosition
    data: dict[str, Any]
    value: Any
    output: str
    error: Annotated[
        str | None, Field(description="why the value does not fit the type (null: it does)")
    ]


class CalculatedTryResult(TypedDict):
    results: list[CalculatedTryRow]
    failures: list[TryFailure]
    error: Annotated[
        str | None, Field(description="why the run failed or how many values do not fit")
    ]


class TryRunCancel(TypedDict):
    cancel_key: str
    running: Annotated[
        bool,
        Field(
            description="whether the run was running (a cancel that comes first stops it as "
            "it starts); the run itself answers with error 'cancelled: ...'"
        ),
    ]


class SnippetResult(TypedDict):
    record_id: int
    key: str | None
    position: RecordPosition
    data: dict[str, Any]
    value: Annotated[
        str | None, Field(description="repr of what ide(record) returned (null: none)")
    ]
    output: Annotated[str, Field(description="what the snippet printed")]
    error: str | None
    traceback: str | None
    previous_id: Annotated[int | None, Field(description="the record before (by id); null: none")]
    next_id: int | None


# --- embeddings ----------------------------------------------------------------------------------


class EmbedderPublic(TypedDict):
    embedder: Annotated[str, Field(description="the spec to add an embedding with, e.g. tfidf-svd")]
    title: str
    semantic: Annotated[
        bool, Field(description="whether it places texts by meaning (not tfidf-svd)")
    ]


class EmbeddingPublic(TypedDict):
    id: int
    name: str
    attribute: str
    embedder: str
    semantic: Annotated[
        bool, Field(description="whether it places texts by meaning (not tfidf-svd)")
    ]
    level: EmbeddingLevel
    reducer: str | None
    dimensions: Annotated[int | None, Field(description="null until the first run finished")]
    state: Annotated[
        EmbeddingState,
        Field(
            description="queued | running | failed (before any finished run) | ready (vectors "
            "usable, also while a rerun runs and after one failed)"
        ),
    ]
    error: Annotated[str | None, Field(description="why the last run failed (null: it did not)")]
    last_run: Annotated[
        dict[str, Any] | None,
        Field(description="records, embedded, reused, resumed, seconds, version, refit"),
    ]
    job_id: Annotated[int | None, Field(description="the job that runs (or last ran) it")]
    created_at: Timestamp
    updated_at: Timestamp


# --- models: training, registry, serving, review -------------------------------------------------


class LabelFigures(TypedDict):
    precision: float
    recall: float
    f1: float
    support: Annotated[int, Field(description="test records with this label")]


class ReliabilityBin(TypedDict):
    lower: float
    upper: float
    count: int
    confidence: Annotated[float | None, Field(description="mean confidence (null: empty bin)")]
    accuracy: Annotated[float | None, Field(description="share correct (null: empty bin)")]


class ModelConfusion(TypedDict):
    labels: list[str]
    counts: Annotated[
        list[list[int]], Field(description="test records per (true label: row, predicted: column)")
    ]


class ModelMetrics(TypedDict):
    test_records: int
    accuracy: Annotated[
        float, Field(description="top-1 (classification) or exact set match (multi-label)")
    ]
    accuracy_interval: Annotated[list[float], Field(description="95 % Wilson score interval")]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    per_label: dict[str, LabelFigures]
    confusion: Annotated[ModelConfusion | None, Field(description="null for multi-label")]
    ece: Annotated[float, Field(description="expected calibration error")]
    reliability: list[ReliabilityBin]


class ModelDecision(TypedDict):
    promoted: bool
    reason: Annotated[str, Field(description="why it was or was not made live")]
    metric: ModelMetric
    candidate: Annotated[float | None, Field(description="the candidate's figure on the split")]
    live: Annotated[float | None, Field(description="the live version's figure on the same split")]
    live_version: int | None
    p_value: float | None


class ModelTraining(TypedDict):
    records: Annotated[int, Field(description="training records (test split excluded)")]
    manual: int
    weak: Annotated[int, Field(description="weakly supervised records added (with_weak)")]
    with_weak: Annotated[float | None, Field(description="the confidence threshold, if any")]
    fingerprint: Annotated[str, Field(description="sha256 of the training records and labels")]
    seconds: float
    cross_validation: Annotated[
        dict[str, float], Field(description="auto: each candidate's mean macro-F1")
    ]


class ModelTest(TypedDict):
    records: int
    fingerprint: Annotated[str, Field(description="sha256 of the test split's records")]


class ModelVersionPublic(TypedDict):
    task: str
    version: int
    status: ModelStatus
    algorithm: str
    requested: Annotated[str, Field(description="the algorithm asked for (auto, or the same)")]
    parameters: dict[str, Any]
    training: ModelTraining
    test: ModelTest
    metrics: ModelMetrics
    decision: Annotated[
        ModelDecision | None, Field(description="the promotion decision after training")
    ]
    size_bytes: int
    sha256: str
    job_id: int | None
    created_at: Timestamp
    promoted_at: Timestamp | None


class ModelEventPublic(TypedDict):
    version: int
    action: Annotated[str, Field(description="auto | promote | rollback")]
    reason: str
    at: Timestamp


class ModelSettings(TypedDict):
    retrain_after: Annotated[
        int, Field(description="train again after this many new manual labels (0: never)")
    ]
    audit_share: Annotated[
        float, Field(description="share of served predictions queued for a blind review")
    ]
    metric: ModelMetric
    alpha: Annotated[float, Field(description="significance of the paired test")]
    recall_margin: Annotated[
        float, Field(description="largest drop of any label's recall a promotion allows")
    ]
    test_fraction: float


class ModelsOverview(TypedDict):
    task: str
    live_version: int | None
    versions: list[ModelVersionPublic]
    history: list[ModelEventPublic]
    settings: ModelSettings


class PredictionItem(TypedDict):
    prediction_id: str
    label: Annotated[str | None, Field(description="classification: the predicted label")]
    labels: Annotated[
        list[str] | None, Field(description="multi-label: the labels above the threshold")
    ]
    confidence: float
    scores: dict[str, float]
    model_version: int
    record_id: Annotated[int | None, Field(description="the record (store: true, or given)")]


class PredictResult(TypedDict):
    task: str
    model_version: Annotated[int, Field(description="the one version that answered them all")]
    predictions: list[PredictionItem]


class PredictionPublic(TypedDict):
    id: str
    task: str
    model_version: int
    text: str
    record_id: int | None
    label: Annotated[
        str | list[str] | None,
        Field(description="the model's answer; null while an audit item is pending (blind)"),
    ]
    confidence: float | None
    scores: dict[str, float] | None
    audit: bool
    status: PredictionStatus
    given: Annotated[
        str | list[str] | None, Field(description="the reviewer's label(s), if they gave any")
    ]
    reviewer: str | None
    reviewed_at: Timestamp | None
    created_at: Timestamp


class PredictionPage(TypedDict):
    predictions: list[PredictionPublic]
    total: int
    next_cursor: Annotated[str | None, Field(description="pass back as cursor for the next page")]


class LiveAccuracy(TypedDict):
    task: str
    model_version: int | None
    reviewed: Annotated[int, Field(description="audit predictions of that version reviewed")]
    correct: int
    accuracy: float | None
    interval: Annotated[list[float] | None, Field(description="95 % Wilson score interval")]


# --- selection, splits, label quality, near-duplicates -------------------------------------------


class RunInfo(TypedDict):
    """A run of a selection, split, quality check or duplicate search (resumable, stored)."""

    id: int
    kind: RunKind
    status: RunStatus
    fingerprint: Annotated[str, Field(description="sha256 of the run's inputs and parameters")]
    params: dict[str, Any]
    reused: Annotated[
        bool, Field(description="a rerun on unchanged inputs: the stored result, returned at once")
    ]
    resumed_chunks: Annotated[
        int, Field(description="chunks read back from an interrupted run instead of recomputed")
    ]
    chunks: Annotated[int, Field(description="chunks the run's stored result is made of")]
    created_at: Timestamp
    finished_at: str | None


class LabelingSession(TypedDict):
    """Where the labeling suite opens on a result: the records of ``slice`` in its order."""

    slice: str
    where: dict[str, Any]
    order_by: str
    path: Annotated[str, Field(description="the web UI's labeling page on it")]


class SelectionResult(TypedDict):
    run: RunInfo
    strategy: SelectionStrategy
    used: Annotated[
        SelectionStrategy,
        Field(description="the strategy that picked the records (auto names its choice)"),
    ]
    reason: Annotated[str, Field(description="why auto chose it; empty for the others")]
    task: str | None
    embedding: str | None
    size: int
    pool: Annotated[int, Field(description="records the selection picked from")]
    slice: Annotated[str, Field(description="the static slice, in the selection's order")]
    session: LabelingSession
    records: Annotated[
        list[ScoredRecord], Field(description="the first 100 picked, best first, with scores")
    ]


class SplitSet(TypedDict):
    name: str
    records: int
    share: float
    labels: Annotated[dict[str, int], Field(description="records per label (manual reference)")]
    label_shares: dict[str, float]


class SplitDistance(TypedDict):
    """How far a set's embedding distribution is from the pool's, next to random splits."""

    name: str
    mmd: Annotated[float, Field(description="squared MMD to the pool (Gaussian kernel)")]
    random_median: Annotated[float, Field(description="the same for random sets of that size")]
    random_p95: float
    percentile: Annotated[
        float, Field(description="share of the random sets farther from the pool than this one")
    ]


class SplitReport(TypedDict):
    run: RunInfo
    task: str
    seed: int
    embedding: str | None
    records: Annotated[int, Field(description="labeled records split")]
    sets: list[SplitSet]
    distances: Annotated[list[SplitDistance], Field(description="empty without an embedding")]
    random_splits: Annotated[int, Field(description="random splits the distances are set against")]
    duplicate_groups: Annotated[int, Field(description="near-duplicate groups kept together")]
    duplicates_across_sets: Annotated[
        int, Field(description="groups whose records lie in more than one set (0)")
    ]


class QualityListSummary(TypedDict):
    list: QualityList
    slice: Annotated[str, Field(description="the ranked static slice, most suspect first")]
    count: int


class QualityResult(TypedDict):
    run: RunInfo
    task: str
    embedding: str | None
    lists: list[QualityListSummary]


class QualityFinding(TypedDict):
    id: int
    key: str | None
    position: RecordPosition
    rank: Annotated[int, Field(description="1: most suspect")]
    score: Annotated[float, Field(description="higher: more suspect")]
    given: Annotated[Any, Field(description="the label given (a name, or names)")]
    suggested: Annotated[Any, Field(description="the label suggested instead, if any")]
    data: dict[str, Any]


class QualityPage(TypedDict):
    run: RunInfo
    task: str
    list: QualityList
    slice: str
    total: int
    findings: list[QualityFinding]
    next_cursor: Annotated[str | None, Field(description="pass back as cursor for the next page")]


class DuplicateMember(TypedDict):
    id: int
    key: str | None
    position: RecordPosition
    labels: Annotated[
        dict[str, Any], Field(description="per task, the manual reference label (or null)")
    ]
    data: dict[str, Any]


class DuplicateGroup(TypedDict):
    group: int
    size: int
    mixed_labels: Annotated[bool, Field(description="its records carry different manual labels")]
    similarity: Annotated[
        float | None, Field(description="the lowest estimated similarity that joined it")
    ]
    records: list[DuplicateMember]


class DuplicatesResult(TypedDict):
    run: RunInfo
    kind: DuplicateKind
    attribute: str
    embedding: str | None
    threshold: float | None
    groups: int
    records: Annotated[int, Field(description="records in a group")]
    mixed: Annotated[int, Field(description="groups whose records carry different labels")]


class DuplicatesPage(DuplicatesResult):
    page: Annotated[list[DuplicateGroup], Field(description="largest groups first")]
    next_cursor: Annotated[str | None, Field(description="pass back as cursor for the next page")]
