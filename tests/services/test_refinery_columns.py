"""The refinery column names that exports write and imports read back."""

from __future__ import annotations

import pytest

from assay.services.refinery_columns import ColumnName, column_name, is_confidence, parse


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("headline__entities__MANUAL", ColumnName("headline", "entities", "manual")),
        ("__clickbait__MANUAL", ColumnName(None, "clickbait", "manual")),
        ("__clickbait__WEAK_SUPERVISION", ColumnName(None, "clickbait", "weak_supervision")),
        (
            "__clickbait__WEAK_SUPERVISION__confidence",
            ColumnName(None, "clickbait", "weak_supervision", confidence=True),
        ),
        ("my__head__topic_one__MANUAL", ColumnName("my__head", "topic_one", "manual")),
    ],
)
def test_a_label_column_name_parses_and_is_written_back(name: str, parsed: ColumnName) -> None:
    assert parse(name) == parsed
    assert (
        column_name(parsed.attribute, parsed.task, parsed.source, confidence=parsed.confidence)
        == name
    )


@pytest.mark.parametrize(
    "name", ["headline", "a__b", "__clickbait__manual", "__clickbait__MANUAL__x", "____MANUAL"]
)
def test_other_names_are_attributes(name: str) -> None:
    assert parse(name) is None


def test_a_confidence_column_is_known_by_its_ending() -> None:
    assert is_confidence("__t__WEAK_SUPERVISION__confidence")
    assert not is_confidence("__t__WEAK_SUPERVISION")
