"""The record IDE: run a snippet of Python against one record and see what it prints.

The snippet runs in the sandbox as module code with ``record`` bound (text attributes as
spaCy Docs, as labeling functions see them); if it defines ``ide(record)``, that is called too
and its return value shown. Nothing is stored.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.errors import UserCodeError
from assay.runtime import sandbox
from assay.services import lookup_lists, projects, user_code
from assay.storage.models import Project, Record

FILENAME = "<ide>"
# The snippet runs as module code with ``record`` bound; if it defines ``ide(record)``, that is
# called and its value shown (as repr: a Doc or a set is no JSON value). Compiled in the worker,
# under a name of its own, so tracebacks show the snippet's lines.
_IDE_WRAPPER = """
def _assay_ide(record):
    import linecache
    code = {code!r}
    linecache.cache[{filename!r}] = (len(code), None, code.splitlines(True), {filename!r})
    namespace = {{"__name__": "ide", "record": record}}
    exec(compile(code, {filename!r}, "exec"), namespace)
    function = namespace.get("ide")
    value = function(record) if callable(function) else None
    return None if value is None else repr(value)
"""
_WRAPPER_FRAME = 'File "<code>", line '


def wrapped(code: str) -> str:
    """The code the sandbox runs for a snippet."""
    return _IDE_WRAPPER.format(code=code, filename=FILENAME)


def clean_traceback(trace: str) -> str:
    """A snippet's traceback without the wrapper's frame."""
    lines = trace.splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.lstrip().startswith(_WRAPPER_FRAME):
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        kept.append(line)
    return "".join(kept)


def neighbours(session: Session, project: Project, record_id: int) -> tuple[int | None, int | None]:
    """The ids of the records before and after this one (by id)."""
    visible = projects.visible_records(session, project)
    before = session.scalar(select(func.max(Record.id)).where(visible, Record.id < record_id))
    after = session.scalar(select(func.min(Record.id)).where(visible, Record.id > record_id))
    return before, after


def run(
    session: Session,
    project: Project,
    record: Record,
    code: str,
    box: sandbox.Sandbox,
    limits: sandbox.Limits,
    cancel_key: str | None = None,
) -> documents.SnippetResult:
    """Run a snippet on one record: its printed output, its value (repr), and the error with
    the traceback when it raised (or why the run failed: cancelled with ``cancel_key``, a
    limit). Nothing is stored."""
    tried = user_code.try_on(
        session,
        project,
        lambda chosen: box.run(
            wrapped(code),
            chosen,
            function="_assay_ide",
            language=project.language,
            knowledge=lookup_lists.knowledge(session, project)["modules"],
            limits=limits,
        ),
        user_code.Choice(record_ids=[record.id], cancel_key=cancel_key),
    )
    value = error = trace = None
    output = ""
    if isinstance(tried.error, UserCodeError):
        failure = tried.error.failures[0]
        error, trace, output = failure.error, clean_traceback(failure.traceback), failure.output
    elif tried.error is not None:
        error = tried.error.message
    else:
        (result,) = tried.results
        value, output = result.value, result.output
    previous_id, next_id = neighbours(session, project, record.id)
    return documents.SnippetResult(
        record_id=record.id,
        key=record.key,
        position=tried.positions[record.id],
        data=record.data,
        value=value,
        output=output,
        error=error,
        traceback=trace,
        previous_id=previous_id,
        next_id=next_id,
    )
