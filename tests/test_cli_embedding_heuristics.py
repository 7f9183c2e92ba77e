"""``assay heuristics add --kind active-learner | zero-shot``, in-process, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import Run, run  # noqa: F401  (the fixture)

from assay.services import samples


def test_add_active_learner_and_zero_shot(run: Run, tmp_path: Path) -> None:  # noqa: F811
    run("sample", "clickbait", "--project", "cb")
    run("embed", "-p", "cb", "--attribute", "headline")
    labels = tmp_path / "labels.csv"
    rows = [
        f"running_id={a['running_id']},clickbait,{a['clickbait']},ann" for a in samples.gold()[:30]
    ]
    labels.write_text("key,task,label,annotator\n" + "\n".join(rows) + "\n")
    run("annotate", str(labels), "-p", "cb")

    add = ("heuristics", "add", "-p", "cb", "--task", "clickbait")
    out, _ = run(
        *add,
        "--kind",
        "active-learner",
        "--embedding",
        "headline-tfidf-svd",
        "--classifier",
        "random-forest",
        "--min-confidence",
        "0.7",
    )
    added = json.loads(out)
    assert added["kind"] == "active_learner" and "RandomForestClassifier" in added["code"]
    assert "min_confidence = 0.7" in added["code"]
    out, _ = run("heuristics", "run", "-p", "cb", "--all")
    result = json.loads(out)["heuristics"][added["name"]]
    assert result["ran"] == 1400 and result["model"]["trained_on"] == 30

    # An edited copy from a file.
    code = tmp_path / "learner.py"
    code.write_text(added["code"].replace("0.7", "0.9"))
    out, _ = run(
        *add,
        "--kind",
        "active-learner",
        "--embedding",
        "headline-tfidf-svd",
        "--name",
        "mine",
        "--file",
        str(code),
    )
    assert "min_confidence = 0.9" in json.loads(out)["code"]

    _, err = run(*add, "--kind", "zero-shot", "--embedding", "headline-tfidf-svd", code=1)
    assert "does not place texts by meaning" in err
    _, err = run(*add, "--kind", "active-learner", code=1)
    assert "--embedding" in err
    _, err = run(
        *add,
        "--kind",
        "zero-shot",
        "--embedding",
        "headline-tfidf-svd",
        "--describe",
        "no-equals-sign",
        code=1,
    )
    assert "LABEL=TEXT" in err or "KEY=VALUE" in err
