"""Curating the data: what to label next (selection), named splits with their report, label
quality, near-duplicates. Each run is a job whose chunks are stored, so it resumes after a
crash and returns at once when its inputs have not changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assay import documents
from assay.facade.base import Facade
from assay.services import label_quality, near_duplicates, selection, splits


class Curation(Facade):
    """Select, split, check label quality, find near-duplicates."""

    def select(
        self,
        project: str,
        *,
        size: int,
        strategy: str = "auto",
        where: Any = None,
        slice: str | None = None,
        embedding: str | None = None,
        task: str | None = None,
        measure: str = "margin",
        source: str | None = None,
        heuristic: str | None = None,
        seed: int = 0,
        name: str | None = None,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Pick ``size`` records to label next from the records ``where`` (and ``slice``)
        match, by ``strategy``, as a job; its result (:class:`documents.SelectionResult`)
        names the static slice that holds them in order and the labeling session on it."""
        options: dict[str, Any] = {
            "strategy": strategy,
            "size": size,
            "where": where,
            "slice": slice,
            "embedding": embedding,
            "task": task,
            "measure": measure,
            "source": source,
            "heuristic": heuristic,
            "name": name,
        }
        data_dir = self.settings.data_dir
        self._in(project, lambda s, p: selection.check(s, p, **options, data_dir=data_dir))
        return self._start(
            selection.JOB_KIND,
            project,
            f"selecting {size} records ({strategy})",
            lambda progress: dict(
                selection.run(
                    self.db,
                    project,
                    **options,
                    seed=seed,
                    data_dir=self.settings.data_dir,
                    executor=self.executor,
                    progress=progress,
                )
            ),
            wait=wait,
        )

    def split(
        self,
        project: str,
        sets: str | Mapping[str, float],
        *,
        task: str | None = None,
        embedding: str | None = None,
        seed: int = 0,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Split the task's labeled records into named ``sets`` (``train=0.8,test=0.2``:
        fractions or counts), stored on the records, as a job; its result is the split
        report (:class:`documents.SplitReport`)."""
        options: dict[str, Any] = {"sets": sets, "task": task, "embedding": embedding}
        self._in(project, lambda s, p: splits.check(s, p, **options, seed=seed))
        return self._start(
            splits.JOB_KIND,
            project,
            "splitting the labeled records",
            lambda progress: dict(
                splits.run(
                    self.db,
                    project,
                    **options,
                    seed=seed,
                    data_dir=self.settings.data_dir,
                    executor=self.executor,
                    progress=progress,
                )
            ),
            wait=wait,
        )

    def split_report(self, project: str) -> documents.SplitReport:
        """The report of the project's current split."""
        return self._in(project, lambda s, p: splits.report(s, p))

    def check_quality(
        self,
        project: str,
        task: str,
        *,
        embedding: str | None = None,
        folds: int = 5,
        neighbours: int = 10,
        weak_threshold: float = 0.8,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Rank the task's suspected label errors, manual-versus-weak and annotator
        disagreements, as a job; its result (:class:`documents.QualityResult`) names a ranked
        static slice per list."""
        options: dict[str, Any] = {
            "embedding": embedding,
            "folds": folds,
            "neighbours": neighbours,
            "weak_threshold": weak_threshold,
        }
        self._in(project, lambda s, p: label_quality.check(s, p, task, **options))
        return self._start(
            label_quality.JOB_KIND,
            project,
            f"checking the labels of {task}",
            lambda progress: dict(
                label_quality.run(
                    self.db,
                    project,
                    task,
                    **options,
                    data_dir=self.settings.data_dir,
                    executor=self.executor,
                    progress=progress,
                )
            ),
            wait=wait,
        )

    def quality_findings(
        self,
        project: str,
        task: str,
        *,
        list_name: str = "label_error",
        limit: int = 50,
        cursor: str | None = None,
    ) -> documents.QualityPage:
        """A page of one list of the task's newest quality check, most suspect first."""
        return self._in(
            project,
            lambda s, p: label_quality.page(
                s, p, task, list_name=list_name, limit=limit, cursor=cursor
            ),
        )

    def find_duplicates(
        self,
        project: str,
        *,
        kind: str = "exact",
        attribute: str | None = None,
        embedding: str | None = None,
        threshold: float | None = None,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Group the project's near-duplicate records (``exact``, ``lexical`` or ``semantic``),
        as a job; its result is a :class:`documents.DuplicatesResult`."""
        options: dict[str, Any] = {
            "kind": kind,
            "attribute": attribute,
            "embedding": embedding,
            "threshold": threshold,
        }
        self._in(project, lambda s, p: near_duplicates.check(s, p, **options))
        return self._start(
            near_duplicates.JOB_KIND,
            project,
            f"finding {kind} duplicates",
            lambda progress: dict(
                near_duplicates.run(
                    self.db,
                    project,
                    **options,
                    data_dir=self.settings.data_dir,
                    executor=self.executor,
                    progress=progress,
                )
            ),
            wait=wait,
        )

    def duplicate_groups(
        self,
        project: str,
        *,
        kind: str = "exact",
        mixed_only: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> documents.DuplicatesPage:
        """A page of the groups of the newest run of ``kind``, largest first."""
        return self._in(
            project,
            lambda s, p: near_duplicates.page(
                s, p, kind=kind, mixed_only=mixed_only, limit=limit, cursor=cursor
            ),
        )
