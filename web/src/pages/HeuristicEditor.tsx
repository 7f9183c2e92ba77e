// The editor of one heuristic: name, Python code (CodeMirror, loaded on demand), save, delete,
// and "Run on 10": the code's results, printed output and errors on 10 random records, with
// nothing stored. Running unsaved code saves it first (the try endpoint runs stored code).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";
import { api, unwrap, type Project, type Schemas, type Task } from "../api/client";
import { Confirm } from "../components/Confirm";
import { ErrorState, InlineError, Loading } from "../components/States";
import { heuristicsKey, useHeuristics, type Heuristic } from "./Heuristics";

const CodeEditor = lazy(() => import("../components/CodeEditor"));

export type TryResult = Schemas["HeuristicTryResult"];

/** Starting code for a task: the function's shape for its type, on the task's text. */
export function template(project: Project, task: Task): string {
  const text =
    task.attribute ??
    project.attributes.find((a) => a.data_type === "text")?.name ??
    project.attributes[0]?.name ??
    "text";
  const label = task.labels[0]?.name ?? "label";
  const field = JSON.stringify(text);
  if (task.type === "extraction") {
    return `def lf(record):
    # Yield (label, start_token, end_token) for each span; the end is exclusive.
    for token in record[${field}]:
        if token.is_title:
            yield ${JSON.stringify(label)}, token.i, token.i + 1
`;
  }
  const give = task.type === "multi-label" ? `[${JSON.stringify(label)}]` : JSON.stringify(label);
  return `def lf(record):
    # Return ${task.type === "multi-label" ? "a list of labels" : "a label"}, or None to abstain.
    # Text attributes are spaCy Docs: .text, tokens, ...
    text = record[${field}].text
    if "example" in text.lower():
        return ${give}
    return None
`;
}

export function HeuristicEditor({
  project,
  task,
  name,
  ...rest
}: {
  project: Project;
  task: Task;
  name: string | null;
  tried: TryResult | null;
  onTried: (name: string, result: TryResult) => void;
  onOpen: (name: string) => void;
  onClose: () => void;
}) {
  const found = useHeuristics(project.name);
  if (!name) {
    return <EditorForm project={project} task={task} heuristic={null} {...rest} />;
  }
  if (found.isPending) return <Loading what="Loading the heuristic" />;
  if (found.isError) return <ErrorState error={found.error} />;
  const heuristic = found.data.find((h) => h.name === name);
  if (!heuristic) {
    return (
      <ErrorState error={new Error(`project ${project.name} has no heuristic named ${name}`)} />
    );
  }
  return <EditorForm project={project} task={task} heuristic={heuristic} {...rest} />;
}

function EditorForm({
  project,
  task,
  heuristic,
  tried,
  onTried,
  onOpen,
  onClose,
}: {
  project: Project;
  task: Task;
  heuristic: Heuristic | null;
  tried: TryResult | null;
  onTried: (name: string, result: TryResult) => void;
  onOpen: (name: string) => void;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const [name, setName] = useState(heuristic?.name ?? "");
  const [code, setCode] = useState(heuristic?.code ?? template(project, task));
  const [deleting, setDeleting] = useState(false);
  // "Run on 10" runs on random records, or on these record ids when some are given.
  const [chosen, setChosen] = useState("");
  const ids = chosen
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((id) => Number.isInteger(id) && id > 0);
  const path = { project: project.name };
  const dirty = !heuristic || heuristic.code !== code || heuristic.name !== name;

  /** Store the form (create, or a new code version); returns the stored name. */
  const store = async (): Promise<string> => {
    if (!heuristic) {
      const made = await unwrap(
        api.POST("/api/projects/{project}/heuristics", {
          params: { path },
          body: { task: task.name, name: name.trim(), code, description: "" },
        }),
      );
      return made.name;
    }
    if (!dirty) return heuristic.name;
    const changed = await unwrap(
      api.PATCH("/api/projects/{project}/heuristics/{name}", {
        params: { path: { ...path, name: heuristic.name } },
        body: {
          name: name.trim() !== heuristic.name ? name.trim() : null,
          code: code !== heuristic.code ? code : null,
        },
      }),
    );
    return changed.name;
  };
  const refresh = () => client.invalidateQueries({ queryKey: heuristicsKey(project.name) });

  const save = useMutation({
    mutationFn: store,
    onSuccess: async (stored) => {
      await refresh();
      if (stored !== heuristic?.name) onOpen(stored);
    },
  });
  const tryIt = useMutation({
    mutationFn: async () => {
      const stored = await store();
      const result = await unwrap(
        api.POST("/api/projects/{project}/heuristics/{name}/try", {
          params: { path: { ...path, name: stored } },
          body: ids.length ? { n: 10, record_ids: ids } : { n: 10 },
        }),
      );
      return { stored, result };
    },
    onSuccess: async ({ stored, result }) => {
      onTried(stored, result);
      await refresh();
      if (stored !== heuristic?.name) onOpen(stored);
    },
  });
  const remove = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE("/api/projects/{project}/heuristics/{name}", {
          params: { path: { ...path, name: heuristic?.name ?? "" } },
        }),
      ),
    onSuccess: async () => {
      setDeleting(false);
      await refresh();
      onClose();
    },
  });
  const busy = save.isPending || tryIt.isPending;

  return (
    <section className="panel heuristic-editor" aria-label="Heuristic editor">
      <div className="section-head">
        <h2>{heuristic ? `Edit ${heuristic.name}` : `New heuristic for ${task.name}`}</h2>
        <button type="button" className="icon" aria-label="Close the editor" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="form-row">
        <label className="grow">
          Name
          <input value={name} onChange={(event) => setName(event.target.value)} required />
        </label>
        <span className="muted">
          Task {task.name} ({task.type}){heuristic && ` · code v${heuristic.code_version}`}
          {dirty && heuristic && " · unsaved changes"}
        </span>
      </div>
      <Suspense fallback={<Loading what="Loading the editor" />}>
        <CodeEditor value={code} onChange={setCode} label="Code" />
      </Suspense>
      <p className="muted">
        Lookup lists import as <code>from knowledge import list_name</code>; <code>print</code>{" "}
        output is shown below.
      </p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={busy || !name.trim() || !dirty}
          onClick={() => save.mutate()}
        >
          Save
        </button>
        <button type="button" disabled={busy || !name.trim()} onClick={() => tryIt.mutate()}>
          {tryIt.isPending ? "Running…" : ids.length ? `Run on ${ids.length}` : "Run on 10"}
        </button>
        <input
          className="record-ids"
          value={chosen}
          placeholder="or record ids: 4, 17"
          aria-label="Record ids to run on"
          onChange={(event) => setChosen(event.target.value)}
        />
        {heuristic && (
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        )}
      </div>
      <InlineError error={save.error ?? tryIt.error} />
      {tried && <TryResults result={tried} />}
      {deleting && heuristic && (
        <Confirm
          title="Delete the heuristic?"
          message={`${heuristic.name} and its votes will be deleted.`}
          busy={remove.isPending}
          onConfirm={() => remove.mutate()}
          onClose={() => setDeleting(false)}
        />
      )}
    </section>
  );
}

function TryResults({ result }: { result: TryResult }) {
  return (
    <div className="try-results" data-testid="try-results">
      <h3>
        Run on {result.results.length + result.failures.filter((f) => f.record_id !== null).length}{" "}
        records (nothing stored)
      </h3>
      {result.error && (
        <p className="inline-error" role="alert">
          {result.error}
        </p>
      )}
      {result.failures.map((failure, i) => (
        <div key={`f${i}`} className="try-record try-failure">
          <div className="muted">
            {failure.record_id === null ? "the run" : `record ${failure.record_id}`}
          </div>
          {/* A traceback ends with the error; without one, the error says it. */}
          {failure.traceback ? (
            <pre className="traceback">{failure.traceback}</pre>
          ) : (
            <p className="inline-error">{failure.error}</p>
          )}
          {failure.output && <pre className="output">{failure.output}</pre>}
        </div>
      ))}
      {result.results.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Record</th>
              <th>Result</th>
              <th>Printed output</th>
            </tr>
          </thead>
          <tbody>
            {result.results.map((r) => (
              <tr key={r.record_id} data-record={r.record_id}>
                <td className="cell">
                  {Object.entries(r.data)
                    .filter(([, value]) => typeof value === "string")
                    .map(([key, value]) => (
                      <div key={key} dir="auto">
                        {String(value)}
                      </div>
                    ))}
                  <div className="muted">record {r.record_id}</div>
                </td>
                <td className="mono" data-testid="try-value">
                  {r.value === null ? (
                    <span className="muted">abstains</span>
                  ) : (
                    JSON.stringify(r.value)
                  )}
                </td>
                <td>{r.output && <pre className="output">{r.output}</pre>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
