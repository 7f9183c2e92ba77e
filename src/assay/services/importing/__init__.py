"""Import records (and refinery-style label columns) from a table, all or nothing.

The work is done in two phases: everything that can fail (types, keys, sizes, labels, spans,
tokens) is checked and prepared in memory first; then one transaction writes it, or, for a
large import, short transactions stage it where nobody looks and one last short one swaps it
in (:func:`import_staged`). A failed import leaves the project exactly as it was.

The modules, each a concern, in the order they build on each other:

- ``column_types``: a column's data type (inferred or set) and its values converted to it;
- ``label_columns``: the refinery label columns of a table, their cells parsed;
- ``planning``: :class:`ImportOptions` and :func:`plan_import`, every check before a write;
- ``stored``: a chunk's rows in their stored form (encoded, hashed, folded, tokenized);
- ``writing``: the project, attributes, records, texts and tokens, for both paths;
- ``labels``: label columns checked and written as annotation rows;
- ``one_transaction``: :func:`import_table`, the import in the caller's transaction;
- ``pacing``: SQLite write pacing between a staged import's transactions;
- ``staging``: where a staged import keeps its rows until the swap, and the swap;
- ``staged``: :func:`import_staged` and :func:`recover`.
"""

from assay.services.importing.column_types import infer_type
from assay.services.importing.label_columns import split_columns
from assay.services.importing.labels import IMPORT_SOURCE_ID
from assay.services.importing.one_transaction import import_table
from assay.services.importing.planning import ImportOptions, Into, check_into, plan_import
from assay.services.importing.staged import import_staged, recover
from assay.services.importing.writing import ImportResult, insert_texts

__all__ = [
    "IMPORT_SOURCE_ID",
    "ImportOptions",
    "ImportResult",
    "Into",
    "check_into",
    "import_staged",
    "import_table",
    "infer_type",
    "insert_texts",
    "plan_import",
    "recover",
    "split_columns",
]
