"""``assay models train|list|show|promote|rollback|export``, ``assay predict`` and ``assay
review``, in-process, on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_cli import Run, run  # noqa: F401  (the fixture)

from assay import Workbench
from assay.services import samples


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _label(run: Run, tmp_path: Path, n: int = 300) -> None:  # noqa: F811
    """The sample ``cb`` with the gold clickbait label of its first ``n`` records, by hand."""
    run("sample", "clickbait", "--project", "cb")
    rows = [f"{a['running_id']},clickbait,{a['clickbait']},ann" for a in samples.gold()[:n]]
    labels = tmp_path / "labels.csv"
    labels.write_text("key,task,label,annotator\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run("annotate", str(labels), "-p", "cb")


def test_train_list_show_promote_rollback_export(
    run: Run,  # noqa: F811
    wb: Workbench,
    tmp_path: Path,
) -> None:
    _label(run, tmp_path)
    _, err = run("predict", "-p", "cb", "-t", "clickbait", "a headline", code=1)
    assert err.startswith("error: task 'clickbait'") and "no live model" in err
    _, err = run("models", "show", "-p", "cb", "-t", "clickbait", code=1)
    assert "no live model" in err

    out, _ = run("models", "train", "-p", "cb", "-t", "clickbait", "-a", "tfidf-logreg")
    [first] = _lines(out)
    assert (first["version"], first["status"], first["algorithm"]) == (1, "live", "tfidf-logreg")
    assert first["decision"]["promoted"] is True
    assert set(first["metrics"]) == {"macro_f1", "accuracy", "test_records"}
    out, _ = run("models", "train", "-p", "cb", "-t", "clickbait", "--algorithm", "tfidf-nb")
    [second] = _lines(out)
    assert second["version"] == 2 and second["decision"]["live_version"] == 1
    assert second["status"] == ("live" if second["decision"]["promoted"] else "candidate")

    out, _ = run("models", "list", "-p", "cb", "-t", "clickbait")
    listed = _lines(out)
    assert [v["version"] for v in listed] == [2, 1]
    assert listed[1]["metrics"] == first["metrics"]

    out, _ = run("models", "promote", "-p", "cb", "-t", "clickbait", "--version", "2")
    promoted = {k: v for k, v in second.items() if k != "decision"}
    assert _lines(out) == [{**promoted, "status": "live"}]
    out, _ = run("models", "show", "-p", "cb", "-t", "clickbait")
    shown = json.loads(out)
    assert (shown["version"], shown["status"]) == (2, "live")
    assert shown["metrics"]["per_label"].keys() == {"yes", "no"}
    out, _ = run("models", "rollback", "-p", "cb", "-t", "clickbait")
    assert _lines(out)[0]["version"] == 1
    out, _ = run("models", "show", "-p", "cb", "-t", "clickbait", "-v", "2")
    assert json.loads(out)["status"] == "retired"
    _, err = run("models", "show", "-p", "cb", "-t", "clickbait", "-v", "9", code=1)
    assert "no model version 9" in err

    target = tmp_path / "v2.assay-model"
    out, _ = run(
        "models", "export", "-p", "cb", "-t", "clickbait", "--version", "2", "--output",
        str(target),
    )  # fmt: skip
    assert json.loads(out) == {"version": 2, "output": str(target), "bytes": target.stat().st_size}
    assert target.read_bytes() == wb.export_model("cb", "clickbait", 2)


def test_predict_and_review(run: Run, wb: Workbench, tmp_path: Path) -> None:  # noqa: F811
    _label(run, tmp_path)
    wb.update_model_settings("cb", "clickbait", audit_share=0.0)
    run("models", "train", "-p", "cb", "-t", "clickbait", "-a", "tfidf-logreg")
    texts = ["You Won't Believe What This Cat Did", "Senate passes the budget", "Why cats purr"]
    out, _ = run("predict", "-p", "cb", "-t", "clickbait", *texts)
    predicted = _lines(out)
    assert len(predicted) == 3
    for line in predicted:
        assert set(line) == {"label", "confidence", "model_version", "prediction_id"}
        assert line["label"] in ("yes", "no") and line["model_version"] == 1
    # Predictions of stored records (the API's store: true) make manual labels when reviewed.
    records = [{"running_id": 90_000 + i, "headline": text} for i, text in enumerate(texts)]
    stored = wb.predict("cb", "clickbait", records=records, store=True)["predictions"]

    out, _ = run("review", "-p", "cb", "-t", "clickbait")
    pending = _lines(out)
    ids = [p["id"] for p in pending]  # oldest call first
    assert set(ids[:3]) == {p["prediction_id"] for p in predicted}
    assert set(ids[3:]) == {p["prediction_id"] for p in stored}
    answers = zip(predicted, texts, strict=True)
    by_id = {p["prediction_id"]: (text, p["label"]) for p, text in answers}
    assert all(by_id[p["id"]] == (p["text"], p["label"]) for p in pending[:3])
    out, _ = run("review", "-p", "cb", "-t", "clickbait", "--limit", "2")
    assert len(_lines(out)) == 2
    out, _ = run("review", "-p", "cb", "-t", "clickbait", "--all", "--limit", "2")
    assert len(_lines(out)) == 6

    accept, reject, correct = (p["prediction_id"] for p in stored)
    out, _ = run("review", "-p", "cb", "-t", "clickbait", "--accept", accept, "--reviewer", "rev")
    assert (json.loads(out)["status"], json.loads(out)["reviewer"]) == ("accepted", "rev")
    out, _ = run("review", "-p", "cb", "-t", "clickbait", "--reject", reject, "--reviewer", "rev")
    assert json.loads(out)["status"] == "rejected"
    other = "no" if stored[2]["label"] == "yes" else "yes"
    out, _ = run(
        "review", "-p", "cb", "-t", "clickbait", "--correct", correct, "--label", other,
        "--reviewer", "rev",
    )  # fmt: skip
    assert (json.loads(out)["status"], json.loads(out)["given"]) == ("corrected", other)
    _, err = run("review", "-p", "cb", "-t", "clickbait", "--accept", accept, code=1)
    assert "already reviewed" in err

    out, _ = run("review", "-p", "cb", "-t", "clickbait")
    assert len(_lines(out)) == 3  # the texts' predictions wait on
    out, _ = run("review", "-p", "cb", "-t", "clickbait", "--status", "all", "--all")
    statuses = sorted(p["status"] for p in _lines(out))
    assert statuses == ["accepted", "corrected", "pending", "pending", "pending", "rejected"]

    record_id = stored[2]["record_id"]
    assert record_id is not None
    corrected = wb.get_record("cb", record_id)
    manual = [
        (a["label"], a["annotator"])
        for a in corrected["labels"]["clickbait"]["annotations"]
        if a["source"] == "manual"
    ]
    assert manual == [(other, "rev")]
    _, err = run(
        "review", "-p", "cb", "-t", "clickbait", "--accept", accept, "--reject", reject, code=1
    )
    assert "one prediction at a time" in err
