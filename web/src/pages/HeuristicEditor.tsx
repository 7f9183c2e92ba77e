// The editor of one heuristic: name, Python code (CodeMirror, loaded on demand), save, delete,
// and "Run on 10": the code's results, printed output and errors on 10 random records, with
// nothing stored. Running unsaved code saves it first (the try endpoint runs stored code).
// A zero-shot heuristic has settings instead of code; a model heuristic neither (it votes with
// the task's live model: the editor says which version).
import { useState } from "react";
import { Link } from "react-router-dom";
import type { Project, Task } from "../api/client";
import {
  createHeuristic,
  tryHeuristic,
  updateHeuristic,
  useDeleteHeuristic,
  useHeuristics,
  useHeuristicsMutation,
  type Heuristic,
  type HeuristicTryResult,
} from "../api/heuristics";
import { fetchRecord, recordPath } from "../api/records";
import { useCancelKey } from "../api/tryRuns";
import { Code, TryResults } from "../components/Code";
import { Confirm } from "../components/Confirm";
import { LabelDescriptions, MinConfidence } from "../components/HeuristicFields";
import { ClosingHead } from "../components/Panel";
import { ErrorState, InlineError, Loading } from "../components/States";
import { projectPath } from "../routes";

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

interface EditorProps {
  project: Project;
  task: Task;
  tried: HeuristicTryResult | null;
  onTried: (name: string, result: HeuristicTryResult) => void;
  onOpen: (name: string) => void;
  onClose: () => void;
}

export function HeuristicEditor({
  project,
  task,
  name,
  ...rest
}: EditorProps & { name: string | null }) {
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
}: EditorProps & { heuristic: Heuristic | null }) {
  const [name, setName] = useState(heuristic?.name ?? "");
  const [code, setCode] = useState(heuristic?.code ?? template(project, task));
  // A zero-shot heuristic has settings instead of code.
  const zeroShot = heuristic?.kind === "zero_shot";
  // A model heuristic has neither: the task's live model votes.
  const model = heuristic?.kind === "model";
  const stored = readConfig(heuristic?.config);
  const [config, setConfig] = useState<ZeroShotConfig>(stored);
  const [deleting, setDeleting] = useState(false);
  // "Run on 10" runs on random records, or on the records given by their key (as users know
  // them; a project without a key: by record ids).
  const [chosen, setChosen] = useState("");
  const keyName = project.attributes.filter((a) => a.primary_key).map((a) => a.name);
  const byKey = keyName.length > 0;
  const picked = chosen
    .split(byKey ? /,/ : /[\s,]+/)
    .map((value) => value.trim())
    .filter(Boolean);
  const ids = byKey
    ? picked
    : picked.map(Number).filter((id) => Number.isInteger(id) && id > 0).map(String);
  /** The internal ids of the chosen records (a key that no record has fails, naming it). */
  const resolve = (): Promise<number[]> =>
    Promise.all(
      ids.map((value) =>
        byKey
          ? fetchRecord(project.name, recordPath(project, value)).then((record) => record.id)
          : Number(value),
      ),
    );
  const configChanged = zeroShot && JSON.stringify(config) !== JSON.stringify(stored);
  const dirty =
    !heuristic || heuristic.code !== code || heuristic.name !== name || configChanged;

  /** Store the form (create, or a new code version); returns the stored name. */
  const store = async (): Promise<string> => {
    if (!heuristic) {
      const body = { task: task.name, name: name.trim(), code, description: "" };
      return (await createHeuristic(project.name, { ...body, kind: "labeling_function" })).name;
    }
    if (!dirty) return heuristic.name;
    const changed = await updateHeuristic(project.name, heuristic.name, {
      name: name.trim() !== heuristic.name ? name.trim() : null,
      code: !zeroShot && code !== heuristic.code ? code : null,
      ...(configChanged ? { config: { ...heuristic.config, ...config } } : {}),
    });
    return changed.name;
  };
  /** A new heuristic (or a renamed one) opens under its name. */
  const opened = (stored: string) => {
    if (stored !== heuristic?.name) onOpen(stored);
  };

  const save = useHeuristicsMutation(project.name, store, opened);
  const cancelKey = useCancelKey();
  const tryIt = useHeuristicsMutation(
    project.name,
    async () => {
      const stored = await store();
      const record_ids = await resolve();
      const cancel_key = cancelKey.next();
      const body = record_ids.length ? { n: 10, record_ids, cancel_key } : { n: 10, cancel_key };
      return { stored, result: await tryHeuristic(project.name, stored, body) };
    },
    ({ stored, result }) => {
      onTried(stored, result);
      opened(stored);
    },
  );
  const remove = useDeleteHeuristic(project.name, heuristic?.name ?? "", () => {
    setDeleting(false);
    onClose();
  });
  const busy = save.isPending || tryIt.isPending;

  return (
    <section className="panel heuristic-editor" aria-label="Heuristic editor">
      <ClosingHead
        title={heuristic ? `Edit ${heuristic.name}` : `New heuristic for ${task.name}`}
        close="Close the editor"
        onClose={onClose}
      />
      <div className="form-row">
        <label className="grow">
          Name
          <input value={name} onChange={(event) => setName(event.target.value)} required />
        </label>
        <span className="muted">
          Task {task.name} ({task.type}){heuristic && !model && ` · code v${heuristic.code_version}`}
          {heuristic?.embedding && ` · embedding ${heuristic.embedding}`}
          {dirty && heuristic && " · unsaved changes"}
        </span>
      </div>
      {zeroShot ? (
        <ZeroShotSettings task={task} config={config} onChange={setConfig} />
      ) : model ? (
        <ModelFacts project={project} task={task} config={heuristic.config} />
      ) : (
        <>
          <Code value={code} onChange={setCode} label="Code" />
          <p className="muted">
            {heuristic?.kind === "active_learner"
              ? "An active learner: the class is fitted on the manual labels (embeddings: the vectors of the labeled records) and votes where predict_proba reaches min_confidence. Edit it like any heuristic; its statistics are cross-fitted. "
              : ""}
            Lookup lists import as <code>from knowledge import list_name</code>;{" "}
            <code>print</code> output is shown below.
          </p>
        </>
      )}
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
        {tryIt.isPending && (
          <button type="button" onClick={cancelKey.cancel}>
            Cancel
          </button>
        )}
        <input
          className="record-ids"
          value={chosen}
          placeholder={byKey ? `or ${keyName.join(", ")} values: 4, 17` : "or record ids: 4, 17"}
          aria-label="Records to run on"
          onChange={(event) => setChosen(event.target.value)}
        />
        {heuristic && (
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        )}
      </div>
      <InlineError error={save.error ?? tryIt.error} />
      {tried && tried.results.length > 0 && (
        <p className="muted" data-testid="try-coverage">
          Votes on {tried.votes} of {tried.results.length} records
          {tried.votes < tried.results.length &&
            `, abstains on ${tried.results.length - tried.votes}`}
          .
        </p>
      )}
      {tried && <TryResults result={tried} title="Run on" column="Result" none="abstains" />}
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

interface ZeroShotConfig {
  min_confidence: number;
  descriptions: Record<string, string>;
}

function readConfig(raw: unknown): ZeroShotConfig {
  const config = (raw ?? {}) as Partial<ZeroShotConfig>;
  return {
    min_confidence: typeof config.min_confidence === "number" ? config.min_confidence : 0.5,
    descriptions: { ...(config.descriptions ?? {}) },
  };
}

/** A zero-shot heuristic's settings: the minimum confidence and a description per label. */
function ZeroShotSettings({
  task,
  config,
  onChange,
}: {
  task: Task;
  config: ZeroShotConfig;
  onChange: (config: ZeroShotConfig) => void;
}) {
  return (
    <div className="zero-shot-settings">
      <p className="muted">
        A zero-shot heuristic: each record gets the label whose name and description are closest
        to it in the embedding&apos;s space, when the confidence reaches the minimum.
      </p>
      <MinConfidence
        value={config.min_confidence}
        onChange={(value) => onChange({ ...config, min_confidence: Number(value) })}
      />
      <LabelDescriptions
        task={task}
        legend="Label descriptions"
        descriptions={config.descriptions}
        onChange={(descriptions) => onChange({ ...config, descriptions })}
      />
    </div>
  );
}

/** A model heuristic's facts: the version it last voted with and the task's live one. */
function ModelFacts({ project, task, config }: { project: Project; task: Task; config: unknown }) {
  const { version, live_version: live } = (config ?? {}) as {
    version?: number | null;
    live_version?: number | null;
  };
  const models = `${projectPath(project.name, "models")}?task=${encodeURIComponent(task.name)}`;
  return (
    <div className="model-heuristic" data-testid="model-heuristic">
      <p className="muted">
        A model heuristic: the task&apos;s live model votes its most probable label
        {task.type === "multi-label" ? "s (each at 50% or more)" : ""}, with the probability as
        confidence; no code, no settings. Its statistics count only the manual labels of the
        task&apos;s test split, which no version trained on.
      </p>
      <p>
        {version != null ? `Last voted with version ${version}` : "Not run yet"}
        {" · "}
        {live != null ? `live now: version ${live}` : "no live model now"}
        {version != null && live != null && version !== live && " (run it again to vote with it)"}
        . <Link to={models}>Models of {task.name}</Link>
      </p>
    </div>
  );
}
