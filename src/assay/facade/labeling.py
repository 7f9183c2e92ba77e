"""Labeling: tasks and labels, manual labels, records and their query, slices, statistics,
lookup lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay import documents
from assay.facade.base import Facade
from assay.services import (
    annotating,
    files,
    heuristics,
    lookup_lists,
    projects,
    queries,
    records,
    slices,
    statistics,
    tasks,
)


class Labeling(Facade):
    """Tasks, labels, annotations, records, slices, statistics, lookup lists."""

    # --- tasks and labels ------------------------------------------------------------------

    def add_task(
        self,
        project: str,
        name: str,
        task_type: str,
        attribute: str | None = None,
        labels: list[str] | None = None,
    ) -> documents.TaskPublic:
        return self._in(
            project,
            lambda s, p: tasks.describe(s, tasks.create(s, p, name, task_type, attribute, labels)),
        )

    def list_tasks(self, project: str) -> list[documents.TaskPublic]:
        return self._in(project, tasks.describe_all)

    def rename_task(self, project: str, name: str, new_name: str) -> documents.TaskPublic:
        return self._in(project, lambda s, p: tasks.describe(s, tasks.rename(s, p, name, new_name)))

    def delete_task(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: tasks.delete_task(s, p, name))

    def add_label(
        self,
        project: str,
        task: str,
        name: str,
        color: str | None = None,
        hotkey: str | None = None,
    ) -> documents.LabelPublic:
        return self._in(
            project,
            lambda s, p: tasks.describe_label(
                tasks.add_label(s, tasks.get(s, p, task), name, color, hotkey)
            ),
        )

    def update_label(
        self,
        project: str,
        task: str,
        label: str,
        *,
        new_name: str | None = None,
        color: str | None = None,
        hotkey: str | None = None,
    ) -> documents.LabelPublic:
        """Rename, recolor or re-key a label. A rename also rewrites the string literals that
        name the label in the task's heuristics (each changed one gets a new code version)."""
        with self.db.session() as s:
            found = tasks.get(s, projects.get(s, project), task)
            updated = tasks.update_label(s, found, label, new_name, color, hotkey)
            renamed = updated.name != label
            if renamed:
                heuristics.rename_label(s, found, label, updated.name)
            doc = tasks.describe_label(updated)
        if renamed:  # the statistics name their labels
            self.after_labels_changed(project, [found.id])
        return doc

    def delete_label(self, project: str, task: str, label: str) -> None:
        """Delete a label and every vote for it; the task's statistics follow."""
        task_id = self._in(project, lambda s, p: annotating.delete_label(s, p, task, label))
        self.after_labels_changed(project, [task_id])

    # --- annotations and records -----------------------------------------------------------

    def annotate(
        self,
        project: str,
        record: str | int,
        task: str,
        label: str,
        annotator: str,
        *,
        gold: bool = False,
        span: tuple[int, int] | None = None,
    ) -> documents.TaskLabels:
        """Give a record a manual label; returns the record's labels for that task."""
        labels, task_id = self._in(
            project,
            lambda s, p: annotating.annotate(s, p, record, task, label, annotator, gold, span),
        )
        self.after_labels_changed(project, [task_id])
        return labels

    def remove_annotation(
        self,
        project: str,
        record: str | int,
        task: str,
        annotator: str,
        *,
        label: str | None = None,
        gold: bool = False,
        span: tuple[int, int] | None = None,
    ) -> documents.TaskLabels:
        """Take a manual label back (``label``: only that one; ``gold``: the gold one)."""
        labels, task_id = self._in(
            project,
            lambda s, p: annotating.unannotate(s, p, record, task, annotator, label, gold, span),
        )
        self.after_labels_changed(project, [task_id])
        return labels

    def annotate_file(self, project: str, path: str | Path) -> dict[str, Any]:
        """Apply manual labels from a CSV or JSONL file, all or nothing
        (:func:`assay.services.annotating.apply_file` names the columns)."""
        table = files.read_table(Path(path), limits=self._file_limits)
        applied = self._in(
            project, lambda s, p: annotating.apply_file(s, p, table.columns, str(path))
        )
        self.after_labels_changed(project)
        return {"applied": applied}

    def query(self, project: str, where: Any = None, **params: Any) -> documents.RecordPage:
        """One page of records: ``{"records", "total", "next_cursor"}``; ``params`` are those
        of :class:`assay.documents.RecordQuery` (order_by, descending, seed, limit, cursor,
        offset, with_labels), with its defaults."""
        query = queries.parameters(where, **params)
        return self._in(project, lambda s, p: queries.page(s, p, query))

    def get_record(self, project: str, record: str | int) -> documents.RecordDetail:
        """A record with its tokens (per text attribute) and every label."""
        return self._in(
            project, lambda s, p: annotating.detail(s, p, records.resolve(s, p, record))
        )

    # --- slices and statistics -------------------------------------------------------------

    def create_slice(
        self,
        project: str,
        name: str,
        where: Any = None,
        *,
        kind: str = "dynamic",
        record_ids: list[int] | None = None,
    ) -> documents.SlicePublic:
        return self._in(
            project,
            lambda s, p: slices.describe(
                s, p, slices.create(s, p, name, where=where, kind=kind, record_ids=record_ids)
            ),
        )

    def list_slices(self, project: str) -> list[documents.SlicePublic]:
        return self._in(project, slices.describe_all)

    def get_slice(self, project: str, name: str) -> documents.SlicePublic:
        return self._in(project, lambda s, p: slices.describe(s, p, slices.get(s, p, name)))

    def rename_slice(self, project: str, name: str, new_name: str) -> documents.SlicePublic:
        return self._in(
            project, lambda s, p: slices.describe(s, p, slices.rename(s, p, name, new_name))
        )

    def delete_slice(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: slices.delete_slice(s, p, name))

    def statistics(
        self, project: str, task: str, slice_name: str | None = None
    ) -> documents.TaskStatistics:
        """One task's overview: progress, label and confidence distributions, confusion
        matrix (manual vs weak supervision), annotators and their agreement, conflicts;
        over the project's records or one slice's."""
        return self._in(project, lambda s, p: statistics.task_statistics(s, p, task, slice_name))

    # --- lookup lists ----------------------------------------------------------------------

    def list_lookup_lists(self, project: str) -> list[documents.LookupListPublic]:
        return self._in(
            project, lambda s, p: lookup_lists.describe_all(s, lookup_lists.list_all(s, p))
        )

    def create_lookup_list(
        self, project: str, name: str, description: str = ""
    ) -> documents.LookupListPublic:
        return self._in(
            project,
            lambda s, p: lookup_lists.describe(s, lookup_lists.create(s, p, name, description)),
        )

    def get_lookup_list(self, project: str, name: str) -> documents.LookupListDetail:
        """A list with its terms (``entries``: each term and whether it is blacklisted)."""
        return self._in(project, lambda s, p: lookup_lists.detail(s, lookup_lists.get(s, p, name)))

    def delete_lookup_list(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: lookup_lists.delete_list(s, p, name))

    def add_terms(
        self, project: str, name: str, terms: list[str], *, blacklisted: bool = False
    ) -> documents.LookupListPublic:
        """Add terms to a list (created when missing); ``blacklisted`` adds or marks them as
        blacklisted. Returns the list with the ``changed`` counts."""
        return self._in(
            project, lambda s, p: lookup_lists.add(s, p, name, terms, blacklisted=blacklisted)
        )

    def remove_terms(
        self, project: str, name: str, terms: list[str], *, blacklist_only: bool = False
    ) -> documents.LookupListPublic:
        """Remove terms from a list; ``blacklist_only`` takes them off the blacklist instead."""
        return self._in(
            project,
            lambda s, p: lookup_lists.remove(s, p, name, terms, blacklist_only=blacklist_only),
        )

    def import_terms(self, project: str, name: str, path: str | Path) -> documents.LookupListPublic:
        """Add the terms of a text file (one a line) or CSV (``term``, ``blacklisted``)."""
        return self._in(project, lambda s, p: lookup_lists.add_file(s, p, name, Path(path)))

    def export_terms(self, project: str, name: str, fmt: str = "txt", *, raw: bool = False) -> str:
        """A lookup list's terms; a CSV escapes formula-like terms unless ``raw``."""
        return self._in(
            project,
            lambda s, p: lookup_lists.export_terms(s, lookup_lists.get(s, p, name), fmt, raw=raw),
        )
