"""The command line, in-process, against both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay import Workbench
from assay.cli import main


class Run:
    def __init__(self, wb: Workbench, capsys: pytest.CaptureFixture[str], tmp_path: Path):
        self.url = wb.settings.resolved_database_url()
        self.capsys = capsys
        self.tmp_path = tmp_path

    def __call__(self, *args: str, code: int = 0) -> tuple[str, str]:
        argv = [*args, "--database-url", self.url]
        try:
            main(argv)
            exit_code = 0
        except SystemExit as exc:
            exit_code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        assert exit_code == code, (argv, out, err)
        return out, err


@pytest.fixture
def run(
    wb: Workbench,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSAY_DATABASE_URL", wb.settings.resolved_database_url())
    return Run(wb, capsys, tmp_path)


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_import_tasks_annotate_records_export(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "news.csv"
    data.write_text(
        "nid,headline\n1,You won't believe this\n2,Parliament passes budget\n3,10 cats\n",
        encoding="utf-8",
    )
    out, _ = run("import", str(data), "--project", "news", "--primary-key", "nid")
    assert json.loads(out)["created"] == 3
    run("tasks", "add", "-p", "news", "--name", "cb", "--type", "classification",
        "--labels", "yes,no")  # fmt: skip
    run("tasks", "add", "-p", "news", "--name", "ents", "--type", "extraction",
        "--attribute", "headline", "--labels", "expr")  # fmt: skip
    tasks_out, _ = run("tasks", "list", "-p", "news")
    assert [t["name"] for t in _lines(tasks_out)] == ["cb", "ents"]

    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {"key": 1, "task": "cb", "label": "yes", "annotator": "ann"},
                {"key": "nid=2", "task": "cb", "label": "no", "annotator": "ann"},
                {"key": 2, "task": "cb", "label": "yes", "annotator": "lead", "gold": True},
                {"key": 1, "task": "ents", "label": "expr", "annotator": "ann",
                 "start_token": 0, "end_token": 4},
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    out, _ = run("annotate", str(labels), "--project", "news")
    assert json.loads(out) == {"applied": 4}

    out, err = run(
        "records", "-p", "news", "--where",
        '{"attribute": "headline", "op": "contains", "value": "YOU"}',
    )  # fmt: skip
    assert _lines(out) == [{"id": 1, "nid": 1, "headline": "You won't believe this"}]
    assert "1 of 1 records" in err
    out, _ = run("records", "-p", "news", "--order-by", "headline", "--limit", "2")
    assert [r["headline"] for r in _lines(out)] == ["10 cats", "Parliament passes budget"]

    target = tmp_path / "out.json"
    run("export", "-p", "news", "--format", "json", "-o", str(target))
    rows = json.loads(target.read_text(encoding="utf-8"))
    assert [r["__cb__MANUAL"] for r in rows] == ["yes", "yes", None]
    assert rows[0]["headline__ents__MANUAL"] == [
        {"label": "expr", "start_token": 0, "end_token": 4, "text": "You won't believe"}
    ]


def test_global_options_before_the_subcommand(run: Run) -> None:
    out, _ = run("--database-url", run.url, "projects", "create", "early")
    assert json.loads(out)["name"] == "early"
    listed, _ = run("projects", "list")
    assert [p["name"] for p in _lines(listed)] == ["early"]


def test_sample_and_slices(run: Run) -> None:
    run("sample", "clickbait", "--variant", "finished", "--project", "cb")
    out, _ = run("slices", "create", "-p", "cb", "--name", "tyson",
                 "--where", '{"search": "mike tyson"}')  # fmt: skip
    assert json.loads(out)["records"] >= 5
    out, _ = run("slices", "create", "-p", "cb", "--name", "frozen", "--static",
                 "--where", '{"task": "clickbait", "state": "labeled"}')  # fmt: skip
    assert json.loads(out)["records"] == 25
    run("slices", "rename", "-p", "cb", "--name", "tyson", "--to", "boxing")
    out, _ = run("slices", "list", "-p", "cb")
    assert [s["name"] for s in _lines(out)] == ["boxing", "frozen"]
    run("slices", "delete", "-p", "cb", "--name", "boxing")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("records", "-p", "missing"), "no project named 'missing'"),
        (("records", "-p", "x", "--where", "{bad"), "--where is not valid JSON"),
        (("import", "nowhere.csv", "-p", "x"), "no such file"),
        (("export", "-p", "missing", "-o", "x.json"), "no project named 'missing'"),
        (("tasks", "add", "-p", "missing", "--name", "t", "--type", "classification"),
         "no project named"),
        (("sample", "nope"), "no sample project 'nope'"),
    ],
)  # fmt: skip
def test_errors_exit_non_zero_with_one_line(run: Run, args: tuple[str, ...], message: str) -> None:
    if args[0] == "records" and "x" in args:
        run("projects", "create", "x")
    _, err = run(*args, code=1)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err


def test_usage_errors_exit_2(run: Run) -> None:
    _, err = run("tasks", "add", "-p", "x", code=2)
    assert "Missing option" in err


def test_lookup_lists(run: Run, tmp_path: Path) -> None:
    run("projects", "create", "p")
    out, _ = run("lookup", "add", "-p", "p", "-l", "country related", "France", "Poland", "Mars")
    assert json.loads(out)["changed"] == {"added": 3, "blacklisted": 0}
    run("lookup", "add", "-p", "p", "-l", "country related", "--blacklist", "Mars")
    run("lookup", "remove", "-p", "p", "-l", "country related", "Poland")
    terms = tmp_path / "more.txt"
    terms.write_text("Chile\nPeru\n", encoding="utf-8")
    out, _ = run("lookup", "import", "-p", "p", "-l", "country related", str(terms))
    assert json.loads(out)["terms"] == 4
    out, _ = run("lookup", "list", "-p", "p")
    assert [(x["name"], x["module"], x["blacklisted"]) for x in _lines(out)] == [
        ("country related", "country_related", 1)
    ]
    out, _ = run("lookup", "list", "-p", "p", "-l", "country related")
    assert [x["term"] for x in _lines(out) if not x["blacklisted"]] == ["Chile", "France", "Peru"]
    saved = tmp_path / "out.csv"
    run("lookup", "export", "-p", "p", "-l", "country related", "--format", "csv", "-o", str(saved))
    assert saved.read_text(encoding="utf-8").splitlines()[:2] == ["term,blacklisted", "Chile,false"]
    out, _ = run("lookup", "export", "-p", "p", "-l", "country related")
    assert out == "Chile\nFrance\nPeru\n"
    run("lookup", "delete", "-p", "p", "-l", "country related")
    _, err = run("lookup", "list", "-p", "p", "-l", "country related", code=1)
    assert "no lookup list 'country related'" in err


def test_heuristics(run: Run, tmp_path: Path) -> None:
    run("sample", "clickbait", "--project", "cb")
    code = tmp_path / "lf.py"
    code.write_text(
        "def starts_with_digit(record):\n"
        "    if record['headline'][0].text.isdigit():\n"
        "        return 'yes'\n",
        encoding="utf-8",
    )
    run(
        "heuristics",
        "add",
        "-p",
        "cb",
        "--task",
        "clickbait",
        "--name",
        "digit",
        "--file",
        str(code),
    )
    out, _ = run("heuristics", "try", "-p", "cb", "--name", "digit", "--n", "5", "--seed", "3")
    assert len(json.loads(out)["results"]) == 5
    out, _ = run("heuristics", "run", "-p", "cb", "--all")
    votes = json.loads(out)["heuristics"]["digit"]["votes"]
    out, _ = run("heuristics", "list", "-p", "cb")
    (found,) = _lines(out)
    assert found["statistics"]["hits"] == votes > 0  # type: ignore[index]
    code.write_text("def broken(record):\n    return 'perhaps'\n", encoding="utf-8")
    run(
        "heuristics",
        "add",
        "-p",
        "cb",
        "--task",
        "clickbait",
        "--name",
        "digit",
        "--replace",
        "--file",
        str(code),
    )
    _, err = run("heuristics", "run", "-p", "cb", "--name", "digit", code=1)
    assert "perhaps" in err and len(err.strip().splitlines()) == 1
    _, err = run("heuristics", "run", "-p", "cb", code=1)
    assert "--all" in err
    run("heuristics", "delete", "-p", "cb", "--name", "digit")


def test_weak_supervise(run: Run, tmp_path: Path) -> None:
    run("sample", "clickbait", "--project", "cb")
    code = tmp_path / "lf.py"
    code.write_text(
        "def lf(record):\n    return 'yes' if '?' in record['headline'].text else None\n"
    )
    run("heuristics", "add", "-p", "cb", "--task", "clickbait", "--name", "q", "--file", str(code))
    run("heuristics", "run", "-p", "cb", "--all")
    out, _ = run("weak-supervise", "-p", "cb", "--task", "clickbait", "--model", "majority")
    result = json.loads(out)
    assert result["labeled"] == result["records_with_votes"] > 0
    export = tmp_path / "cb.json"
    run("export", "-p", "cb", "--format", "json", "-o", str(export))
    rows = json.loads(export.read_text(encoding="utf-8"))
    weak = [r for r in rows if r["__clickbait__WEAK_SUPERVISION"]]
    assert len(weak) == result["labeled"]
    assert all(r["__clickbait__WEAK_SUPERVISION__confidence"] == 1.0 for r in weak)
    _, err = run("weak-supervise", "-p", "cb", "--task", "clickbait", "--model", "x", code=1)
    assert "unknown label model 'x'" in err


def test_calculated_attributes_and_ide(run: Run, tmp_path: Path) -> None:
    run("sample", "clickbait", "--project", "cb")
    code = tmp_path / "length.py"
    code.write_text("def n(record):\n    return len(record['headline'])\n", encoding="utf-8")
    args = ("-p", "cb", "--name", "headline_length")
    out, _ = run("attributes", "add", *args, "--type", "integer", "--file", str(code))
    assert json.loads(out)["state"] == "new"
    out, _ = run("attributes", "try", *args, "--n", "3", "--seed", "1")
    assert [type(r["value"]) for r in json.loads(out)["results"]] == [int, int, int]
    out, _ = run("attributes", "run", *args)
    assert json.loads(out)["records"] == 1400
    (found,) = _lines(run("attributes", "list", "-p", "cb")[0])
    assert found["state"] == "ready"
    code.write_text("def n(record):\n    return 'many'\n", encoding="utf-8")
    run("attributes", "add", *args, "--replace", "--file", str(code))
    _, err = run("attributes", "run", *args, code=1)
    assert "returned str 'many'" in err and len(err.strip().splitlines()) == 1
    snippet = tmp_path / "snippet.py"
    snippet.write_text("print(record['headline_length'] > 0)\n", encoding="utf-8")
    out, _ = run("ide", "-p", "cb", "--record", "running_id=0", "--file", str(snippet))
    assert json.loads(out)["output"] == "True\n"
    run("attributes", "delete", *args)
    assert run("attributes", "list", "-p", "cb")[0] == ""


def test_export_csv_escapes_formulas_unless_raw(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "f.json"
    data.write_text(json.dumps([{"text": "@SUM(A1)", "n": -3}]), encoding="utf-8")
    run("import", str(data), "--project", "f")
    target = tmp_path / "f.csv"
    run("export", "-p", "f", "--format", "csv", "-o", str(target))
    assert target.read_text(encoding="utf-8").splitlines() == ["text,n", "'@SUM(A1),-3"]
    run("export", "-p", "f", "--format", "csv", "-o", str(target), "--raw")
    assert target.read_text(encoding="utf-8").splitlines() == ["text,n", "@SUM(A1),-3"]


def test_import_creates_a_project_and_adds_to_one_only_with_add(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "clickbait.csv"
    data.write_text("nid,headline,__cb__MANUAL\n1,Ten cats,yes\n2,Budget passes,no\n")
    run("import", str(data), "-p", "news", "--primary-key", "nid")
    more = tmp_path / "more.csv"
    more.write_text("nid,headline,__cb__MANUAL\n2,Budget passes,yes\n3,Rain,no\n")
    _, err = run("import", str(more), "-p", "news", code=1)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "project 'news' already exists" in lines[0], err
    assert "--add" in lines[0]
    shown, _ = run("projects", "show", "news")
    assert json.loads(shown)["records"] == 2  # nothing merged
    out, _ = run("import", str(more), "-p", "news", "--add", "--annotator", "ann")
    assert (json.loads(out)["created"], json.loads(out)["updated"]) == (1, 1)
    _, err = run("import", str(more), "-p", "elsewhere", "--add", code=1)
    assert "no project named 'elsewhere'" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("open.csv", 'id,headline\n1,"never closed\n2,x\n',
         "open.csv: row 1: the quoted field that starts on line 2 is never closed"),
        ("inf.json", '[{"id": 1, "s": Infinity}]',
         "inf.json: row 1, column 's': Infinity is not a finite number"),
        ("nul.csv", "id,headline\n1,a\0b\n", "nul.csv: row 1 (line 2), column 'headline'"),
    ],
)  # fmt: skip
def test_import_refuses_a_bad_file_in_one_line(
    run: Run, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    _, err = run("import", str(path), "-p", "x", code=1)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
    run("projects", "show", "x", code=1)


def test_hostile_inputs_answer_one_error_line(run: Run, tmp_path: Path) -> None:
    """The CLI's doors for what answered the API's 500s (issue 11): one error line each."""
    run("sample", "--project", "cb")
    leaf = '{"ids": [1]}'
    snippet = tmp_path / "snippet.py"
    snippet.write_text("print(1)\n", encoding="utf-8")
    labels = tmp_path / "labels.csv"
    labels.write_text(f"id,task,label\n{2**63},clickbait,yes\n", encoding="utf-8")
    cases = [
        (("records", "-p", "cb", "--where", '{"not": ' * 10_000 + leaf + "}" * 10_000),
         "--where nests too deeply to be read (a filter takes at most 32 levels)"),
        (("records", "-p", "cb", "--where", '{"not": ' * 40 + leaf + "}" * 40),
         "a filter nests at most 32 levels deep"),
        (("slices", "create", "-p", "cb", "--name", "s", "--where", "[" * 10_000),
         "--where nests too deeply"),
        (("import", str(tmp_path), "-p", "x", "--format", "csv"), "no such file"),
        (("lookup", "import", "-p", "cb", "-l", "x", str(tmp_path)), "no such file"),
        (("jobs", "cancel", str(2**63)), f"no job {2**63}"),
        (("ide", "-p", "cb", "--record", str(2**63), "--file", str(snippet)),
         "no record with id"),
        (("annotate", str(labels), "-p", "cb"), str(2**63)),
    ]  # fmt: skip
    for args, message in cases:
        _, err = run(*args, code=1)
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and message in lines[0], (args[:2], err[-500:])
        assert "Traceback" not in err
    run("lookup", "add", "-p", "cb", "-l", "Städte €uro", "Köln")
    out, _ = run("lookup", "export", "-p", "cb", "-l", "Städte €uro")
    assert out == "Köln\n"
