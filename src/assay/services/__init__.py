"""Services: the business logic, one module per capability.

The Workbench (its methods in ``assay.facade``) calls them, and the API and the CLI call the
Workbench; only they, and the runtime's job runner for job rows, touch storage. Each long
job (an import, an export, a heuristic or calculated-attribute run, an embedding, weak
supervision, a training, a selection, a split, a quality check, a duplicate search) is one
function that takes the database and a progress callback and owns its transactions.

Projects and records:

- ``projects``: projects and their attributes; ``records``: keys, hashes, a record with its
  labels; ``tokens``: spaCy tokenization; ``samples``: the shipped sample projects.
- ``importing``: imports from a table (a package: planning, column types, label columns, one
  transaction or staged, SQLite pacing); ``previews``: what an import would do; ``files``:
  reading tabular files.
- ``exporting``: records with their labels; ``archives``: a whole project as one document;
  ``refinery_columns``: the label column names both share; ``cells``: cells defused for
  spreadsheets.
- ``queries``: the filter tree, ordering and pages; ``slices``: saved filters and record sets.
- ``names``: what a name may contain; ``named``: a project's rows found by name;
  ``database``: opening a migrated database, recovering crashed imports; ``jobs``: job rows.

Labels and heuristics:

- ``tasks``: labeling tasks and labels; ``annotating``: labels of every source and the
  reference label; ``statistics``: a task's figures for the overview.
- ``heuristics``: heuristics of a task; ``heuristic_kinds``: what each kind declares;
  ``embedding_heuristics``: active learners and zero-shot heuristics; ``heuristic_runs``:
  running them on every record; ``lookup_lists``: the knowledge base.
- ``user_code``: what user code is given, and trying it on a few records; ``calculated``:
  calculated attributes; ``record_ide``: a snippet run against one record.
- ``weak_supervision``: the votes combined by a label model.

Embeddings:

- ``embeddings``: vectors of a text attribute; ``embedding_runs``: computing them;
  ``embedders``: the embedders on offer; ``search``: similar records and outliers.

Models:

- ``training``: a model trained outside the task's test split, scored on it and promoted
  when a paired test says it is better (a long job), and the retrain trigger;
  ``test_splits``: the fixed test split; ``model_inputs``: what a model reads of a record.
- ``model_registry``: versions, loading with the sha256 check, promotion, rollback;
  ``serving``: the live model per task in memory, hot-swapped; ``predictions``: predictions
  served, stored, audited and reviewed; ``model_heuristic``: the live model as a heuristic.

Curation:

- ``selection``: what to label next, as a ranked static slice; ``splits``: named splits on
  the records, and their report; ``label_quality``: suspected label errors and
  disagreements; ``near_duplicates``: duplicate groups; ``stored_runs``: what makes them
  resumable (chunks stored as they finish) and instant on unchanged inputs.
"""
