"""Export in the refinery column style, round trips of records exports and project archives.

Every test runs on SQLite and on PostgreSQL (the ``wb`` fixture).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from assay import Conflict, ValidationError, Workbench

FORMATS = ["json", "jsonl", "csv", "parquet"]
SAMPLE = "clickbait-finished"


def _read(path: Path, fmt: str) -> list[dict[str, Any]]:
    """Rows of an export, with JSON cells (CSV, Parquet) decoded and empty CSV cells None."""
    if fmt == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            raw = list(csv.DictReader(handle))
    else:
        raw = pq.read_table(path).to_pylist()

    def cell(value: Any) -> Any:
        if value == "":
            return None
        if isinstance(value, str) and value.startswith("["):
            return json.loads(value)
        return value

    return [{k: cell(v) for k, v in row.items()} for row in raw]


def _labels(
    wb: Workbench, project: str, key: str, without: tuple[str, ...] = ()
) -> dict[Any, dict[str, Any]]:
    """Per key value: the record's data and, per task, its manual reference and other sources
    (except those ``without``)."""
    out: dict[Any, dict[str, Any]] = {}
    cursor = None
    while True:
        page = wb.query(project, None, with_labels=True, limit=1000, cursor=cursor)
        for r in page["records"]:
            labels = {
                task: {k: v for k, v in value.items() if k not in without}
                for task, value in r["labels"].items()
            }
            out[r["data"][key]] = {"data": r["data"], "labels": labels}
        cursor = page["next_cursor"]
        if cursor is None:
            return out


@pytest.fixture
def sample(wb: Workbench) -> str:
    return wb.create_sample("clickbait", "finished")["name"]


@pytest.fixture
def small(wb: Workbench, tmp_path: Path) -> str:
    """Three tasks, several annotators, a conflict, gold, and weak-supervision results."""
    rows = [
        {
            "id": 1,
            "headline": "Mike Tyson visits France",
            "n": 1.5,
            "__clickbait__WEAK_SUPERVISION": "no",
            "__clickbait__WEAK_SUPERVISION__confidence": 0.9,
            "__tags__WEAK_SUPERVISION": ["people", "sport"],
            "__tags__WEAK_SUPERVISION__confidence": 0.5,
        },
        {
            "id": 2,
            "headline": "You won't believe this trick",
            "n": None,
            "__clickbait__WEAK_SUPERVISION": "yes",
            "__clickbait__WEAK_SUPERVISION__confidence": 0.8,
            "__tags__WEAK_SUPERVISION": ["people"],
            "__tags__WEAK_SUPERVISION__confidence": 0.4,
        },
        {
            "id": 3,
            "headline": "Ten facts about Peru",
            "n": 3.0,
            "__clickbait__WEAK_SUPERVISION": None,
            "__clickbait__WEAK_SUPERVISION__confidence": None,
            "__tags__WEAK_SUPERVISION": None,
            "__tags__WEAK_SUPERVISION__confidence": None,
        },
    ]
    path = tmp_path / "small.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    wb.import_file(path, "small", primary_key=["id"])
    wb.add_task("small", "entities", "extraction", attribute="headline", labels=["person"])
    wb.add_label("small", "entities", "country", color="#ff0000", hotkey="c")
    wb.annotate("small", "id=1", "clickbait", "no", "ann")
    wb.annotate("small", "id=1", "tags", "sport", "ann")
    wb.annotate("small", "id=1", "tags", "people", "ann")
    wb.annotate("small", "id=1", "entities", "person", "ann", span=(0, 2))
    wb.annotate("small", "id=1", "entities", "country", "ann", span=(3, 4))
    wb.annotate("small", "id=2", "clickbait", "yes", "ann")
    wb.annotate("small", "id=2", "clickbait", "no", "bob")  # a conflict
    wb.annotate("small", "id=3", "clickbait", "no", "ann")
    wb.annotate("small", "id=3", "clickbait", "yes", "bob")
    wb.annotate("small", "id=3", "clickbait", "yes", "lead", gold=True)  # gold decides
    return "small"


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_columns_and_values(wb: Workbench, tmp_path: Path, small: str, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    assert wb.export(small, fmt, out)["records"] == 3
    rows = _read(out, fmt)
    assert list(rows[0]) == [
        "id",
        "headline",
        "n",
        "__clickbait__MANUAL",
        "__clickbait__WEAK_SUPERVISION",
        "__clickbait__WEAK_SUPERVISION__confidence",
        "__tags__MANUAL",
        "__tags__WEAK_SUPERVISION",
        "__tags__WEAK_SUPERVISION__confidence",
        "headline__entities__MANUAL",
    ]
    one, two, three = rows
    assert one["__clickbait__MANUAL"] == "no"
    assert one["__tags__MANUAL"] == ["people", "sport"]
    assert one["headline__entities__MANUAL"] == [
        {"label": "person", "start_token": 0, "end_token": 2, "text": "Mike Tyson"},
        {"label": "country", "start_token": 3, "end_token": 4, "text": "France"},
    ]
    assert two["__clickbait__MANUAL"] is None  # a conflict exports as null
    assert three["__clickbait__MANUAL"] == "yes"  # the gold label
    assert [r["__clickbait__WEAK_SUPERVISION"] for r in rows] == ["no", "yes", None]
    confidences = [r["__clickbait__WEAK_SUPERVISION__confidence"] for r in rows]
    assert [None if c is None else float(c) for c in confidences] == [0.9, 0.8, None]
    assert one["__tags__WEAK_SUPERVISION"] == ["people", "sport"]
    if fmt in ("json", "jsonl", "parquet"):  # typed formats keep numbers and nulls
        assert [r["id"] for r in rows] == [1, 2, 3]
        assert [r["n"] for r in rows] == [1.5, None, 3.0]
    else:
        assert [r["id"] for r in rows] == ["1", "2", "3"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_records_export_imports_back(wb: Workbench, tmp_path: Path, small: str, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    wb.export(small, fmt, out)
    result = wb.import_file(out, "back", primary_key=["id"])
    assert result["created"] == 3
    original, back = _labels(wb, small, "id"), _labels(wb, "back", "id")
    assert {k: v["data"] for k, v in back.items()} == {k: v["data"] for k, v in original.items()}
    for key, record in original.items():
        for task, entry in record["labels"].items():
            got = back[key]["labels"][task]
            assert got["manual"] == entry["manual"], (key, task)
            assert got.get("weak_supervision") == entry.get("weak_supervision"), (key, task)
            assert got.get("weak_supervision_confidence") == entry.get(
                "weak_supervision_confidence"
            )
    assert {t["name"]: t["type"] for t in wb.list_tasks("back")} == {
        t["name"]: t["type"] for t in wb.list_tasks(small)
    }
    # weak supervision comes back as weak supervision, not as manual labels
    one = wb.get_record("back", "id=1")["labels"]["clickbait"]
    assert sorted(a["source"] for a in one["annotations"]) == ["manual", "weak_supervision"]
    ws = wb.query("back", {"task": "tags", "source": "weak_supervision", "label": "people"})
    assert sorted(r["data"]["id"] for r in ws["records"]) == [1, 2]
    assert wb.query("back", {"task": "clickbait", "state": "conflict"})["total"] == 0
    assert wb.query("back", {"task": "clickbait", "state": "none"})["total"] == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_and_slice_export_round_trip(
    wb: Workbench, tmp_path: Path, sample: str, fmt: str
) -> None:
    out = tmp_path / f"sample.{fmt}"
    assert wb.export(sample, fmt, out)["records"] == 1400
    rows = _read(out, fmt)
    assert len(rows) == 1400
    assert list(rows[0]) == [
        "running_id",
        "headline",
        "__clickbait__MANUAL",
        "__clickbait__WEAK_SUPERVISION",  # the finished sample's weak-supervision run
        "__clickbait__WEAK_SUPERVISION__confidence",
        "headline__entities__MANUAL",
    ]
    labeled = [r for r in rows if r["__clickbait__MANUAL"] is not None]
    assert len(labeled) == 25
    assert {r["__clickbait__MANUAL"] for r in labeled} == {"clickbait", "not clickbait"}
    spans = [s for r in rows for s in r["headline__entities__MANUAL"] or []]
    assert spans and all(set(s) == {"label", "start_token", "end_token", "text"} for s in spans)
    first = rows[0]
    assert first["headline__entities__MANUAL"][0]["text"] == "Icelandic"

    wb.import_file(out, "back", primary_key=["running_id"])
    # Heuristic votes are not exported (refinery's columns): they stay behind.
    original = _labels(wb, sample, "running_id", without=("heuristic", "heuristic_confidence"))
    back = _labels(wb, "back", "running_id")
    assert len(back) == 1400
    assert back == original

    # a slice exports its records only, and they import back the same way
    wb.create_slice(sample, "labeled", {"task": "clickbait", "state": "labeled"})
    out = tmp_path / f"slice.{fmt}"
    assert wb.export(sample, fmt, out, slice_name="labeled")["records"] == 25
    rows = _read(out, fmt)
    assert len(rows) == 25
    assert all(r["__clickbait__MANUAL"] in ("clickbait", "not clickbait") for r in rows)
    wb.import_file(out, "slice", primary_key=["running_id"])
    in_slice = _labels(wb, "slice", "running_id")
    assert len(in_slice) == 25
    assert in_slice == {k: original[k] for k in in_slice}


def test_static_slice_and_export_errors(wb: Workbench, tmp_path: Path, small: str) -> None:
    ids = [wb.get_record(small, "id=3")["id"], wb.get_record(small, "id=1")["id"]]
    wb.create_slice(small, "picked", kind="static", record_ids=ids)
    out = tmp_path / "picked.jsonl"
    assert wb.export(small, "jsonl", out, slice_name="picked")["records"] == 2
    assert [r["id"] for r in _read(out, "jsonl")] == [1, 3]
    # an empty slice still writes a file with the columns
    wb.create_slice(small, "empty", {"attribute": "id", "value": 99})
    for fmt in FORMATS:
        empty = tmp_path / f"empty.{fmt}"
        assert wb.export(small, fmt, empty, slice_name="empty")["records"] == 0
        assert empty.exists()
    with (tmp_path / "empty.csv").open(encoding="utf-8") as handle:
        assert next(csv.reader(handle))[:4] == ["id", "headline", "n", "__clickbait__MANUAL"]
    assert pq.read_table(tmp_path / "empty.parquet").column_names[:3] == ["id", "headline", "n"]
    with pytest.raises(ValidationError, match="no rows"):
        wb.import_file(tmp_path / "empty.parquet", "nothing")
    with pytest.raises(ValidationError, match="unknown format 'xml'"):
        wb.export(small, "xml", tmp_path / "out.xml")
    with pytest.raises(ValidationError, match="drop --slice"):
        wb.export(small, "project", tmp_path / "p.assay.json", slice_name="picked")


# --- project archives -----------------------------------------------------------------------


def _renamed(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {**document, "project": {**document["project"], "name": name}}


def test_project_archive_round_trips_exactly(wb: Workbench, tmp_path: Path, sample: str) -> None:
    wb.add_task(sample, "topics", "multi-label", labels=["sport", "politics", "tech"])
    wb.update_label(sample, "topics", "tech", color="#123456", hotkey="t")
    wb.update_label(sample, "clickbait", "clickbait", color="#abcdef", hotkey="b")
    for rid, labels in {0: ["politics"], 1: ["politics", "tech"], 2: ["sport"]}.items():
        for label in labels:
            wb.annotate(sample, f"running_id={rid}", "topics", label, "ann")
    wb.annotate(sample, "running_id=1", "topics", "sport", "bob")
    wb.annotate(sample, "running_id=0", "clickbait", "clickbait", "bob")  # a conflict
    wb.annotate(sample, "running_id=2", "clickbait", "clickbait", "lead", gold=True)
    wb.annotate(sample, "running_id=3", "entities", "country_related", "bob", span=(0, 1))
    wb.annotate(
        sample, "running_id=3", "entities", "country_related", "lead", span=(0, 1), gold=True
    )
    wb.create_slice(sample, "dynamic", {"task": "clickbait", "state": "conflict"})
    wb.create_slice(sample, "static", kind="static", where={"search": "france"})
    ranked = [wb.get_record(sample, f"running_id={rid}")["id"] for rid in (9, 2, 5)]
    wb.create_slice(sample, "ranked", kind="static", record_ids=ranked)  # its order is kept
    wb.import_file(_ws_file(tmp_path), sample)
    wb.add_terms(sample, "clickbait phrases", ["you won't believe", "this is why"])
    wb.add_terms(sample, "clickbait phrases", ["top 10"], blacklisted=True)

    path = tmp_path / "sample.assay.json"
    assert wb.export(sample, "project", path)["records"] == 1400
    result = wb.import_file(path, "copy")
    assert result == {"project": "copy", "created": 1400}
    original, copy = wb.archive(sample), wb.archive("copy")
    assert copy == _renamed(original, "copy")
    assert len(original["annotations"]) > 60
    assert {a["annotator"] for a in original["annotations"]} >= {"ann", "bob", "lead"}
    assert any(a["gold"] for a in original["annotations"])
    assert any(a["source"] == "weak_supervision" for a in original["annotations"])
    assert {s["kind"] for s in original["slices"]} == {"static", "dynamic"}
    in_copy = wb.query("copy", {"slice": "ranked"}, order_by="slice:ranked")["records"]
    assert [r["data"]["running_id"] for r in in_copy] == [9, 2, 5]
    lists = {x["name"]: x["terms"] for x in original["lookup_lists"]}
    assert lists["clickbait phrases"] == [
        ["this is why", False, False],
        ["top 10", True, False],
        ["you won't believe", False, False],
    ]
    # A term a span put there is marked so, in the copy too: it leaves with the last span.
    assert any(from_spans for _, _, from_spans in lists["country_related"])
    assert set(lists) == {"clickbait phrases", "clickbait_expression", "country_related"}
    assert next(s["records"] for s in copy["slices"] if s["kind"] == "static")
    # what the copy shows matches, record by record
    assert _labels(wb, "copy", "running_id") == _labels(wb, sample, "running_id")
    assert wb.get_slice("copy", "dynamic")["records"] == 1
    assert wb.get_slice("copy", "static")["records"] == wb.get_slice(sample, "static")["records"]
    # the format can be named; a project name that exists is refused, nothing changes
    plain = tmp_path / "archive.json"
    wb.export(sample, "project", plain)
    wb.import_file(plain, "copy2", fmt="project")
    assert wb.archive("copy2") == _renamed(original, "copy2")
    with pytest.raises(Conflict, match="copy"):
        wb.import_file(path, "copy")
    assert wb.archive("copy") == copy


def _ws_file(tmp_path: Path) -> Path:
    path = tmp_path / "ws.jsonl"
    rows = [
        {
            "running_id": rid,
            "__clickbait__WEAK_SUPERVISION": label,
            "__clickbait__WEAK_SUPERVISION__confidence": conf,
        }
        for rid, label, conf in [(5, "clickbait", 0.7), (6, "not clickbait", 0.55)]
    ]
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    return path


def test_archive_of_a_bad_file(wb: Workbench, tmp_path: Path) -> None:
    path = tmp_path / "x.assay.json"
    path.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"x\.assay\.json: not an assay project archive"):
        wb.import_file(path, "p")
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValidationError, match="not a project archive"):
        wb.import_file(path, "p")
    assert wb.list_projects() == []


@pytest.mark.parametrize(
    ("where", "value", "location", "what"),
    [
        ("record", "a\x00b", "records[1].headline", "a NUL character (U+0000)"),
        ("record", float("inf"), "records[1].headline", "a non-finite number (inf)"),
        ("term", "a\x00b", "lookup_lists[0].terms[0][0]", "a NUL character (U+0000)"),
        ("annotator", "a\x00", "annotations[0].annotator", "a NUL character (U+0000)"),
        ("confidence", float("nan"), "annotations[0].confidence", "a non-finite number (nan)"),
    ],
)
def test_archive_with_what_a_database_cannot_store_is_refused(
    wb: Workbench, tmp_path: Path, small: str, where: str, value: Any, location: str, what: str
) -> None:
    """A SQLite project that holds a NUL (or an old one that holds infinity) must not become
    an archive that restores on SQLite only: refused on both, naming the place."""
    document = wb.archive(small)
    document["lookup_lists"] = [{"name": "l", "description": "", "terms": [["x", False]]}]
    target = {
        "record": (document["records"][1], "headline"),
        "term": (document["lookup_lists"][0]["terms"][0], 0),
        "annotator": (document["annotations"][0], "annotator"),
        "confidence": (document["annotations"][0], "confidence"),
    }[where]
    target[0][target[1]] = value
    path = tmp_path / "bad.assay.json"
    path.write_text(json.dumps(document), encoding="utf-8")  # json writes NaN, Infinity
    with pytest.raises(ValidationError) as error:
        wb.import_file(path, "back")
    assert error.value.message.startswith(f"the archive holds {what} at {location}")
    assert error.value.detail["location"] == location
    assert [p["name"] for p in wb.list_projects()] == [small]


def test_archive_with_an_odd_slice_name_is_refused(
    wb: Workbench, tmp_path: Path, small: str
) -> None:
    document = wb.archive(small)
    document["slices"] = [{"name": "a\u202eb", "kind": "static", "filter": None, "records": [0]}]
    path = tmp_path / "bad.assay.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValidationError, match="a slice name cannot contain U\\+202E"):
        wb.import_file(path, "back")
    assert [p["name"] for p in wb.list_projects()] == [small]


FORMULAS = ["=1+1", "+41", "-3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")']


@pytest.fixture
def formulas(wb: Workbench, tmp_path: Path) -> str:
    """Text cells, a label and a column name that a spreadsheet would run as formulas, and a
    negative number in a numeric column (not text: never escaped)."""
    rows = [{"id": i, "text": t, "n": -3, "=col": "@me"} for i, t in enumerate(FORMULAS)]
    path = tmp_path / "formulas.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    wb.import_file(path, "formulas", primary_key=["id"])
    wb.add_task("formulas", "kind", "classification", labels=["-minus", "plain"])
    wb.annotate("formulas", "id=0", "kind", "-minus", "ann")
    wb.annotate("formulas", "id=1", "kind", "plain", "ann")
    return "formulas"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_export_escapes_formulas_by_default(
    wb: Workbench, tmp_path: Path, formulas: str
) -> None:
    out = tmp_path / "out.csv"
    wb.export(formulas, "csv", out)
    rows = _csv_rows(out)
    assert list(rows[0]) == ["id", "text", "n", "'=col", "__kind__MANUAL"]
    assert [r["text"] for r in rows] == ["'" + t for t in FORMULAS]
    assert [r["n"] for r in rows] == ["-3"] * len(FORMULAS)  # a number, not text
    assert [r["'=col"] for r in rows] == ["'@me"] * len(FORMULAS)
    assert [r["__kind__MANUAL"] for r in rows][:3] == ["'-minus", "plain", ""]


def test_csv_export_raw_round_trips(wb: Workbench, tmp_path: Path, formulas: str) -> None:
    out = tmp_path / "out.csv"
    wb.export(formulas, "csv", out, raw=True)
    rows = _csv_rows(out)
    assert list(rows[0]) == ["id", "text", "n", "=col", "__kind__MANUAL"]
    assert [r["text"] for r in rows] == FORMULAS
    assert [r["=col"] for r in rows] == ["@me"] * len(FORMULAS)
    assert [r["__kind__MANUAL"] for r in rows][:3] == ["-minus", "plain", ""]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_typed_exports_keep_formulas_raw(
    wb: Workbench, tmp_path: Path, formulas: str, fmt: str
) -> None:
    out = tmp_path / f"out.{fmt}"
    wb.export(formulas, fmt, out)
    rows = _read(out, fmt)
    assert [r["text"] for r in rows] == FORMULAS
    assert rows[0]["=col"] == "@me" and rows[0]["__kind__MANUAL"] == "-minus"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_exports_stay_valid_json_with_non_finite_numbers(
    sqlite_wb: Workbench, tmp_path: Path, fmt: str
) -> None:
    """A SQLite project from before imports refused infinity holds it as the text Infinity
    (not JSON): its JSON export writes null there, never Infinity or NaN."""
    from sqlalchemy import text

    path = tmp_path / "n.json"
    path.write_text(json.dumps([{"x": 1.5, "t": "a"}, {"x": 2.5, "t": "b"}]), encoding="utf-8")
    sqlite_wb.import_file(path, "n")
    with sqlite_wb.db.engine.begin() as conn:
        conn.execute(text("""UPDATE record SET data = '{"x": Infinity, "t": "a"}' WHERE id = 1"""))
        conn.execute(text("""UPDATE record SET data = '{"x": NaN, "t": "b"}' WHERE id = 2"""))
    out = tmp_path / f"out.{fmt}"
    sqlite_wb.export("n", fmt, out)

    def strict(constant: str) -> None:
        raise AssertionError(f"{constant} in a JSON export")

    body = out.read_text(encoding="utf-8")
    lines = [body] if fmt == "json" else body.splitlines()
    rows = [json.loads(line, parse_constant=strict) for line in lines]
    flat = rows[0] if fmt == "json" else rows
    assert [(r["x"], r["t"]) for r in flat] == [(None, "a"), (None, "b")]
