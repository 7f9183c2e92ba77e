"""What an executor runs for one partition of a heuristics run: several codes over the same
records, in the process's own sandbox (on a Dask worker: that worker's); and an active
learner's run, a single item.

Top level and given plain values only, so that ``functools.partial(run_partition, ...)``
pickles for a cluster; locally it runs in the calling thread, where the process's sandbox
is the server's (``Workbench.sandbox``, which protects the data dir first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from assay.runtime import sandbox
from assay.runtime.sandbox import (
    Learned,
    LearnerInput,
    Limits,
    OutputSpec,
    Record,
    RecordResult,
    SandboxError,
)

Partition = tuple[tuple[int, ...], list[Record]]  # (indexes of the codes to run, records)


def run_partition(
    partition: Partition,
    *,
    codes: Sequence[str],
    outputs: Sequence[OutputSpec | None],
    language: str,
    knowledge: Mapping[str, Sequence[str]],
    limits: Limits,
    workers: int = 1,
) -> list[list[RecordResult] | SandboxError]:
    """Each wanted code's results on the partition's records, or the error that ended it.

    ``workers`` sandbox workers share the records (a contiguous slice each, at the same
    time: the user's code runs in their processes, so they use as many cores)."""
    wanted, records = partition
    chosen = ([codes[i] for i in wanted], [outputs[i] for i in wanted])
    size = max(1, -(-len(records) // max(1, workers)))
    slices = [records[start : start + size] for start in range(0, len(records), size)]
    if len(slices) <= 1:
        return _run_slice(chosen, records, language, knowledge, limits)
    with ThreadPoolExecutor(len(slices), thread_name_prefix="assay-partition") as pool:
        parts = list(
            pool.map(lambda part: _run_slice(chosen, part, language, knowledge, limits), slices)
        )
    found: list[list[RecordResult] | SandboxError] = []
    for number in range(len(wanted)):
        mine = [part[number] for part in parts]
        error = next((item for item in mine if isinstance(item, SandboxError)), None)
        found.append(error or [r for item in mine if isinstance(item, list) for r in item])
    return found


def _run_slice(
    chosen: tuple[list[str], list[OutputSpec | None]],
    records: list[Record],
    language: str,
    knowledge: Mapping[str, Sequence[str]],
    limits: Limits,
) -> list[list[RecordResult] | SandboxError]:
    """One worker's run of the codes. A run that ends as a whole (a limit passed, the
    worker lost) cannot tell whose code did it: then each code runs again alone, so that
    only the guilty one fails."""
    codes, outputs = chosen
    box = sandbox.default_sandbox()
    options: dict[str, Any] = {"language": language, "knowledge": knowledge, "limits": limits}
    try:
        return box.run_each(codes, records, outputs=outputs, **options)
    except SandboxError as exc:
        if len(codes) == 1:
            return [exc]
    found: list[list[RecordResult] | SandboxError] = []
    for code, output in zip(codes, outputs, strict=True):
        try:
            found.append(box.run(code, records, output=output, **options))
        except SandboxError as exc:
            found.append(exc)
    return found


def run_learner(
    examples: LearnerInput,
    *,
    code: str,
    classes: Sequence[str],
    limits: Limits,
) -> Learned | SandboxError:
    """An active learner's run (``Sandbox.learn``) in the process's own sandbox; its error
    comes back as the value, like a partition's."""
    try:
        return sandbox.default_sandbox().learn(code, examples, classes=classes, limits=limits)
    except SandboxError as exc:
        return exc
