"""The docstrings that map a layer stay true: the schema's names every table of the metadata,
and no table that is gone."""

from __future__ import annotations

import re

from assay.storage import models

NAMED = re.compile(r"``([a-z_]+)``")


def test_the_schemas_docstring_names_every_table() -> None:
    named = set(NAMED.findall(models.__doc__ or ""))
    tables = set(models.Base.metadata.tables)
    assert not tables - named, f"storage/models.py's docstring lacks {sorted(tables - named)}"
    gone = named - tables - {"record_text_fts"}  # made by the migrations, for SQLite only
    assert not gone, f"storage/models.py's docstring names tables that are gone: {sorted(gone)}"
