"""Cell values on their way out of assay, into files people open: text a spreadsheet would
run as a formula is defused, and JSON text is always valid JSON."""

from __future__ import annotations

import json
import math
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: Any) -> Any:
    """A text a spreadsheet would run as a formula, with a leading ``'``; anything else as
    it is (numbers are not text: -3 in a numeric column stays -3)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def json_text(value: Any) -> str:
    """JSON text, always valid: a non-finite number (which JSON cannot hold) becomes null."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
