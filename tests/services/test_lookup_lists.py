"""Lookup lists: terms by hand, in bulk and from files, the blacklist, versions, and what
labeling functions see; on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay import Conflict, NotFound, ValidationError, Workbench
from assay.runtime.sandbox import module_name


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_project("p")
    return "p"


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("account blocked", "account_blocked"),
        ("Country-Related", "countryrelated"),
        ("3 words", "_3_words"),
        ("  ünïcode liste ", "ünïcode_liste"),
    ],
)
def test_module_names(name: str, module: str) -> None:
    assert module_name(name) == module


def test_terms_blacklist_and_versions(wb: Workbench, project: str) -> None:
    created = wb.add_terms(project, "country related", [" France", "Poland", "France", ""])
    assert (created["terms"], created["version"], created["module"]) == (
        2,
        2,
        "country_related",
    )
    assert created["changed"] == {"added": 2, "blacklisted": 0}
    same = wb.add_terms(project, "country related", ["Poland"])
    assert same["changed"]["added"] == 0 and same["version"] == 2  # nothing changed
    marked = wb.add_terms(project, "country related", ["Poland", "Mars"], blacklisted=True)
    assert marked["changed"] == {"added": 1, "blacklisted": 2}
    assert (marked["terms"], marked["blacklisted"], marked["version"]) == (3, 2, 3)
    # An ordinary add leaves a blacklisted term blacklisted.
    wb.add_terms(project, "country related", ["Mars"])
    entries = wb.get_lookup_list(project, "country related")["entries"]
    assert entries == [
        {"term": "France", "blacklisted": False},
        {"term": "Mars", "blacklisted": True},
        {"term": "Poland", "blacklisted": True},
    ]
    back = wb.remove_terms(project, "country related", ["Poland"], blacklist_only=True)
    assert back["changed"] == {"unblacklisted": 1} and back["blacklisted"] == 1
    gone = wb.remove_terms(project, "country related", ["France", "Atlantis"])
    assert gone["changed"] == {"removed": 1} and gone["terms"] == 2
    assert wb.export_terms(project, "country related", "txt") == "Poland\n"
    assert wb.export_terms(project, "country related", "csv") == (
        "term,blacklisted\nMars,true\nPoland,false\n"
    )
    listed = wb.list_lookup_lists(project)
    assert [(x["name"], x["terms"], x["blacklisted"]) for x in listed] == [
        ("country related", 2, 1)
    ]


def test_import_text_and_csv(wb: Workbench, project: str, tmp_path: Path) -> None:
    text = tmp_path / "terms.txt"
    text.write_text("\ufeffmike tyson\n  \nbarack obama\nmike tyson\n", encoding="utf-8")
    assert wb.import_terms(project, "people", text)["changed"]["added"] == 2
    table = tmp_path / "terms.csv"
    table.write_text('term,blacklisted\n"Smith, John",false\nobama,true\n', encoding="utf-8")
    result = wb.import_terms(project, "people", table)
    assert result["changed"] == {"added": 2, "blacklisted": 1}
    assert wb.export_terms(project, "people", "txt") == "Smith, John\nbarack obama\nmike tyson\n"
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("term,blacklisted\na,true,extra\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2"):
        wb.import_terms(project, "people", ragged)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        wb.import_terms(project, "people", latin)
    assert wb.get_lookup_list(project, "people")["terms"] == 4  # failed imports changed nothing


def test_names_and_errors(wb: Workbench, project: str) -> None:
    wb.create_lookup_list(project, "Account Blocked")
    with pytest.raises(Conflict, match="imported as 'account_blocked'"):
        wb.create_lookup_list(project, "account blocked")
    with pytest.raises(ValidationError, match="no letter"):
        wb.create_lookup_list(project, "!!!")
    with pytest.raises(ValidationError, match="at most 500"):
        wb.add_terms(project, "Account Blocked", ["x" * 501])
    with pytest.raises(NotFound, match="no lookup list 'nope'"):
        wb.get_lookup_list(project, "nope")
    with pytest.raises(ValidationError, match="unknown format"):
        wb.export_terms(project, "Account Blocked", "xml")
    wb.delete_lookup_list(project, "Account Blocked")
    assert wb.list_lookup_lists(project) == []


def test_many_terms_at_once(wb: Workbench, project: str) -> None:
    terms = [f"term {i}" for i in range(2_000)]
    assert wb.add_terms(project, "big", terms)["terms"] == 2_000
    assert wb.remove_terms(project, "big", terms[:1_500])["terms"] == 500


def test_labeled_spans_fill_the_list_named_like_the_label(wb: Workbench) -> None:
    import pandas as pd

    frame = pd.DataFrame({"rid": [1, 2], "text": ["Mike Tyson visits France", "Poland wins"]})
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "ents", "extraction", attribute="text", labels=["country related", "!!"])
    wb.annotate("p", "rid=1", "ents", "country related", "ann", span=(3, 4))
    wb.annotate("p", "rid=2", "ents", "country related", "bob", span=(0, 1))
    wb.annotate("p", "rid=1", "ents", "country related", "bob", span=(3, 4))
    found = wb.get_lookup_list("p", "country related")
    assert [e["term"] for e in found["entries"]] == ["France", "Poland"]
    # A blacklisted term is not brought back by labeling; a label that cannot name a list
    # (no word character) still labels.
    wb.add_terms("p", "country related", ["France"], blacklisted=True)
    wb.annotate("p", "rid=1", "ents", "country related", "cy", span=(3, 4))
    wb.annotate("p", "rid=1", "ents", "!!", "cy", span=(0, 2))
    assert wb.get_lookup_list("p", "country related")["blacklisted"] == 1
    assert [x["name"] for x in wb.list_lookup_lists("p")] == ["country related"]


def test_a_removed_span_takes_the_term_it_added(wb: Workbench) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"rid": [1, 2, 3], "text": ["Mike Tyson visits France", "Poland wins", "Poland 100%_x"]}
    )
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "ents", "extraction", attribute="text", labels=["country related"])
    wb.add_terms("p", "country related", ["Spain"])  # by hand
    wb.annotate("p", "rid=1", "ents", "country related", "ann", span=(3, 4))  # France
    wb.annotate("p", "rid=1", "ents", "country related", "ann", span=(0, 2))  # Mike Tyson
    wb.annotate("p", "rid=2", "ents", "country related", "ann", span=(0, 1))  # Poland
    wb.annotate("p", "rid=3", "ents", "country related", "bob", span=(0, 1))  # Poland again
    wb.add_terms("p", "country related", ["Mike Tyson"])  # now also by hand: it stays

    def listed() -> list[str]:
        return [e["term"] for e in wb.get_lookup_list("p", "country related")["entries"]]

    assert listed() == ["France", "Mike Tyson", "Poland", "Spain"]
    version = wb.get_lookup_list("p", "country related")["version"]
    # The mistaken span goes, and its text with it: the version moves (caches drop it).
    wb.remove_annotation("p", "rid=1", "ents", "ann", label="country related", span=(3, 4))
    assert listed() == ["Mike Tyson", "Poland", "Spain"]
    assert wb.get_lookup_list("p", "country related")["version"] == version + 1
    # A term added by hand stays when its span goes.
    wb.remove_annotation("p", "rid=1", "ents", "ann", label="country related", span=(0, 2))
    assert listed() == ["Mike Tyson", "Poland", "Spain"]
    # "Poland" leaves with the last span of it, not before.
    wb.remove_annotation("p", "rid=2", "ents", "ann", label="country related")
    assert listed() == ["Mike Tyson", "Poland", "Spain"]
    wb.remove_annotation("p", "rid=3", "ents", "bob")
    assert listed() == ["Mike Tyson", "Spain"]
    # A blacklisted term stays (the blacklist is a hand's decision).
    wb.annotate("p", "rid=2", "ents", "country related", "ann", span=(0, 1))
    wb.add_terms("p", "country related", ["Poland"], blacklisted=True)
    wb.remove_annotation("p", "rid=2", "ents", "ann")
    assert listed() == ["Mike Tyson", "Poland", "Spain"]


def test_csv_export_escapes_formula_like_terms_unless_raw(
    wb: Workbench, project: str, tmp_path: Path
) -> None:
    """Terms come from labeled spans, that is from records: a CSV opened in a spreadsheet
    must not run one as a formula."""
    terms = ["=HYPERLINK(1)", "+1", "-ing", "@me", "plain"]
    wb.add_terms(project, "l", terms)
    assert wb.export_terms(project, "l", "csv").splitlines() == [
        "term,blacklisted",
        "'+1,false",
        "'-ing,false",
        "'=HYPERLINK(1),false",
        "'@me,false",
        "plain,false",
    ]
    raw = wb.export_terms(project, "l", "csv", raw=True)
    assert raw.splitlines()[1:] == [f"{t},false" for t in sorted(terms)]
    assert wb.export_terms(project, "l", "txt") == "".join(f"{t}\n" for t in sorted(terms))
    saved = tmp_path / "l.csv"
    saved.write_text(raw, encoding="utf-8")
    wb.import_terms(project, "back", saved)
    assert [e["term"] for e in wb.get_lookup_list(project, "back")["entries"]] == sorted(terms)
