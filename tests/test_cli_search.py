"""assay similar and assay outliers, in-process, against both databases."""

from __future__ import annotations

import json

from test_cli import Run, run  # noqa: F401  (the fixture)

from assay import Workbench


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_similar_and_outliers(run: Run, wb: Workbench) -> None:  # noqa: F811
    run("sample", "clickbait", "--project", "cb")
    assert wb.add_embedding("cb", "headline", wait=True)["status"] == "done"
    out, err = run("similar", "--project", "cb", "--record", "6", "--limit", "4")
    found = _lines(out)
    assert len(found) == 4 and all(isinstance(r["score"], float) for r in found)
    assert 6 not in [r["running_id"] for r in found]
    assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
    assert "at or above similarity 0.4 with headline-tfidf-svd" in err
    expected = wb.similar("cb", record="running_id=6", limit=4)["records"]
    assert [r["id"] for r in found] == [r["id"] for r in expected]
    same, _ = run("similar", "-p", "cb", "--record", "running_id=6", "--limit", "4",
                  "--embedding", "headline-tfidf-svd")  # fmt: skip
    assert same == out
    where = '{"attribute": "headline", "op": "contains", "value": "you"}'
    out, _ = run("similar", "-p", "cb", "--text", "museum artefacts", "--where", where,
                 "--threshold", "-1", "--limit", "30")  # fmt: skip
    assert len(_lines(out)) == 30
    assert all("you" in str(r["headline"]).casefold() for r in _lines(out))

    out, err = run("outliers", "-p", "cb", "--embedding", "headline-tfidf-svd", "--limit", "3")
    assert len(_lines(out)) == 3 and "method density" in err
    out, _ = run("outliers", "-p", "cb", "--embedding", "headline-tfidf-svd", "--slice",
                 "--limit", "3")  # fmt: skip
    made = json.loads(out)
    assert (made["name"], made["kind"], made["records"]) == (
        "outliers-headline-tfidf-svd", "static", 3,
    )  # fmt: skip


def test_similar_errors(run: Run) -> None:  # noqa: F811
    run("sample", "clickbait", "--project", "cb")
    _, err = run("similar", "-p", "cb", "--record", "6", code=1)
    assert "no ready embedding" in err
    _, err = run("similar", "-p", "cb", "--record", "6", "--where", "{bad", code=1)
    assert "--where is not valid JSON" in err
    run("projects", "create", "nokey")
    _, err = run("similar", "-p", "nokey", "--record", "6", code=1)
    assert "has no primary key" in err
