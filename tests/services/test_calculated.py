"""Calculated attributes and the record IDE: code run in the sandbox; on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay import Conflict, ImportFileError, ValidationError, Workbench

LENGTH = """
def headline_length(record):
    print("tokens:", len(record["headline"]))
    return len(record["headline"])
"""

FIRST_WORD = """
def first_word(record):
    return record["headline"][0].text.upper() + " Zürich"
"""

BAD_INTEGER = """
def bad(record):
    n = len(record["headline"])
    if n % 3 == 0:
        return "abc"
    if n % 3 == 1:
        return n + 0.5
    return n
"""


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    return "cb"


def test_add_try_run_query_and_rerun(wb: Workbench, project: str) -> None:
    added = wb.add_calculated_attribute(project, "headline_length", "integer", LENGTH)
    assert added["state"] == "new" and added["code_version"] == 1
    with pytest.raises(Conflict):
        wb.add_calculated_attribute(project, "headline", "integer", LENGTH)
    with pytest.raises(ValidationError, match="unknown type"):
        wb.add_calculated_attribute(project, "x", "date", LENGTH)

    tried = wb.try_calculated_attribute(project, "headline_length", n=10, seed=3)
    assert tried["error"] is None and len(tried["results"]) == 10
    for row in tried["results"]:
        record = wb.get_record(project, row["record_id"])
        n = len(record["tokens"]["headline"])
        assert (row["value"], row["output"], row["error"]) == (n, f"tokens: {n}\n", None)
        assert "headline_length" not in record["data"]  # nothing stored

    job = wb.run_calculated_attribute(project, "headline_length", wait=True)
    assert job["status"] == "done", job
    found = wb.get_calculated_attribute(project, "headline_length")
    total = wb.get_project(project)["records"]
    assert found["state"] == "ready" and found["last_run"]["records"] == total
    stored = wb.get_record(project, 1)
    assert stored["data"]["headline_length"] == len(stored["tokens"]["headline"])
    # Like any attribute: filters and order.
    longest = wb.query(project, order_by="headline_length", descending=True, limit=1)
    top = longest["records"][0]["data"]["headline_length"]
    long_ones = wb.query(project, {"attribute": "headline_length", "op": "ge", "value": top})
    assert long_ones["total"] >= 1
    assert (
        wb.query(project, {"attribute": "headline_length", "op": "gt", "value": top})["total"] == 0
    )
    assert wb.get_project(project)["attributes"][-1] == {
        "name": "headline_length",
        "data_type": "integer",
        "primary_key": False,
        "position": len(wb.get_project(project)["attributes"]) - 1,
        "calculated": True,
    }

    # New code: stale until rerun, which replaces every value.
    wb.update_calculated_attribute(
        project, "headline_length", LENGTH.replace("return len", "return 1 + len")
    )
    assert wb.get_calculated_attribute(project, "headline_length")["state"] == "stale"
    assert wb.run_calculated_attribute(project, "headline_length", wait=True)["status"] == "done"
    again = wb.get_record(project, 1)
    assert again["data"]["headline_length"] == len(again["tokens"]["headline"]) + 1


def test_text_attribute_gets_folded_text_and_tokens(wb: Workbench, project: str) -> None:
    wb.add_calculated_attribute(project, "shout", "text", FIRST_WORD)
    assert wb.run_calculated_attribute(project, "shout", wait=True)["status"] == "done"
    record = wb.get_record(project, 1)
    first = record["tokens"]["headline"][0]["text"]
    assert record["data"]["shout"] == f"{first.upper()} Zürich"
    assert [t["text"] for t in record["tokens"]["shout"]] == [first.upper(), "Zürich"]
    total = wb.get_project(project)["records"]
    hits = wb.query(project, {"attribute": "shout", "op": "contains", "value": "züRICH"})
    assert hits["total"] == total
    # A rerun replaces the stored text: the old one no longer matches.
    wb.update_calculated_attribute(project, "shout", "def f(record):\n    return 'Bern'\n")
    assert wb.run_calculated_attribute(project, "shout", wait=True)["status"] == "done"
    assert (
        wb.query(project, {"attribute": "shout", "op": "contains", "value": "zürich"})["total"] == 0
    )
    assert (
        wb.query(project, {"attribute": "shout", "op": "contains", "value": "bern"})["total"]
        == total
    )


def test_type_mismatches_are_reported_per_record_and_nothing_is_stored(
    wb: Workbench, project: str
) -> None:
    wb.add_calculated_attribute(project, "bad", "integer", BAD_INTEGER)
    tried = wb.try_calculated_attribute(project, "bad", record_ids=list(range(1, 11)))
    assert tried["error"] is not None and "not of type integer" in tried["error"]
    errors = {row["record_id"]: row["error"] for row in tried["results"]}
    for row in tried["results"]:
        n = len(wb.get_record(project, row["record_id"])["tokens"]["headline"])
        expected = [
            "returned str 'abc', not a number (integer)",
            f"returned {n + 0.5!r}, which has a fraction, not an integer",
            None,
        ][n % 3]
        assert errors[row["record_id"]] == expected

    job = wb.run_calculated_attribute(project, "bad", wait=True)
    assert job["status"] == "failed"
    assert "not of type integer" in job["error"] and "nothing was stored" in job["error"]
    assert "record " in job["error"]
    assert "bad" not in wb.get_record(project, 1)["data"]
    assert wb.get_calculated_attribute(project, "bad")["state"] == "new"


def test_exceptions_store_nothing_and_keep_previous_values(wb: Workbench, project: str) -> None:
    wb.add_calculated_attribute(project, "flag", "boolean", "def f(record):\n    return True\n")
    assert wb.run_calculated_attribute(project, "flag", wait=True)["status"] == "done"
    wb.update_calculated_attribute(project, "flag", "def f(record):\n    return 1 / 0\n")
    tried = wb.try_calculated_attribute(project, "flag", record_ids=[1, 2])
    assert "ZeroDivisionError" in tried["error"]
    assert [f["record_id"] for f in tried["failures"]] == [1, 2]
    job = wb.run_calculated_attribute(project, "flag", wait=True)
    assert job["status"] == "failed" and "ZeroDivisionError" in job["error"]
    assert wb.get_record(project, 1)["data"]["flag"] is True
    # A dict is no value of any type.
    wb.update_calculated_attribute(project, "flag", "def f(record):\n    return {'a': 1}\n")
    tried = wb.try_calculated_attribute(project, "flag", record_ids=[1])
    assert tried["results"][0]["error"] == "returned dict {'a': 1}, not a boolean"


def test_float_and_null_values_records_added_later_and_delete(
    wb: Workbench, project: str, tmp_path: object
) -> None:
    code = (
        "def ratio(record):\n    n = len(record['headline'])\n    return None if n > 8 else n / 2\n"
    )
    wb.add_calculated_attribute(project, "ratio", "float", code)
    assert wb.run_calculated_attribute(project, "ratio", wait=True)["status"] == "done"
    total = wb.get_project(project)["records"]
    nulls = wb.query(project, {"attribute": "ratio", "op": "is_null"})["total"]
    halves = wb.query(project, {"attribute": "ratio", "op": "le", "value": 4.0})["total"]
    assert 0 < nulls < total and nulls + halves == total
    assert wb.get_record(project, 1)["data"]["ratio"] in (
        None,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
        3.0,
        3.5,
        4.0,
    )

    # A record uploaded later has no value until the next run: the attribute is stale.
    from pathlib import Path

    upload = Path(str(tmp_path)) / "more.csv"
    upload.write_text("running_id,headline\n99999,A brand new headline\n")
    wb.import_file(upload, project, types={"running_id": "integer"})
    assert wb.get_calculated_attribute(project, "ratio")["state"] == "stale"
    assert wb.run_calculated_attribute(project, "ratio", wait=True)["status"] == "done"
    assert wb.get_calculated_attribute(project, "ratio")["state"] == "ready"

    wb.delete_calculated_attribute(project, "ratio")
    assert "ratio" not in wb.get_record(project, 1)["data"]
    assert "ratio" not in [a["name"] for a in wb.get_project(project)["attributes"]]
    with pytest.raises(ValidationError, match="uploaded, not calculated"):
        wb.delete_calculated_attribute(project, "headline")


def test_record_ide(wb: Workbench, project: str) -> None:
    ran = wb.run_snippet(
        project, 2, 'print(record["headline"].text)\nprint(len(record["headline"]))'
    )
    record = wb.get_record(project, 2)
    tokens = record["tokens"]["headline"]
    assert ran["output"] == f"{record['data']['headline']}\n{len(tokens)}\n"
    assert (ran["value"], ran["error"], ran["previous_id"], ran["next_id"]) == (None, None, 1, 3)

    defined = wb.run_snippet(
        project, 2, "def ide(record):\n    return {record['headline'][0].text}\n"
    )
    assert defined["value"] == repr({tokens[0]["text"]}) and defined["output"] == ""
    assert wb.run_snippet(project, 1, "")["previous_id"] is None

    failed = wb.run_snippet(project, 1, "x = 1\nraise ValueError('nope')\n")
    assert failed["error"] == "ValueError: nope"
    assert (
        'File "<ide>", line 2' in failed["traceback"] and "raise ValueError" in failed["traceback"]
    )
    assert "_assay_ide" not in failed["traceback"]

    broken = wb.run_snippet(project, 1, "def (:\n")
    assert broken["error"].startswith("SyntaxError")


def test_archives_carry_the_code(wb: Workbench, project: str, tmp_path: object) -> None:
    from pathlib import Path

    wb.add_calculated_attribute(project, "shout", "category", FIRST_WORD)
    assert wb.run_calculated_attribute(project, "shout", wait=True)["status"] == "done"
    exported = Path(str(tmp_path)) / "cb.jsonl"
    wb.export(project, "jsonl", exported)
    first_row = json.loads(exported.read_text().splitlines()[0])
    assert first_row["shout"].endswith(" Zürich")
    path = Path(str(tmp_path)) / "cb.assay.json"
    wb.export(project, "project", path)
    wb.import_file(path, "copy")
    copied = wb.get_calculated_attribute("copy", "shout")
    assert copied["code"] == FIRST_WORD and copied["state"] == "ready"
    first = "running_id=0"
    assert wb.get_record("copy", first)["data"] == wb.get_record(project, first)["data"]
    hits = wb.query("copy", {"attribute": "shout", "op": "contains", "value": "zürich"})
    assert hits["total"] == wb.get_project(project)["records"]


def test_an_upsert_makes_values_stale_and_a_column_cannot_overwrite_them(
    wb: Workbench, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb.add_calculated_attribute(project, "headline_length", "integer", LENGTH)
    assert wb.run_calculated_attribute(project, "headline_length", wait=True)["status"] == "done"
    first = wb.query(project, limit=1)["records"][0]
    key = first["data"]["running_id"]
    clash = tmp_path / "clash.csv"
    clash.write_text(f"running_id,headline,headline_length\n{key},Short one,999\n")
    with pytest.raises(ImportFileError, match="'headline_length' is the calculated attribute"):
        wb.import_file(clash, project)
    assert wb.get_record(project, first["id"])["data"] == first["data"]  # nothing written
    assert wb.get_calculated_attribute(project, "headline_length")["state"] == "ready"

    update = tmp_path / "update.csv"
    update.write_text(f"running_id,headline\n{key},Three words here\n")
    assert wb.import_file(update, project)["updated"] == 1
    assert wb.get_calculated_attribute(project, "headline_length")["state"] == "stale"
    assert wb.run_calculated_attribute(project, "headline_length", wait=True)["status"] == "done"
    assert wb.get_calculated_attribute(project, "headline_length")["state"] == "ready"
    assert wb.get_record(project, first["id"])["data"]["headline_length"] == 3

    monkeypatch.setattr(wb.settings, "import_chunk_size", 2)  # a staged import, swapped in
    keys = [r["data"]["running_id"] for r in wb.query(project, limit=3)["records"]]
    update.write_text("running_id,headline\n" + "".join(f"{k},Two words\n" for k in keys))
    assert wb.import_file(update, project)["updated"] == 3
    assert wb.get_calculated_attribute(project, "headline_length")["state"] == "stale"


@pytest.mark.parametrize(
    ("data_type", "returned", "error"),
    [
        ("text", "'a\\x00b'", "returned 'a\\x00b', a string with a NUL character (U+0000)"),
        ("float", "float('inf')", "not JSON"),  # the sandbox refuses it on the way out
        ("float", "float('nan')", "not JSON"),
    ],
)
def test_values_no_database_stores_are_refused_and_nothing_is_stored(
    wb: Workbench, tmp_path: Path, data_type: str, returned: str, error: str
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"text": "a"}, {"text": "b"}]), encoding="utf-8")
    wb.import_file(path, "p")
    wb.add_calculated_attribute("p", "x", data_type, f"def f(record):\n    return {returned}\n")
    job = wb.run_calculated_attribute("p", "x", wait=True)
    assert job["status"] == "failed" and error in job["error"], job["error"]
    assert "nothing was stored" in job["error"] or "raised" in job["error"]
    assert [r["data"] for r in wb.query("p", None)["records"]] == [{"text": "a"}, {"text": "b"}]


def test_non_finite_numbers_do_not_fit_a_number_attribute() -> None:
    from assay.services.calculated import check_value

    for value in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="not a finite number"):
            check_value(value, "float", 100)
