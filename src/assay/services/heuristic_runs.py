"""Running heuristics on every record: partitions on the executor, a result cache, one swap.

A run reads the project's records once for all its heuristics, in partitions of
``PARTITION`` records; the executor's ``map`` runs each partition (locally in this thread,
on a Dask cluster on its workers), where one sandbox worker runs every heuristic that needs
the partition, building each record's Docs once. Progress is reported per partition.

**The cache.** What a heuristic returns for a record depends on the record's content and on
the *run key*: the code, the task's type, labels and attribute, the project's language and
text attributes, and the versions of the lookup lists the code imports. Records are grouped
in *buckets* of ids (``id >> BUCKET_BITS``: ids only grow, so a bucket's members change only
when records are added, changed or deleted); a bucket's *digest* hashes its records' ids and
content hashes. Each heuristic keeps, next to its votes, the key of its last run and the
digest of every bucket that run covered (``heuristic.cache``: a few bytes per thousand
records, nothing per record, so 50 heuristics over 1M records cost some 50,000 entries). A
run with the same key runs only the buckets whose digest differs (votes of the others are
kept as they are: they are the cached results); a new key runs everything.

**All or nothing.** Results stay in memory (the votes only) until every partition is done;
then each heuristic that succeeded has the votes of the records it ran replaced in one short
transaction. A heuristic that failed keeps its previous votes and cache; the job fails with
its error after the others were stored.

**Active learners and zero-shot heuristics** (``services/embedding_heuristics.py``) read an
embedding instead of records, and **model heuristics** (``services/model_heuristic.py``)
predict with the task's live model: their kind plans each one as a whole (``Kind.plan``: an
active learner in one sandbox run, through the executor's ``map`` too; a model in this
process, the server's own code), run after the partitions. Their key covers the embedding's
version, their code or settings and, for an active learner, the labels it trains on; a
model heuristic's covers the live version, the task's labels and the text attributes; with
the same key and unchanged records, a run keeps their votes.

:func:`run` is a run's one entry point, as a job's body.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import itertools
import json
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from assay.errors import AssayError, ValidationError
from assay.runtime import partitions
from assay.runtime.executor import MapFunction
from assay.runtime.job_runner import Progress
from assay.runtime.sandbox import Limits, OutputSpec, Record, RecordResult, SandboxError
from assay.services import annotating, heuristics, lookup_lists, projects, user_code
from assay.services import tasks as task_service
from assay.services.heuristic_kinds import WholeRun
from assay.storage import bulk
from assay.storage.db import Database
from assay.storage.models import Annotation, Heuristic, LabelingTask, Project, core_table, utcnow
from assay.storage.models import Record as RecordRow

PARTITION = 10_000  # records per executor item
# Sandbox workers that share a partition at once: the code runs in their processes, so
# they use as many cores (a Dask worker runs its partitions the same way).
WORKERS = max(1, min(4, os.cpu_count() or 1))
BUCKET_BITS = 10  # a cache bucket: 1,024 consecutive record ids
CACHE_FORMAT = 1  # part of every run key: a change of how results are made drops all caches


class HeuristicRunFailed(AssayError):
    """Some heuristics of a run failed (their previous votes are kept); ``detail.errors``
    gives each one's error."""

    status_code = 422
    code = "heuristic_run_failed"


@dataclass
class _Plan:
    """One heuristic's part of a run."""

    id: int
    name: str
    task_id: int
    code: str
    output: OutputSpec
    key: str
    stored: dict[str, str] = field(default_factory=dict)  # reusable bucket digests
    todo: set[int] = field(default_factory=set)  # buckets to run
    rows: list[dict[str, Any]] = field(default_factory=list)  # new votes
    ran: int = 0
    error: AssayError | None = None
    kind: str = "labeling_function"
    # Run over the records' partitions (a labeling function), or as a whole (``whole``:
    # an active learner, a zero-shot or model heuristic), adding ``facts`` to its last_run.
    over_records: bool = True
    whole: WholeRun | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def imported_lists(code: str) -> set[str] | None:
    """The module names the code imports from ``knowledge``; None when it may use any
    (``import knowledge``, or code that does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "knowledge":
            if any(alias.name == "*" for alias in node.names):
                return None
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import) and any(
            alias.name == "knowledge" for alias in node.names
        ):
            return None
    return found


def run_key(
    heuristic: Heuristic,
    output: OutputSpec,
    language: str,
    text: list[str],
    versions: dict[str, int],
) -> str:
    """What a heuristic's results depend on besides the records' content, as a hash."""
    imported = imported_lists(heuristic.code)
    used = {
        name: version for name, version in versions.items() if imported is None or name in imported
    }
    doc = {
        "format": CACHE_FORMAT,
        "code": heuristic.code,
        "task_type": output.task_type,
        "labels": sorted(output.labels),
        "attribute": output.attribute,
        "language": language,
        "text_attributes": text,
        "lists": used,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def bucket_digests(
    session: Session, project: Project
) -> tuple[dict[str, str], dict[int, list[int]]]:
    """Each bucket's digest of its visible records' (id, content hash), and their ids."""
    hashes: dict[int, Any] = {}
    members: dict[int, list[int]] = {}
    rows = session.execute(
        select(RecordRow.id, RecordRow.content_hash)
        .where(projects.visible_records(session, project))
        .order_by(RecordRow.id)
    )
    for record_id, content_hash in rows:
        bucket = record_id >> BUCKET_BITS
        if bucket not in hashes:
            hashes[bucket] = hashlib.blake2b(digest_size=12)
            members[bucket] = []
        hashes[bucket].update(f"{record_id}:{content_hash};".encode())
        members[bucket].append(record_id)
    return {str(bucket): h.hexdigest() for bucket, h in hashes.items()}, members


@dataclass
class Run:
    """A run in progress: what each heuristic must run, and what it got."""

    plans: list[_Plan]
    digests: dict[str, str]
    members: dict[int, list[int]]
    language: str
    knowledge: dict[str, list[str]]
    code_versions: dict[int, int]
    started: float = field(default_factory=time.perf_counter)

    @property
    def code_plans(self) -> list[_Plan]:
        """The plans that run code on records, a partition at a time."""
        return [plan for plan in self.plans if plan.over_records]

    @property
    def whole_plans(self) -> list[_Plan]:
        """The plans run as a whole (active learners, zero-shot) with something to run."""
        return [p for p in self.plans if p.whole is not None and p.todo and p.error is None]

    @property
    def todo(self) -> list[int]:
        """The buckets some code of the run runs, in order."""
        wanted = set().union(*(plan.todo for plan in self.code_plans))
        return sorted(bucket for bucket in wanted if bucket in self.members)


def prepare(session: Session, project: Project, names: list[str], data_dir: Path) -> Run:
    """Plan a run of these heuristics: each one's key, and the buckets it must run. Active
    learners and zero-shot heuristics read their embedding from ``data_dir``; one that cannot
    run gets its error here (the others still run)."""
    digests, members = bucket_digests(session, project)
    known = lookup_lists.knowledge(session, project)
    text = sorted(a.name for a in projects.attributes(session, project) if a.data_type == "text")
    plans: list[_Plan] = []
    code_versions: dict[int, int] = {}
    specs: dict[int, OutputSpec] = {}
    for name in names:
        heuristic = heuristics.get(session, project, name)
        if heuristic.task_id not in specs:
            task = session.get(LabelingTask, heuristic.task_id)
            assert task is not None  # the heuristic cascades with its task
            specs[heuristic.task_id] = heuristics.output_spec(session, task)
        output = specs[heuristic.task_id]
        code_versions[heuristic.id] = heuristic.code_version
        whole = _whole_plan(session, heuristic, output, digests, data_dir)
        if whole is not None:
            plans.append(whole)
            continue
        key = run_key(heuristic, output, project.language, text, known["versions"])
        cache = heuristic.cache or {}
        stored: dict[str, str] = cache.get("buckets", {}) if cache.get("key") == key else {}
        every = set(digests) | set(stored)
        todo = {int(b) for b in every if stored.get(b) != digests.get(b)}
        plan = _Plan(heuristic.id, heuristic.name, heuristic.task_id, heuristic.code, output, key)
        plan.stored, plan.todo = stored, todo
        plans.append(plan)
    return Run(plans, digests, members, project.language, known["modules"], code_versions)


def _whole_plan(
    session: Session,
    heuristic: Heuristic,
    output: OutputSpec,
    digests: dict[str, str],
    data_dir: Path,
) -> _Plan | None:
    """The plan of a heuristic that its kind runs as a whole (None: it runs over the
    records): everything or nothing to run (its votes all change with its model), nothing
    when its key and the records are unchanged."""
    plan = _Plan(heuristic.id, heuristic.name, heuristic.task_id, heuristic.code, output, "")
    plan.kind, plan.over_records = heuristic.kind, False
    try:
        plan.whole = heuristics.kind_of(heuristic.kind).plan(session, heuristic, data_dir)
    except AssayError as exc:
        plan.error = exc
        return plan
    if plan.whole is None:
        return None
    plan.key = plan.whole.key
    cache = heuristic.cache or {}
    if cache.get("key") != plan.key or cache.get("buckets") != digests:
        plan.todo = {int(bucket) for bucket in digests}
    return plan


def records(session: Session, project: Project, run: Run) -> Iterable[Record]:
    """The records some heuristic of the run must run, as the sandbox takes them."""
    todo = run.todo
    if len(todo) == len(run.members):
        return user_code.sandbox_records(session, project)
    ids = [record_id for bucket in todo for record_id in run.members[bucket]]
    return user_code.sandbox_records(session, project, ids) if ids else []


def execute(
    run: Run,
    records: Iterable[Record],
    mapper: MapFunction,
    limits: Limits,
    progress: Progress,
) -> None:
    """Run the plans: code over the records, a partition at a time through ``mapper`` (the
    executor's ``map``), then the active learners and zero-shot heuristics; keeps each
    heuristic's new votes, or its error."""
    code_work = sum(len(run.members.get(b, ())) for p in run.code_plans for b in p.todo)
    whole_work = len(run.whole_plans) * sum(len(ids) for ids in run.members.values())
    share = code_work / (code_work + whole_work) if whole_work else 1.0
    if run.code_plans:
        _execute_code(run, records, mapper, limits, _scaled(progress, 0.0, share))
    if whole_work:
        _execute_wholes(run, mapper, limits, _scaled(progress, share, 1.0))


def _scaled(progress: Progress, low: float, high: float) -> Progress:
    return lambda fraction, message: progress(low + (high - low) * fraction, message)


def _execute_code(
    run: Run,
    records: Iterable[Record],
    mapper: MapFunction,
    limits: Limits,
    progress: Progress,
) -> None:
    plans = run.code_plans
    total = sum(len(run.members.get(b, ())) for plan in plans for b in plan.todo)
    function = functools.partial(
        partitions.run_partition,
        codes=[plan.code for plan in plans],
        outputs=[plan.output for plan in plans],
        language=run.language,
        knowledge=run.knowledge,
        limits=limits,
        workers=WORKERS,
    )
    sent: deque[tuple[int, ...]] = deque()  # what each item asked for, in order

    def items() -> Iterator[partitions.Partition]:
        chunks = iter(records)
        while chunk := list(itertools.islice(chunks, PARTITION)):
            buckets = {record.id >> BUCKET_BITS for record in chunk}
            wanted = tuple(
                i for i, plan in enumerate(plans) if plan.error is None and plan.todo & buckets
            )
            if wanted:
                sent.append(wanted)
                yield wanted, chunk

    label = plans[0].name if len(plans) == 1 else f"{len(plans)} heuristics"
    done = 0
    progress(0.0, f"{label}: 0 / {total:,} records")
    for found in mapper(function, items()):
        wanted = sent.popleft()
        for i, results in zip(wanted, found, strict=True):
            plan = plans[i]
            if isinstance(results, SandboxError):
                plan.error = plan.error or results
                continue
            mine = [r for r in results if r.record_id >> BUCKET_BITS in plan.todo]
            plan.ran += len(mine)
            done += len(mine)
            plan.rows.extend(_rows(plan, mine))
        progress(done / total if total else 1.0, f"{label}: {done:,} / {total:,} records")


def _execute_wholes(run: Run, mapper: MapFunction, limits: Limits, progress: Progress) -> None:
    """Each heuristic run as a whole (an active learner in the sandbox through ``mapper``, a
    zero-shot heuristic here) over every record of the run; records its embedding does not
    hold get no vote."""
    record_ids = np.fromiter(
        itertools.chain.from_iterable(run.members[b] for b in sorted(run.members)), np.int64
    )
    plans = run.whole_plans
    for number, plan in enumerate(plans):
        assert plan.whole is not None
        kind = plan.kind.replace("_", " ")
        progress(number / len(plans), f"{plan.name}: {kind} over {len(record_ids):,} records")
        try:
            votes, plan.facts = plan.whole.votes(plan.code, record_ids, mapper, limits)
        except AssayError as exc:
            plan.error = exc
            continue
        plan.rows = [
            {"record_id": r, "label": label, "start": start, "end": end, "confidence": c}
            for r, label, start, end, c in votes
        ]
        plan.ran = len(record_ids)
    progress(1.0, f"{len(plans)} model heuristics done")


def _rows(plan: _Plan, results: list[RecordResult]) -> Iterator[dict[str, Any]]:
    """Votes as (record, label name, span) rows; labels become ids when stored."""
    for result in results:
        for label, start, end in heuristics.units(plan.output.task_type, result.value):
            yield {"record_id": result.record_id, "label": label, "start": start, "end": end}


def store(session: Session, project: Project, run: Run) -> dict[str, Any]:
    """The swap, in this (short) transaction: each heuristic that succeeded gets its new
    votes in place of those of the buckets it ran, and its cache and ``last_run``."""
    seconds = round(time.perf_counter() - run.started, 3)
    now = utcnow()
    created = bulk.bound_datetime(session, core_table(Annotation).c.created_at, now)
    total = sum(len(ids) for ids in run.members.values())
    done: dict[str, Any] = {}
    for plan in run.plans:
        heuristic = session.get(Heuristic, plan.id)
        if plan.error is not None or heuristic is None:  # failed, or deleted meanwhile
            continue
        votes = heuristics.votes_of(heuristic)
        if plan.stored:
            for ranges in _batched(list(_ranges(plan.todo)), 200):
                between = [Annotation.record_id.between(lo, hi) for lo, hi in ranges]
                session.execute(delete(Annotation).where(*votes, or_(*between)))
        else:
            session.execute(delete(Annotation).where(*votes))
        labels = {label.name: label.id for label in task_service.labels(session, heuristic.task)}
        annotating.insert_many(
            session,
            (
                (
                    row["record_id"],
                    plan.task_id,
                    labels[row["label"]],
                    heuristics.SOURCE,
                    str(plan.id),
                    "",
                    row["start"],
                    row["end"],
                    row.get("confidence"),
                    False,
                    False,
                    created,
                )
                for row in plan.rows
            ),
        )
        previous = heuristic.last_run or {}
        if plan.ran or plan.todo or "votes" not in previous:
            n_votes, with_votes = session.execute(
                select(func.count(), func.count(func.distinct(Annotation.record_id))).where(*votes)
            ).one()
        else:
            n_votes, with_votes = previous["votes"], previous["records_with_votes"]
        heuristic.cache = {"key": plan.key, "buckets": run.digests}
        last_run = {
            "code_version": run.code_versions[plan.id],
            "records": total,
            "ran": plan.ran,
            "cached": total - plan.ran,
            "records_with_votes": int(with_votes),
            "votes": int(n_votes),
            "seconds": seconds,
            "finished_at": now.isoformat(),
        }
        facts = plan.facts or previous.get("model")
        if facts:  # a whole run's: its embedding and labels, or the model version it used
            last_run["model"] = facts
        heuristic.last_run = done[plan.name] = last_run
    session.flush()
    return done


def _ranges(buckets: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Record id ranges (inclusive) of runs of consecutive buckets."""
    ordered = sorted(buckets)
    for _, group in itertools.groupby(enumerate(ordered), lambda pair: pair[1] - pair[0]):
        members = [bucket for _, bucket in group]
        yield members[0] << BUCKET_BITS, ((members[-1] + 1) << BUCKET_BITS) - 1


def refresh(session: Session, run: Run) -> None:
    """Statistics of each task whose votes changed in the run (or that has none yet)."""
    for task_id in {plan.task_id for plan in run.plans}:
        task = session.get(LabelingTask, task_id)
        if task is None:
            continue
        mine = [p for p in run.plans if p.task_id == task_id]
        fresh = all(
            not p.ran and not p.todo and p.error is None and _has_statistics(session, p.id)
            for p in mine
        )
        if not fresh:
            heuristics.refresh_statistics(session, task)


def _has_statistics(session: Session, heuristic_id: int) -> bool:
    found = session.get(Heuristic, heuristic_id)
    return found is not None and found.statistics is not None


def _batched(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check(run: Run) -> None:
    """Raise the failures of the run, once the others are stored."""
    failed = [plan for plan in run.plans if plan.error is not None]
    if not failed:
        return
    first = failed[0].error
    if len(run.plans) == 1 and first is not None:  # its own kind of error, naming it
        first.message = f"heuristic {failed[0].name!r}: {first.message}"
        first.args = (first.message, *first.args[1:])
        first.detail.setdefault("heuristic", failed[0].name)
        raise first
    message = "; ".join(f"{plan.name}: {plan.error.message}" for plan in failed if plan.error)
    raise HeuristicRunFailed(
        f"{len(failed)} of {len(run.plans)} heuristics failed (their previous votes are "
        f"kept): {message}",
        errors={plan.name: plan.error.to_dict() for plan in failed if plan.error},
    )


def chosen(session: Session, project: Project, names: list[str] | None) -> list[str]:
    """The names of the heuristics a run runs: these (each must exist), or all of the
    project's; none is refused."""
    found = [heuristics.get(session, project, n) for n in names] if names else None
    todo = [h.name for h in found or heuristics.list_all(session, project)]
    if not todo:
        raise ValidationError(f"project {project.name!r} has no heuristic to run")
    return todo


def run(
    db: Database,
    project_name: str,
    names: list[str],
    *,
    data_dir: Path,
    mapper: MapFunction,
    limits: Limits,
    progress: Progress,
) -> dict[str, Any]:
    """Run these heuristics on every record, as a job's body: plan and read the records,
    run them a partition at a time through ``mapper`` (the executor's ``map``), store each
    one that succeeded in one short transaction (the swap), refresh the statistics of their
    tasks, then raise the failures (``HeuristicRunFailed``, or the one heuristic's error)."""
    with db.session() as session:
        project = projects.get(session, project_name)
        planned = prepare(session, project, names, data_dir)
        execute(planned, records(session, project, planned), mapper, limits, progress)
    with db.session() as session:  # the swap: one short transaction
        stored = store(session, projects.get(session, project_name), planned)
    with db.session() as session:
        refresh(session, planned)
    check(planned)
    progress(1.0, "done")
    return {"heuristics": stored}
