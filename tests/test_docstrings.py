"""The docstrings that map a layer stay true: the schema's names every table of the metadata,
the services' every service module (an entry ``name``: what it does), and neither names one
that is gone."""

from __future__ import annotations

import pkgutil
import re

from assay import services
from assay.storage import models

NAMED = re.compile(r"``([a-z_]+)``")
ENTRY = re.compile(r"``([a-z_]+)``:")


def test_the_schemas_docstring_names_every_table() -> None:
    named = set(NAMED.findall(models.__doc__ or ""))
    tables = set(models.Base.metadata.tables)
    assert not tables - named, f"storage/models.py's docstring lacks {sorted(tables - named)}"
    gone = named - tables - {"record_text_fts"}  # made by the migrations, for SQLite only
    assert not gone, f"storage/models.py's docstring names tables that are gone: {sorted(gone)}"


def test_the_services_docstring_names_every_service_module() -> None:
    named = set(ENTRY.findall(services.__doc__ or ""))
    modules = {module.name for module in pkgutil.iter_modules(services.__path__)}
    assert not modules - named, f"services/__init__.py's docstring lacks {sorted(modules - named)}"
    gone = sorted(named - modules)
    assert not gone, f"services/__init__.py's docstring names modules that are gone: {gone}"
