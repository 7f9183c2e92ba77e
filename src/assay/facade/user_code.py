"""User code: heuristics of every kind (and weak supervision over their votes), calculated
attributes, the record IDE; tried on a few records or run on all as jobs."""

from __future__ import annotations

from typing import Any, Unpack

from assay import documents
from assay.algorithms.label_models import DEFAULT_MODEL
from assay.facade.base import Facade
from assay.runtime import try_runs
from assay.runtime.sandbox import Limits
from assay.services import (
    calculated,
    heuristic_runs,
    heuristics,
    record_ide,
    records,
    tasks,
    user_code,
    weak_supervision,
)


class UserCode(Facade):
    """Heuristics, weak supervision, calculated attributes, the record IDE."""

    # --- heuristics and weak supervision ------------------------------------------------------

    def add_heuristic(
        self,
        project: str,
        task: str,
        name: str | None = None,
        code: str | None = None,
        description: str = "",
        *,
        kind: str = "labeling_function",
        **config: Any,
    ) -> documents.HeuristicPublic:
        """Add a heuristic of ``kind`` for a task: a labeling function (``name`` and
        ``code``: Python defining one function of the record), an active learner or a
        zero-shot heuristic (``embedding=...`` and their settings, see
        :meth:`add_active_learner` and :meth:`add_zero_shot`; defaults: ``heuristics.KINDS``),
        or the task's live model (``model``, :meth:`add_model_heuristic`)."""
        return self._in(
            project,
            lambda s, p: heuristics.describe(
                s,
                heuristics.create(s, p, task, name, code, description, kind=kind, settings=config),
            ),
        )

    def add_active_learner(
        self, project: str, task: str, *, embedding: str, **settings: Any
    ) -> documents.HeuristicPublic:
        """Add an active learner (``name``, ``classifier``, ``min_confidence``, ``code``):
        code (from a template of ``classifier``: logistic-regression (default),
        random-forest, k-neighbors; or ``code``) defining a class with ``fit(embeddings,
        labels)`` and ``predict_proba(embeddings)``, fitted on the task's manual labels over
        ``embedding`` (attribute level; token level for extraction); it abstains below
        ``min_confidence`` (default 0.8)."""
        return self.add_heuristic(
            project, task, kind="active_learner", embedding=embedding, **settings
        )

    def add_zero_shot(
        self, project: str, task: str, *, embedding: str, **settings: Any
    ) -> documents.HeuristicPublic:
        """Add a zero-shot heuristic (``name``, ``descriptions``, ``min_confidence``): each
        record votes the label whose name (and description) is most similar to it in a
        semantic ``embedding``'s space, where its probability reaches ``min_confidence``
        (default: 40% of the way from chance to certainty, 0.7 for two labels)."""
        return self.add_heuristic(project, task, kind="zero_shot", embedding=embedding, **settings)

    def add_model_heuristic(
        self, project: str, task: str, *, name: str | None = None
    ) -> documents.HeuristicPublic:
        """Add a model heuristic (default name ``model-<task>``): the task's live model
        votes on every record (its best label, or each label at one half or more), with the
        version live when the heuristics run; its statistics are measured on the task's test
        split only, outside every version's training data."""
        return self.add_heuristic(project, task, name, kind="model")

    def list_heuristics(self, project: str) -> list[documents.HeuristicPublic]:
        return self._in(
            project, lambda s, p: [heuristics.describe(s, h) for h in heuristics.list_all(s, p)]
        )

    def get_heuristic(self, project: str, name: str) -> documents.HeuristicPublic:
        return self._in(project, lambda s, p: heuristics.describe(s, heuristics.get(s, p, name)))

    def update_heuristic(
        self,
        project: str,
        name: str,
        *,
        code: str | None = None,
        new_name: str | None = None,
        description: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> documents.HeuristicPublic:
        """Change a heuristic: name, code, description, or a zero-shot heuristic's settings
        (``config``: min_confidence, temperature, descriptions)."""
        return self._in(
            project,
            lambda s, p: heuristics.describe(
                s,
                heuristics.update(
                    s, p, name, code=code, new_name=new_name, description=description, config=config
                ),
            ),
        )

    def delete_heuristic(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: heuristics.delete_heuristic(s, p, name))

    def try_heuristic(
        self,
        project: str,
        name: str,
        *,
        limits: Limits | None = None,
        **choice: Unpack[user_code.Choice],
    ) -> documents.HeuristicTryResult:
        """Run a heuristic on ``n`` random records (or ``record_ids``; ``choice``: the keywords
        of :class:`assay.services.user_code.Choice`) and return each record's
        result and printed output; nothing is stored. A run that fails reports why (and, for
        exceptions, the records and tracebacks) in ``error`` and ``failures``.
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        box, data_dir = self.sandbox, self.settings.data_dir
        return self._in(
            project,
            lambda s, p: heuristics.try_heuristic(
                s, p, name, box, limits or Limits(), data_dir, choice
            ),
        )

    def run_heuristics(
        self,
        project: str,
        names: list[str] | None = None,
        *,
        wait: bool = False,
        limits: Limits | None = None,
    ) -> documents.JobPublic:
        """Run heuristics (``names``; all when None) on every record as a job, together and a
        partition of records at a time on the executor; results are cached by record content
        and everything else they depend on (``services/heuristic_runs.py``). Each one that
        succeeds has its previous votes replaced at once; one that fails keeps them, and the
        job fails naming it. ``limits`` apply to each sandbox run (a slice of a partition)."""
        todo = self._in(project, lambda s, p: heuristic_runs.chosen(s, p, names))
        _ = self.sandbox  # before any partition runs here: it protects the data dir
        return self._start(
            "heuristics",
            project,
            f"run {', '.join(todo)}",
            lambda progress: heuristic_runs.run(
                self.db,
                project,
                todo,
                data_dir=self.settings.data_dir,
                mapper=self.executor.map,
                limits=limits or Limits(),
                progress=progress,
            ),
            wait=wait,
            user_code=True,
        )

    def weak_supervise(
        self,
        project: str,
        task: str,
        *,
        model: str = DEFAULT_MODEL,
        heuristics: list[str] | None = None,
        params: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Combine the task's heuristics' votes with a label model, as a job; the labels
        become the source ``weak_supervision`` (replacing the previous run's)."""
        return self._start(
            weak_supervision.JOB_KIND,
            project,
            f"weak supervision of {task}",
            lambda progress: weak_supervision.run_job(
                self.db,
                project,
                task,
                model=model,
                names=heuristics,
                params=params,
                progress=progress,
            ),
            wait=wait,
        )

    def weak_supervision_info(
        self, project: str, task: str
    ) -> documents.WeakSupervisionInfo | None:
        """The task's last weak-supervision run (model, params, heuristics and their code
        versions, counts, ``finished_at``) and whether it is ``stale``; None before the first."""
        return self._in(project, lambda s, p: weak_supervision.last_run(s, tasks.get(s, p, task)))

    # --- calculated attributes and the record IDE --------------------------------------------

    def add_calculated_attribute(
        self, project: str, name: str, data_type: str, code: str
    ) -> documents.CalculatedPublic:
        """Add an attribute computed by Python code (one function of the record); its values
        are null until :meth:`run_calculated_attribute`."""
        return self._in(
            project,
            lambda s, p: calculated.describe(s, p, calculated.create(s, p, name, data_type, code)),
        )

    def list_calculated_attributes(self, project: str) -> list[documents.CalculatedPublic]:
        return self._in(
            project, lambda s, p: [calculated.describe(s, p, a) for a in calculated.list_all(s, p)]
        )

    def get_calculated_attribute(self, project: str, name: str) -> documents.CalculatedPublic:
        return self._in(project, lambda s, p: calculated.describe(s, p, calculated.get(s, p, name)))

    def update_calculated_attribute(
        self, project: str, name: str, code: str
    ) -> documents.CalculatedPublic:
        """New code (a new version); the values stay, ``stale``, until the next run."""
        return self._in(
            project,
            lambda s, p: calculated.describe(s, p, calculated.update_code(s, p, name, code)),
        )

    def delete_calculated_attribute(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: calculated.delete_attribute(s, p, name))

    def try_calculated_attribute(
        self,
        project: str,
        name: str,
        *,
        code: str | None = None,
        limits: Limits | None = None,
        **choice: Unpack[user_code.Choice],
    ) -> documents.CalculatedTryResult:
        """Run the attribute's code (or ``code``, unsaved) on ``n`` random records (or
        ``record_ids``; ``choice``: as :meth:`try_heuristic`'s): each record's value,
        printed output and type mismatch (``error``); nothing is stored. A run that fails
        says why in ``error`` (exceptions: ``failures``). :meth:`cancel_try_run` with
        ``cancel_key`` stops it."""
        box, cell = self.sandbox, self.settings.max_cell_bytes
        return self._in(
            project,
            lambda s, p: calculated.try_code(
                s, p, name, box, limits or Limits(), cell, choice, code
            ),
        )

    def run_calculated_attribute(
        self, project: str, name: str, *, wait: bool = False, limits: Limits | None = None
    ) -> documents.JobPublic:
        """Compute the attribute on every record as a job; all or nothing: an exception or a
        type mismatch on any record stores nothing and names the records."""
        self._in(project, lambda s, p: calculated.get(s, p, name))
        _ = self.sandbox  # protects the data dir before any code runs
        return self._start(
            "calculated_attribute",
            project,
            f"calculate {name}",
            lambda progress: calculated.run(
                self.db,
                project,
                name,
                mapper=self.executor.map,
                max_bytes=self.settings.max_cell_bytes,
                progress=progress,
                limits=limits,
            ),
            wait=wait,
            user_code=True,
        )

    def run_snippet(
        self,
        project: str,
        record: str | int,
        code: str,
        *,
        limits: Limits | None = None,
        cancel_key: str | None = None,
    ) -> documents.SnippetResult:
        """The record IDE: run ``code`` against one record (id or key) in the sandbox; its
        printed output, value, error and traceback, and the ids of the records around it.
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        box = self.sandbox
        return self._in(
            project,
            lambda s, p: record_ide.run(
                s, p, records.resolve(s, p, record), code, box, limits or Limits(), cancel_key
            ),
        )

    def cancel_try_run(self, cancel_key: str) -> documents.TryRunCancel:
        """Stop the try-run ("Run on 10", a record-IDE snippet) started with ``cancel_key``:
        it returns at once, saying it was cancelled. ``running``: whether it was running (a
        cancel that comes first stops it as it starts)."""
        return {"cancel_key": cancel_key, "running": try_runs.cancel(cancel_key)}
