"""The live model of each task, in memory, hot-swapped: :class:`Serving`.

The database's ``model_task.live_version_id`` is the one pointer to the live version, whoever
moved it (this process, another server, the CLI). Before it answers, serving reads that
pointer, at most every :data:`CHECK_EVERY` seconds per task (one small query); a pointer that
moved loads the new version in the requesting thread, while other requests go on being
answered by the old one, and then swaps one reference. A request takes the :class:`Served`
once, so one version answers all of it, and the answer names that version. A version that
fails to load (a tampered or corrupt artifact, anything) never replaces the serving one: the
failure is logged, and the same version is not tried again before :data:`RETRY_AFTER`
seconds.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import ArtifactInvalid, AssayError, NoLiveModel
from assay.services import model_registry
from assay.storage.models import LabelingTask, ModelTask, ModelVersion, Project

if TYPE_CHECKING:
    from assay.algorithms.text_models import TextClassifier
    from assay.services.database import Database

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5
"""Seconds between two reads of a task's live pointer: a promotion serves within this (plus
the load) however it was made, for one indexed query per task per half second."""

RETRY_AFTER = 30.0
"""Seconds before a version that failed to load is tried again: a tampered artifact stays
broken, and loading it on every request would slow every request; a passing failure (the
database went away) heals after this."""


@dataclass(frozen=True)
class Served:
    """A loaded version of a task's model: what a request answers with, and names."""

    version_id: int
    version: int
    sha256: str
    classifier: TextClassifier
    task_name: str
    labels: tuple[str, ...]
    multi_label: bool


# A version as the pointer names it: its row id and its artifact's hash (ids can come back
# after rows are deleted; the pair names one artifact).
_Key = tuple[int, str]


@dataclass
class _Slot:
    """One task's state. ``served`` and ``checked`` are read without the lock (a reference
    read is atomic); they are written only under it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    served: Served | None = None
    checked: float = float("-inf")
    failed: _Key | None = None
    failed_at: float = float("-inf")
    error: AssayError | None = None


class Serving:
    """``Serving(db)``: the live model per task id, loaded on first use and swapped when the
    database's live pointer moves."""

    def __init__(
        self, db: Database, *, check_every: float = CHECK_EVERY, retry_after: float = RETRY_AFTER
    ) -> None:
        self.db = db
        self.check_every = check_every
        self.retry_after = retry_after
        self._slots: dict[int, _Slot] = {}
        self._guard = threading.Lock()  # one slot per task, however many threads ask
        self.loads = 0  # versions loaded, for the curious and for tests

    def get(self, project: Project, task: LabelingTask) -> Served:
        """The task's live version, loaded; raises :class:`NoLiveModel` when there is none
        (or :class:`ArtifactInvalid` when the only one fails to load)."""
        slot = self._slot(task.id)
        served = slot.served
        if served is not None:
            if time.monotonic() - slot.checked < self.check_every:
                return served
            if not slot.lock.acquire(blocking=False):
                return served  # another request checks (or loads): the old one answers this
        else:
            slot.lock.acquire()  # nothing to answer with until the first load is done
        try:
            return self._refresh(slot, project, task)
        finally:
            slot.lock.release()

    def recheck(self) -> None:
        """Read every task's pointer on its next request, not after ``check_every``: this
        process just moved one. (A bare write: at worst one more check than needed.)"""
        for slot in list(self._slots.values()):
            slot.checked = float("-inf")

    def forget(self, task_id: int | None = None) -> None:
        """Drop the loaded model of a task (all tasks: ``None``), e.g. when it is deleted; the
        next request reads the pointer and loads again."""
        with self._guard:
            if task_id is None:
                self._slots.clear()
            else:
                self._slots.pop(task_id, None)

    def _slot(self, task_id: int) -> _Slot:
        slot = self._slots.get(task_id)
        if slot is None:
            with self._guard:
                slot = self._slots.setdefault(task_id, _Slot())
        return slot

    def _refresh(self, slot: _Slot, project: Project, task: LabelingTask) -> Served:
        """Under the slot's lock: read the pointer; load and swap when it moved."""
        now = time.monotonic()
        if slot.served is not None and now - slot.checked < self.check_every:
            return slot.served  # checked by the request this one waited for
        with self.db.session() as s:
            pointer = s.execute(
                select(ModelVersion.id, ModelVersion.sha256)
                .join(ModelTask, ModelTask.live_version_id == ModelVersion.id)
                .where(ModelTask.task_id == task.id)
            ).first()
            slot.checked = now
            if pointer is None:
                slot.served = None
                raise NoLiveModel(
                    f"task {task.name!r} of project {project.name!r} has no live model: "
                    "train one (assay models train) or promote a version",
                    project=project.name,
                    task=task.name,
                )
            key: _Key = (pointer.id, pointer.sha256)
            current = slot.served
            if current is not None and (current.version_id, current.sha256) == key:
                return current
            if slot.failed == key and now - slot.failed_at < self.retry_after:
                return self._fallback(slot)
            try:
                loaded = self._load(s, task, pointer.id)
            except Exception as exc:  # noqa: BLE001 -- whatever fails, the old one serves
                log.warning(
                    "task %s: version id %s failed to load (%s); %s",
                    task.id,
                    pointer.id,
                    exc,
                    f"version {current.version} serves on" if current else "none serves",
                )
                slot.failed, slot.failed_at = key, now
                slot.error = (
                    exc
                    if isinstance(exc, AssayError)
                    else ArtifactInvalid(
                        f"the live model of task {task.name!r} cannot be loaded: {exc}",
                        task=task.name,
                    )
                )
                return self._fallback(slot)
        slot.served = loaded  # the swap: one reference
        slot.failed, slot.error = None, None
        return loaded

    def _load(self, session: Session, task: LabelingTask, version_id: int) -> Served:
        row = session.get(ModelVersion, version_id)
        if row is None:  # deleted since the pointer was read
            raise NoLiveModel(f"task {task.name!r}: its live version was deleted")
        classifier = model_registry.load(session, row)
        self.loads += 1
        return Served(
            version_id=row.id,
            version=row.version,
            sha256=row.sha256,
            classifier=classifier,
            task_name=task.name,
            labels=tuple(classifier.labels),
            multi_label=bool(classifier.multi_label),
        )

    @staticmethod
    def _fallback(slot: _Slot) -> Served:
        """The version that served before a failed load; its error when there is none."""
        if slot.served is not None:
            return slot.served
        assert slot.error is not None  # a failed load recorded it
        raise copy.copy(slot.error)  # a fresh one a request: raising one object grows its trace
