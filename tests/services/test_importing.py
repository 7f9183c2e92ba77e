"""Import from every format: types, keys, refinery label columns, and all-or-nothing errors.

Every test runs on SQLite and on PostgreSQL (the ``wb`` fixture); files are real files written
to ``tmp_path``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assay import NotFound, ValidationError, Workbench
from assay.errors import ImportFileError
from assay.services import files, jobs
from assay.services.importing import ImportOptions, file_import

TOPICS = ["sports", "politics", "tech"]


def _rows(n: int = 40) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "headline": f"Headline number {i} about {TOPICS[i % 3]}",
            "topic": TOPICS[i % 3],
            "score": i + 0.5,
            "flag": i % 2 == 0,
        }
        for i in range(1, n + 1)
    ]


def _write(path: Path, fmt: str, rows: list[dict[str, Any]]) -> Path:
    frame = pd.DataFrame(rows)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    else:  # pragma: no cover
        raise AssertionError(fmt)
    return path


def _types(wb: Workbench, project: str) -> dict[str, str]:
    return {a["name"]: a["data_type"] for a in wb.get_project(project)["attributes"]}


def _state(wb: Workbench, project: str) -> dict[str, Any] | None:
    """Everything of a project (None when it does not exist)."""
    try:
        return wb.archive(project)
    except NotFound:
        return None


EXPECTED_TYPES = {
    "id": "integer",
    "headline": "text",
    "topic": "category",
    "score": "float",
    "flag": "boolean",
}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet", "xlsx"])
def test_create_project_from_each_format(wb: Workbench, tmp_path: Path, fmt: str) -> None:
    rows = _rows()
    path = _write(tmp_path / f"data.{fmt}", fmt, rows)
    result = wb.import_file(path, "p", primary_key=["id"])
    assert result["created"] == 40 and result["updated"] == 0
    assert _types(wb, "p") == EXPECTED_TYPES
    assert wb.get_project("p")["records"] == 40
    assert wb.get_record("p", "id=7")["data"] == rows[6]
    assert wb.get_record("p", "id=8")["data"]["flag"] is True
    assert wb.query("p", {"attribute": "topic", "value": "tech"})["total"] == 13
    assert wb.query("p", {"search": "number 12 about"})["total"] == 1


def test_create_project_from_dataframe(wb: Workbench) -> None:
    frame = pd.DataFrame(_rows())
    frame.loc[3, "score"] = None  # a missing float becomes None
    result = wb.import_dataframe(frame, "p", primary_key=["id"])
    assert result["created"] == 40
    assert _types(wb, "p") == EXPECTED_TYPES
    record = wb.get_record("p", "id=4")
    assert record["data"] == {**_rows()[3], "score": None}
    assert [t["text"] for t in record["tokens"]["headline"]] == [
        "Headline",
        "number",
        "4",
        "about",
        "politics",
    ]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_types_can_be_overridden(wb: Workbench, tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"data.{fmt}", fmt, _rows())
    wb.import_file(path, "p", primary_key=["id"], types={"id": "text", "topic": "text"})
    assert _types(wb, "p") == {**EXPECTED_TYPES, "id": "text", "topic": "text"}
    assert wb.get_record("p", "id=5")["data"]["id"] == "5"
    with pytest.raises(ValidationError, match="'nope'"):
        wb.import_file(path, "q", types={"nope": "text"})
    with pytest.raises(ValidationError, match="unknown type 'words'"):
        wb.import_file(path, "q", types={"id": "words"})
    assert _state(wb, "q") is None


def test_composite_key_updates_and_adds(wb: Workbench, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        "lang,num,text\nen,1,the old story\nde,1,die alte Geschichte\nen,2,another story\n",
        encoding="utf-8",
    )
    # the key is named in another order than the columns
    assert wb.import_file(first, "p", primary_key=["num", "lang"])["created"] == 3
    assert [a["name"] for a in wb.get_project("p")["attributes"] if a["primary_key"]] == [
        "lang",
        "num",
    ]
    before = wb.get_record("p", "lang=en,num=1")
    second = tmp_path / "second.csv"
    second.write_text(
        "num,text,lang\n1,a newword headline,en\n1,une histoire,fr\n", encoding="utf-8"
    )
    result = wb.import_file(second, "p")
    assert (result["created"], result["updated"]) == (1, 1)
    assert wb.get_project("p")["records"] == 4
    after = wb.get_record("p", "num=1,lang=en")
    assert after["id"] == before["id"]
    assert after["data"] == {"lang": "en", "num": 1, "text": "a newword headline"}
    assert [t["text"] for t in after["tokens"]["text"]] == ["a", "newword", "headline"]
    hits = wb.query("p", {"search": "newword"})
    assert [r["id"] for r in hits["records"]] == [before["id"]]
    assert wb.query("p", {"search": "old story"})["total"] == 0
    assert wb.query("p", {"search": "story"})["total"] == 1
    assert wb.get_record("p", "lang=fr,num=1")["data"]["text"] == "une histoire"
    assert wb.get_record("p", "lang=de,num=1")["data"]["text"] == "die alte Geschichte"
    # an import cannot change the key
    with pytest.raises(ValidationError, match="primary key"):
        wb.import_file(second, "p", primary_key=["lang"])


def test_update_by_single_key_in_another_format(wb: Workbench, tmp_path: Path) -> None:
    rows = _rows(30)
    wb.import_file(_write(tmp_path / "a.parquet", "parquet", rows), "p", primary_key=["id"])
    changed = [
        {**rows[0], "headline": "Completely newword text"},
        {**rows[0], "id": 99, "headline": "Another newword"},
    ]
    result = wb.import_file(_write(tmp_path / "b.jsonl", "jsonl", changed), "p")
    assert (result["created"], result["updated"]) == (1, 1)
    assert wb.get_project("p")["records"] == 31
    assert wb.get_record("p", "id=1")["data"]["headline"] == "Completely newword text"
    assert wb.query("p", {"search": "newword"})["total"] == 2
    old = {"attribute": "headline", "op": "contains", "value": "number 1 about"}
    assert wb.query("p", old)["total"] == 0


# --- refinery-style label columns ---------------------------------------------------------

LABELED = [
    {
        "id": 1,
        "headline": "Mike Tyson visits France",
        "__clickbait__MANUAL": "no",
        "__tags__MANUAL": ["sport", "people"],
        "headline__entities__MANUAL": [
            {"label": "person", "start_token": 0, "end_token": 2, "text": "Mike Tyson"},
            {"label": "country", "start_token": 3, "end_token": 4, "text": "France"},
        ],
        "__clickbait__WEAK_SUPERVISION": "no",
        "__clickbait__WEAK_SUPERVISION__confidence": 0.9,
    },
    {
        "id": 2,
        "headline": "You won't believe this trick",
        "__clickbait__MANUAL": "yes",
        "__tags__MANUAL": ["people"],
        "headline__entities__MANUAL": [],
        "__clickbait__WEAK_SUPERVISION": "yes",
        "__clickbait__WEAK_SUPERVISION__confidence": 0.75,
    },
    {
        "id": 3,
        "headline": "Ten facts about Peru",
        "__clickbait__MANUAL": None,
        "__tags__MANUAL": None,
        "headline__entities__MANUAL": None,
        "__clickbait__WEAK_SUPERVISION": "yes",
        "__clickbait__WEAK_SUPERVISION__confidence": 0.6,
    },
]


def _csv_cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_label_columns_become_tasks_and_labels(wb: Workbench, tmp_path: Path, fmt: str) -> None:
    if fmt == "json":
        path = _write(tmp_path / "labeled.json", "json", LABELED)
    else:
        rows = [{k: _csv_cell(v) for k, v in r.items()} for r in LABELED]
        path = _write(tmp_path / "labeled.csv", "csv", rows)
    result = wb.import_file(path, "p", primary_key=["id"], annotator="ann")
    assert sorted(result["tasks"]) == ["clickbait", "clickbait", "entities", "tags"]
    assert _types(wb, "p") == {"id": "integer", "headline": "text"}
    tasks = {t["name"]: t for t in wb.list_tasks("p")}
    assert {n: (t["type"], t["attribute"]) for n, t in tasks.items()} == {
        "clickbait": ("classification", None),
        "tags": ("multi-label", None),
        "entities": ("extraction", "headline"),
    }
    assert sorted(lb["name"] for lb in tasks["entities"]["labels"]) == ["country", "person"]

    one = wb.get_record("p", "id=1")["labels"]
    assert one["clickbait"]["reference"] == {"state": "agreed", "value": "no"}
    assert one["tags"]["reference"] == {"state": "agreed", "value": ["people", "sport"]}
    assert one["entities"]["reference"]["value"] == [
        {"label": "person", "start_token": 0, "end_token": 2},
        {"label": "country", "start_token": 3, "end_token": 4},
    ]
    manual = [a for a in one["clickbait"]["annotations"] if a["source"] == "manual"]
    assert [(a["label"], a["annotator"]) for a in manual] == [("no", "ann")]
    weak = [a for a in one["clickbait"]["annotations"] if a["source"] == "weak_supervision"]
    assert [(a["label"], a["confidence"]) for a in weak] == [("no", 0.9)]

    three = wb.get_record("p", "id=3")["labels"]
    assert three["clickbait"]["reference"] == {"state": "none", "value": None}
    assert [a["source"] for a in three["clickbait"]["annotations"]] == ["weak_supervision"]

    ws_yes = wb.query("p", {"task": "clickbait", "source": "weak_supervision", "label": "yes"})
    assert sorted(r["data"]["id"] for r in ws_yes["records"]) == [2, 3]
    none = wb.query("p", {"task": "clickbait", "state": "none"})
    assert [r["data"]["id"] for r in none["records"]] == [3]
    sure = wb.query(
        "p",
        {"task": "clickbait", "source": "weak_supervision", "min_confidence": 0.7},
    )
    assert sorted(r["data"]["id"] for r in sure["records"]) == [1, 2]


def test_reimport_replaces_the_importers_labels_only(wb: Workbench, tmp_path: Path) -> None:
    path = _write(tmp_path / "labeled.json", "json", LABELED)
    wb.import_file(path, "p", primary_key=["id"], annotator="ann")
    wb.annotate("p", "id=1", "clickbait", "no", "bob")
    changed = [{"id": 1, "headline": "Mike Tyson visits France", "__clickbait__MANUAL": "yes"}]
    wb.import_file(_write(tmp_path / "again.json", "json", changed), "p", annotator="ann")
    labels = wb.get_record("p", "id=1")["labels"]["clickbait"]
    manual = sorted(
        (a["annotator"], a["label"]) for a in labels["annotations"] if a["source"] == "manual"
    )
    assert manual == [("ann", "yes"), ("bob", "no")]
    assert labels["reference"]["state"] == "conflict"
    assert wb.get_project("p")["records"] == 3


# --- bad input: a clear message, and the project exactly as before -------------------------


@pytest.fixture
def existing(wb: Workbench, tmp_path: Path) -> str:
    wb.import_file(
        _write(tmp_path / "base.json", "json", LABELED), "p", primary_key=["id"], annotator="a"
    )
    return "p"


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    """name -> (file, fragments the message must hold)."""
    d = tmp_path / "bad"
    d.mkdir()
    header = "id,headline\n"

    def text(name: str, content: str) -> Path:
        (d / name).write_text(content, encoding="utf-8")
        return d / name

    latin = d / "latin.csv"
    latin.write_bytes((header + "4,ok\n5,Caf\xe9 au lait\n").encode("latin-1"))
    return {
        "encoding": (latin, ["latin.csv", "not UTF-8", "0xe9", "line 3"]),
        "too many fields": (
            text("wide.csv", header + "4,ok\n5,too,many\n"),
            ["wide.csv", "row 2", "line 3", "3 fields", "header has 2"],
        ),
        "too few fields": (
            text("narrow.tsv", "id\theadline\n4\tok\n5\n"),
            ["narrow.tsv", "row 2", "1 fields"],
        ),
        "invalid json": (
            text("broken.json", '[{"id": 4, "headline": "a"},\n {"id": 5 "headline": "b"}]'),
            ["broken.json", "invalid JSON", "line 2"],
        ),
        "jsonl bad line": (
            text("broken.jsonl", '{"id": 4, "headline": "a"}\n{"id": 5, "headline": \n'),
            ["broken.jsonl", "line 2"],
        ),
        "json not array": (
            text("object.json", '{"id": 4}'),
            ["object.json", "array"],
        ),
        "empty": (text("empty.csv", ""), ["empty.csv", "empty"]),
        "empty jsonl": (text("empty.jsonl", "\n\n"), ["empty.jsonl", "empty"]),
        "header only": (text("header.csv", header), ["header.csv", "no rows"]),
        "duplicate keys": (
            text("dupes.csv", header + "4,a\n5,b\n4,c\n"),
            ["dupes.csv", "rows 1 and 3", "id=4"],
        ),
        "mixed json column": (
            text(
                "mixed.json",
                '[{"id": 4, "headline": "a", "extra": "x"},\n'
                ' {"id": 5, "headline": "b", "extra": 7}]',
            ),
            ["mixed.json", "'extra'", "mixes types", "string in row 1", "integer in row 2"],
        ),
        "span outside the text": (
            text(
                "outside.jsonl",
                json.dumps(
                    {
                        "id": 4,
                        "headline": "Visit Peru",
                        "headline__entities__MANUAL": [
                            {"label": "country", "start_token": 1, "end_token": 5}
                        ],
                    }
                )
                + "\n",
            ),
            ["outside.jsonl", "row 1", "headline__entities__MANUAL", "outside", "2 tokens"],
        ),
        "span text mismatch": (
            text(
                "mismatch.json",
                json.dumps(
                    [
                        {"id": 4, "headline": "Visit Peru", "headline__entities__MANUAL": []},
                        {
                            "id": 5,
                            "headline": "Visit Chile",
                            "headline__entities__MANUAL": [
                                {
                                    "label": "country",
                                    "start_token": 1,
                                    "end_token": 2,
                                    "text": "Peru",
                                }
                            ],
                        },
                    ]
                ),
            ),
            ["mismatch.json", "row 2", "headline__entities__MANUAL", "'Peru'", "'Chile'"],
        ),
        "bad confidence": (
            text(
                "conf.csv",
                "id,headline,__clickbait__WEAK_SUPERVISION,__clickbait__WEAK_SUPERVISION__confidence\n"
                "4,a,yes,0.5\n5,b,no,high\n",
            ),
            ["conf.csv", "row 2", "'high'"],
        ),
        "list in a classification": (
            text(
                "list.json",
                json.dumps([{"id": 4, "headline": "a", "__clickbait__MANUAL": ["yes", "no"]}]),
            ),
            ["list.json", "row 1", "__clickbait__MANUAL", "classification"],
        ),
    }


CASES = [
    "encoding",
    "too many fields",
    "too few fields",
    "invalid json",
    "jsonl bad line",
    "json not array",
    "empty",
    "empty jsonl",
    "header only",
    "duplicate keys",
    "mixed json column",
    "span outside the text",
    "span text mismatch",
    "bad confidence",
    "list in a classification",
]


def _check_refused(wb: Workbench, path: Path, project: str, fragments: list[str]) -> None:
    before = _state(wb, project)
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, project, primary_key=None if before else ["id"])
    for fragment in fragments:
        assert fragment in raised.value.message, (fragment, raised.value.message)
    assert raised.value.detail.get("file", "").endswith(path.name)
    assert _state(wb, project) == before


def test_bad_files_leave_a_project_as_it_was(wb: Workbench, tmp_path: Path, existing: str) -> None:
    files = _bad_files(tmp_path)
    for case in CASES:
        path, fragments = files[case]
        _check_refused(wb, path, existing, fragments)
    jobs = [j for j in wb.list_jobs() if j["kind"] == "import"]
    assert sum(j["status"] == "failed" for j in jobs) == len(CASES)


def test_bad_files_create_no_project(wb: Workbench, tmp_path: Path) -> None:
    files = _bad_files(tmp_path)
    # (in a new project a list makes the task multi-label: no error there)
    for case in [c for c in CASES if c != "list in a classification"]:
        path, fragments = files[case]
        _check_refused(wb, path, "new", fragments)
    assert wb.list_projects() == []


def test_csv_errors_past_the_first_rows_name_row_and_line(wb: Workbench, tmp_path: Path) -> None:
    # rows are read in batches; a blank line is skipped, and a bad row far down the file is
    # still named by its row and its line
    lines = ["id,headline"] + [f"{i},text {i}" for i in range(1, 1201)]
    lines.insert(700, "")
    lines[1001] = "1000,too,many"  # row 1000, on line 1002 (after the header and blank line)
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, "p")
    assert "row 1000 (line 1002) has 3 fields" in raised.value.message
    lines[1001] = "1000,fine"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert wb.import_file(path, "p")["created"] == 1200
    assert wb.get_record("p", 1200)["data"] == {"id": 1200, "headline": "text 1200"}


def test_error_details_name_row_and_column(wb: Workbench, tmp_path: Path) -> None:
    path = tmp_path / "typed.csv"
    path.write_text("id,n\n1,5\n2,x\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, "p", types={"n": "integer"})
    assert "row 2, column 'n'" in raised.value.message
    assert raised.value.detail == {"file": "typed.csv", "row": 2, "column": "n"}
    assert _state(wb, "p") is None


def test_cell_size_limit(
    wb: Workbench, tmp_path: Path, existing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_text = "word " * 20_000  # 100,000 characters
    big = _write(
        tmp_path / "big.jsonl", "jsonl", [{"id": 10, "headline": long_text.strip() + " end"}]
    )
    # the default limit (1 MB) takes a 100,000-character text
    assert wb.import_file(big, existing)["created"] == 1
    record = wb.get_record(existing, "id=10")
    assert len(record["data"]["headline"]) == 100_003
    assert len(record["tokens"]["headline"]) == 20_001

    monkeypatch.setattr(wb.settings, "max_cell_bytes", 1_000)
    before = _state(wb, existing)
    rows = [{"id": 11, "headline": "short"}, {"id": 12, "headline": "é" * 600}]
    path = _write(tmp_path / "over.csv", "csv", rows)
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, existing)
    message = raised.value.message
    assert "over.csv" in message and "row 2" in message and "'headline'" in message
    assert "1,200 bytes" in message and "1,000" in message
    assert _state(wb, existing) == before
    with pytest.raises(ImportFileError, match="over the limit"):
        wb.import_dataframe(pd.DataFrame(rows), "new")
    assert _state(wb, "new") is None


def test_languages(wb: Workbench, tmp_path: Path) -> None:
    path = _write(tmp_path / "words.csv", "csv", [{"id": 1, "text": "一些中文文本"}])
    with pytest.raises(ValidationError) as raised:
        wb.import_file(path, "p", language="qq")
    assert "'qq'" in raised.value.message
    assert _state(wb, "p") is None
    # Japanese needs SudachiPy, which spaCy does not bring along: the message says so
    with pytest.raises(ValidationError) as raised:
        wb.import_file(path, "p", language="ja")
    assert "'ja'" in raised.value.message and "extra packages" in raised.value.message
    assert "SudachiPy" in raised.value.message
    assert _state(wb, "p") is None
    # Chinese splits into characters without extra packages; "xx" is spaCy's multi-language
    wb.import_file(path, "zh", language="zh")
    assert wb.get_project("zh")["language"] == "zh"
    assert len(wb.get_record("zh", 1)["tokens"]["text"]) == 6
    wb.import_file(path, "xx", language="xx")
    assert wb.get_project("xx")["language"] == "xx"


def test_unknown_format_and_missing_file(wb: Workbench, tmp_path: Path) -> None:
    odd = tmp_path / "data.txt"
    odd.write_text("id\n1\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"data\.txt.*extension '\.txt'"):
        wb.import_file(odd, "p")
    assert wb.import_file(odd, "p", fmt="csv")["created"] == 1
    with pytest.raises(ImportFileError, match="no such file"):
        wb.import_file(tmp_path / "missing.csv", "q")
    assert _state(wb, "q") is None


def test_dataframe_errors(wb: Workbench) -> None:
    with pytest.raises(ImportFileError, match="no rows"):
        wb.import_dataframe(pd.DataFrame({"a": []}), "p")
    with pytest.raises(ImportFileError, match="duplicate column"):
        wb.import_dataframe(pd.DataFrame([[1, 2]], columns=["a", "a"]), "p")
    assert _state(wb, "p") is None


def test_an_update_may_not_move_labeled_spans(wb: Workbench, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("k,text\n1,Mike Tyson visits France\n2,Plain news\n", encoding="utf-8")
    wb.import_file(first, "spans", primary_key=["k"])
    wb.add_task("spans", "ents", "extraction", attribute="text", labels=["person"])
    wb.annotate("spans", "k=1", "ents", "person", "ann", span=(0, 2))
    before = wb.archive("spans")
    changed = tmp_path / "changed.csv"
    changed.write_text("k,text\n1,France welcomes Mike Tyson\n2,Other news\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"changes 'text' of the record with key \[1\]"):
        wb.import_file(changed, "spans")
    assert wb.archive("spans") == before
    same = tmp_path / "same.csv"  # unchanged text with spans, changed text without: fine
    same.write_text("k,text\n1,Mike Tyson visits France\n2,Other news\n", encoding="utf-8")
    assert wb.import_file(same, "spans")["updated"] == 2
    assert wb.get_record("spans", "k=2")["data"]["text"] == "Other news"


# --- what a file may not bring (issue 11): each refused with its place, nothing imported ----


def test_an_unterminated_quote_is_refused_with_the_line_it_opens_on(
    wb: Workbench, tmp_path: Path, existing: str
) -> None:
    path = tmp_path / "open.csv"
    path.write_text(
        'id,headline\n1,"fine, quoted"\n2,"never closed\n3,swallowed\n4,too\n', encoding="utf-8"
    )
    fragments = ["open.csv", "row 2", "starts on line 3", "never closed"]
    _check_refused(wb, path, existing, fragments)
    _check_refused(wb, path, "new", fragments)
    with pytest.raises(ImportFileError) as raised:
        wb.preview_file(path)
    assert raised.value.detail == {"file": "open.csv", "row": 2, "line": 3}
    # opened after a field that runs over lines; in a middle column of a TSV
    path.write_text('id,headline\n1,"two\nlines"\n2,x\n3,"open\n4,y', encoding="utf-8")
    _check_refused(wb, path, "new", ["row 3", "starts on line 5"])
    tsv = tmp_path / "open.tsv"
    tsv.write_text('id\theadline\ttopic\n1\t"open\ta\n2\tb\tc\n', encoding="utf-8")
    _check_refused(wb, tsv, "new", ["open.tsv", "row 1", "starts on line 2"])
    # quotes inside unquoted fields, text after a closing quote, multi-line cells are fine
    path.write_text('id,headline\n1,6" ruler\n2,"a ""b""\nc"\n3,"Hi" she said\n', encoding="utf-8")
    wb.import_file(path, "ok", primary_key=["id"])
    assert wb.get_record("ok", "id=2")["data"]["headline"] == 'a "b"\nc'
    assert wb.get_record("ok", "id=3")["data"]["headline"] == "Hi she said"


def test_the_cell_limit_is_the_setting_in_csv_files(
    wb: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "word " * 40_000 + "end"  # 200,003 characters: over the csv module's 131,072
    rows = [{"id": 1, "headline": "short"}, {"id": 2, "headline": text}]
    path = _write(tmp_path / "long.csv", "csv", rows)
    assert wb.import_file(path, "p", primary_key=["id"])["created"] == 2
    assert wb.get_record("p", "id=2")["data"]["headline"] == text
    monkeypatch.setattr(wb.settings, "max_cell_bytes", 150_000)
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, "q")
    assert "200,003 bytes, over the limit of 150,000" in raised.value.message
    assert raised.value.detail == {"file": "long.csv", "row": 2, "column": "headline", "line": 3}
    # label columns too
    labeled = _write(
        tmp_path / "labels.csv", "csv", [{"id": 1, "headline": "x", "__t__MANUAL": text}]
    )
    with pytest.raises(ImportFileError, match="column '__t__MANUAL'"):
        wb.import_file(labeled, "q")
    assert _state(wb, "q") is None


NON_FINITE = {
    "json Infinity": ("n.json", '[{"id": 1, "s": 1.5}, {"id": 2, "s": Infinity}]', "Infinity"),
    "json -Infinity": ("n.json", '[{"id": 1, "s": 1.5}, {"id": 2, "s": -Infinity}]', "-Infinity"),
    "json NaN": ("n.json", '[{"id": 1, "s": 1.5}, {"id": 2, "s": NaN}]', "NaN"),
    "json overflow": ("n.json", '[{"id": 1, "s": 1.5}, {"id": 2, "s": 1e999}]', "1e999"),
    "json in a list": ("n.json", '[{"id": 1, "s": 1.5}, {"id": 2, "s": [1, NaN]}]', "NaN"),
    "jsonl": ("n.jsonl", '{"id": 1, "s": 1.5}\n{"id": 2, "s": Infinity}\n', "Infinity"),
    "csv inf": ("n.csv", "id,s\n1,1.5\n2,inf\n", "'inf'"),
    "csv nan": ("n.csv", "id,s\n1,1.5\n2,NaN\n", "'NaN'"),
}


@pytest.mark.parametrize("case", NON_FINITE)
def test_non_finite_numbers_are_refused(wb: Workbench, tmp_path: Path, case: str) -> None:
    name, content, shown = NON_FINITE[case]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, "p")
    message = raised.value.message
    assert "row 2, column 's'" in message and shown in message, message
    assert "not a finite number" in message
    assert raised.value.detail["row"] == 2 and raised.value.detail["column"] == "s"
    assert _state(wb, "p") is None


def test_non_finite_numbers_in_parquet_dataframes_and_confidences(
    wb: Workbench, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"id": [1, 2], "s": pa.array([1.5, float("nan")])}), path)
    with pytest.raises(ImportFileError, match="row 2, column 's': nan is not a finite"):
        wb.import_file(path, "p")
    # in a DataFrame NaN is pandas' missing value (None); an infinity is refused
    frame = pd.DataFrame({"id": [1, 2, 3], "s": [1.5, float("nan"), float("inf")]})
    with pytest.raises(ImportFileError, match="row 3, column 's': inf is not a finite"):
        wb.import_dataframe(frame, "p")
    assert _state(wb, "p") is None
    wb.import_dataframe(frame.iloc[:2], "p", primary_key=["id"])
    assert wb.get_record("p", "id=2")["data"] == {"id": 2, "s": None}
    weak = tmp_path / "weak.csv"
    weak.write_text(
        "id,__t__WEAK_SUPERVISION,__t__WEAK_SUPERVISION__confidence\n1,yes,0.9\n2,no,inf\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError, match="row 2: confidence 'inf' is not a finite number"):
        wb.import_file(weak, "w")
    assert _state(wb, "w") is None


NUL = {
    "csv cell": ("z.csv", "id,headline\n1,fine\n2,bad\0cell\n",
                 "row 2 (line 3), column 'headline'"),
    "csv header": ("z.csv", "id,head\0line\n1,x\n", "the name of column 2"),
    "json cell": ("z.json", '[{"id": 1, "headline": "a"}, {"id": 2, "headline": "b\\u0000"}]',
                  "row 2, column 'headline'"),
    "json label": ("z.json", '[{"id": 1, "headline": "a", "__t__MANUAL": ["x\\u0000"]}]',
                   "row 1, column '__t__MANUAL'"),
    "json key": ("z.json", '[{"id": 1, "head\\u0000line": "a"}]', "the column name"),
    "jsonl cell": ("z.jsonl", '{"id": 1, "headline": "a"}\n{"id": 2, "headline": "\\u0000"}\n',
                   "row 2, column 'headline'"),
}  # fmt: skip


@pytest.mark.parametrize("case", NUL)
def test_nul_characters_are_refused(wb: Workbench, tmp_path: Path, case: str) -> None:
    name, content, where = NUL[case]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(path, "p")
    assert where in raised.value.message and "NUL character" in raised.value.message
    assert _state(wb, "p") is None
    # an escaped backslash before u0000 is no NUL
    if name == "z.json":
        path.write_text('[{"id": 1, "headline": "C:\\\\u0000"}]', encoding="utf-8")
        wb.import_file(path, "p", primary_key=["id"])
        assert wb.get_record("p", "id=1")["data"]["headline"] == "C:\\u0000"


def test_nul_characters_in_parquet_and_dataframes_are_refused(
    wb: Workbench, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"id": [1, 2], "headline": ["a", "b\0"]})
    with pytest.raises(ImportFileError, match="row 2, column 'headline': the cell holds a NUL"):
        wb.import_dataframe(frame, "p")
    frame.to_parquet(tmp_path / "z.parquet", index=False)
    with pytest.raises(ImportFileError, match="row 2, column 'headline': the cell holds a NUL"):
        wb.import_file(tmp_path / "z.parquet", "p")
    assert _state(wb, "p") is None


def test_a_jsonl_export_imports_again(wb: Workbench, tmp_path: Path) -> None:
    # characters str.splitlines() splits at, legal inside JSON strings; the export writes them raw
    text = "one\u2028two\u2029three\u0085four\x1cfive\x1dsix\x1eseven\x0beight\x0cnine\r\nten"
    rows = [{"id": 1, "headline": text}, {"id": 2, "headline": "plain"}]
    wb.import_file(_write(tmp_path / "in.json", "json", rows), "p", primary_key=["id"])
    out = tmp_path / "p.jsonl"
    wb.export("p", "jsonl", out)
    assert "\u2028" in out.read_text(encoding="utf-8")
    assert wb.import_file(out, "q", primary_key=["id"])["created"] == 2
    assert wb.get_record("q", "id=1")["data"]["headline"] == text
    assert wb.get_record("q", "id=2")["data"]["headline"] == "plain"


def test_duplicate_names_are_refused(wb: Workbench, tmp_path: Path) -> None:
    xlsx = tmp_path / "dup.xlsx"
    pd.DataFrame([[1, "a", "b"]], columns=["id", "text", "text"]).to_excel(xlsx, index=False)
    with pytest.raises(ImportFileError, match="duplicate column name 'text'") as raised:
        wb.import_file(xlsx, "p")
    assert raised.value.detail == {"file": "dup.xlsx", "column": "text"}
    # a header that really says text.1 is no duplicate
    pd.DataFrame([[1, "a", "b"]], columns=["id", "text", "text.1"]).to_excel(xlsx, index=False)
    wb.import_file(xlsx, "ok", primary_key=["id"])
    assert wb.get_record("ok", "id=1")["data"] == {"id": 1, "text": "a", "text.1": "b"}
    json_path = tmp_path / "dup.json"
    json_path.write_text('[{"id": 1, "text": "a"}, {"id": 2, "text": "b", "text": "c"}]')
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(json_path, "p")
    assert "row 2, column 'text': the key 'text' appears twice" in raised.value.message
    jsonl = tmp_path / "dup.jsonl"
    jsonl.write_text('{"id": 1, "m": "x"}\n\n{"id": 2, "m": {"k": 1, "k": 2}}\n')
    with pytest.raises(ImportFileError) as raised:
        wb.import_file(jsonl, "p")
    assert "row 2, column 'm': the key 'k' appears twice" in raised.value.message
    assert raised.value.detail == {"file": "dup.jsonl", "row": 2, "column": "m", "line": 3}
    assert _state(wb, "p") is None


def _excel_bomb(path: Path, padding: int) -> Path:
    """A small workbook whose sheet holds ``padding`` bytes of blanks: they pack ~1000:1."""
    import zipfile

    source = path.with_suffix(".src.xlsx")
    pd.DataFrame({"id": [1, 2], "text": ["a", "b"]}).to_excel(source, index=False)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename != "xl/worksheets/sheet1.xml":
                out.writestr(item.filename, data)
                continue
            head, tail = data.split(b"<sheetData>")
            with out.open(item.filename, "w", force_zip64=True) as sheet:
                sheet.write(head + b"<sheetData>")
                for _ in range(padding >> 20):
                    sheet.write(b" " * (1 << 20))
                sheet.write(tail)
    return path


def test_an_excel_bomb_is_refused_before_it_is_unpacked(
    wb: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    import tracemalloc

    bomb = _excel_bomb(tmp_path / "bomb.xlsx", 64 << 20)
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ImportFileError, match="decompression bomb") as raised:
            wb.preview_file(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 2 and peak < 8 << 20, (peak, raised.value.message)
    assert raised.value.detail == {"file": "bomb.xlsx"}
    with pytest.raises(ImportFileError, match="decompression bomb"):
        wb.import_file(bomb, "p")
    assert _state(wb, "p") is None
    # what a workbook or a Parquet file may unpack to is the upload limit
    rows = _rows(200)
    monkeypatch.setattr(wb.settings, "max_upload_bytes", 5_000)
    for fmt in ("xlsx", "parquet"):
        path = _write(tmp_path / f"rows.{fmt}", fmt, rows)
        with pytest.raises(ImportFileError, match=r"over the limit of 5,000 \(ASSAY_MAX_UPLOAD"):
            wb.import_file(path, "p")
    assert _state(wb, "p") is None


def test_errors_name_a_file_by_its_name_only(wb: Workbench, tmp_path: Path) -> None:
    for name, content in [("bad.assay.json", "{"), ("other.assay.json", '{"format": 1}')]:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ImportFileError) as raised:
            wb.import_file(path, "p")
        assert raised.value.detail["file"] == name
        assert str(tmp_path) not in str(raised.value.detail)


def test_a_file_import_is_one_service_call(wb: Workbench, tmp_path: Path) -> None:
    """The import job's body is a service entry point: a file in, the summary out (the
    Workbench only starts it and reacts); an archive is known by its format or name."""
    source = _write(tmp_path / "rows.csv", "csv", _rows(5))
    with wb.db.session() as s:
        job_id = jobs.create(s, "import", None, "import rows.csv").id
    options = ImportOptions(primary_key=["id"])
    summary = file_import.import_file(
        wb.db, source, "direct", options, fmt=None, limits=files.Limits(), job_id=job_id
    )
    assert (summary["project"], summary["created"], summary["updated"]) == ("direct", 5, 0)
    assert _types(wb, "direct")["score"] == "float"
    assert file_import.is_archive(Path("p.assay.json"), None)
    assert file_import.is_archive(Path("p.json"), "project")
    assert not file_import.is_archive(Path("p.assay.json"), "json")
