"""The package's face: ``assay.__all__`` is sorted, names what ``assay`` imports and nothing
else, and holds every ``AssayError`` subclass of the package, so a user catches any error of
assay from ``assay`` (as httpx's tests/test_exported_members.py checks httpx's)."""

from __future__ import annotations

from types import ModuleType

from test_error_codes_doc import error_classes

import assay


def test_all_is_sorted_and_names_what_assay_imports() -> None:
    assert assay.__all__ == sorted(assay.__all__)
    public = sorted(
        name
        for name, value in vars(assay).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    assert assay.__all__ == public


def test_every_error_class_is_exported() -> None:
    missing = [
        f"{cls.__module__}.{cls.__name__}"
        for cls in error_classes()
        if cls.__name__ not in assay.__all__ or getattr(assay, cls.__name__) is not cls
    ]
    assert not missing, f"assay.__all__ lacks {missing}"
