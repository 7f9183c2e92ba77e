// New heuristics that learn from an embedding: an active learner (generated code around a
// scikit-learn classifier, trained on the manual labels, then editable like any labeling
// function) and a zero-shot heuristic (records scored against the label names and
// descriptions in a semantic embedder's space); and a model heuristic, the task's live
// trained model voting (no code, no embedding).
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { Project, Task } from "../api/client";
import { useEmbeddings, type Embedding } from "../api/embeddings";
import { useCreateHeuristic, type Heuristic } from "../api/heuristics";
import { modelTasks, useModels } from "../api/models";
import { HEURISTIC_KINDS } from "../api/values";
import { Options } from "../components/Fields";
import { LabelDescriptions, MinConfidence } from "../components/HeuristicFields";
import { ClosingHead } from "../components/Panel";
import { InlineError, Loading } from "../components/States";
import { projectPath } from "../routes";

/** The classifiers an active learner's generated code can start from. */
const CLASSIFIERS = [
  ["logistic-regression", "logistic regression"],
  ["random-forest", "random forest"],
  ["k-neighbors", "k nearest neighbours"],
] as const;

/** The kind whose heuristic is the task's live model, and the tasks it is offered for (those
 * a model is trained for). */
export const MODEL_KIND = "model" satisfies Heuristic["kind"];
export const MODEL_TITLE = "Trained model (the live version)";

export function modelKindFits(project: Project, task: Task): boolean {
  return modelTasks(project).some((t) => t.name === task.name);
}

/** The kinds of heuristic that learn from an embedding (all but labeling functions, and the
 * task's live model, which votes as trained on the models page). */
export type LearnedKind = Exclude<Heuristic["kind"], "labeling_function" | typeof MODEL_KIND>;
export const LEARNED_KINDS = HEURISTIC_KINDS.filter(
  (kind): kind is LearnedKind => kind !== "labeling_function" && kind !== MODEL_KIND,
);

export const KIND_TITLES: Record<LearnedKind, string> = {
  active_learner: "Active learner",
  zero_shot: "Zero-shot",
};

/** Embeddings a heuristic of the task can use: of its text (token level for extraction);
 * zero-shot needs a semantic embedder (not TF-IDF). */
export function usableEmbeddings(
  embeddings: Embedding[],
  task: Task,
  kind: LearnedKind,
): Embedding[] {
  const level = task.type === "extraction" ? "token" : "attribute";
  return embeddings.filter(
    (e) =>
      e.state === "ready" &&
      e.level === level &&
      (!task.attribute || e.attribute === task.attribute) &&
      (kind !== "zero_shot" || e.semantic),
  );
}

export function NewLearnedHeuristic({
  project,
  task,
  kind,
  onCreated,
  onClose,
}: {
  project: Project;
  task: Task;
  kind: LearnedKind;
  onCreated: (name: string) => void;
  onClose: () => void;
}) {
  const listed = useEmbeddings(project.name);
  const usable = usableEmbeddings(listed.data ?? [], task, kind);
  const [chosen, setChosen] = useState("");
  const embedding = chosen || usable[0]?.name || "";
  const [name, setName] = useState("");
  // Zero-shot: empty, the server's default (above chance, so that weak evidence abstains).
  const [minConfidence, setMinConfidence] = useState(kind === "zero_shot" ? "" : "0.8");
  const [descriptions, setDescriptions] = useState<Record<string, string>>({});
  const [classifier, setClassifier] = useState<string>(CLASSIFIERS[0][0]);
  // The server's default name.
  const suggested = `${kind === "active_learner" ? "active-learner" : "zero-shot"}-${embedding}`;
  const create = useCreateHeuristic(project.name, (made) => onCreated(made.name));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const given = Object.fromEntries(
      Object.entries(descriptions).filter(([, text]) => text.trim() !== ""),
    );
    const config =
      kind === "zero_shot"
        ? {
            ...(minConfidence.trim() ? { min_confidence: Number(minConfidence) } : {}),
            descriptions: given,
          }
        : { min_confidence: Number(minConfidence), classifier };
    create.mutate({
      task: task.name,
      name: name.trim() || null,
      kind,
      embedding,
      config,
      description: "",
    });
  };
  const title = `New ${KIND_TITLES[kind].toLowerCase()} for ${task.name}`;
  return (
    <section className="panel heuristic-editor" aria-label={title}>
      <ClosingHead title={title} onClose={onClose} />
      <p className="muted">
        {kind === "active_learner"
          ? "A classifier learns the manual labels from the embedding's vectors and votes where it is confident. The code is generated and runs as it is; edit it like any heuristic. Its statistics are measured out of sample (cross-fitted)."
          : "Each record is compared with the label names (and the descriptions you give) in a semantic embedder's space, and gets the closest label when it is similar enough. No labels needed."}
      </p>
      {kind === "zero_shot" && task.type !== "classification" ? (
        <p className="inline-error" role="alert">
          Zero-shot heuristics label classification tasks; {task.name} is a {task.type} task.
        </p>
      ) : listed.isPending ? (
        <Loading what="Loading the embeddings" />
      ) : usable.length === 0 ? (
        <p className="inline-error" role="alert">
          {kind === "zero_shot"
            ? `No ready semantic embedding${task.attribute ? ` of ${task.attribute}` : ""}: zero-shot needs a sentence-transformers or model2vec embedding (TF-IDF places texts by their words, not their meaning).`
            : `No ready ${task.type === "extraction" ? "token-level " : ""}embedding${task.attribute ? ` of ${task.attribute}` : ""}.`}{" "}
          <Link to={projectPath(project.name, "settings")}>Add one in Settings</Link>
        </p>
      ) : (
        <form onSubmit={submit} aria-label={title}>
          <div className="form-row">
            <label>
              Embedding
              <select value={embedding} onChange={(event) => setChosen(event.target.value)}>
                {usable.map((e) => (
                  <option key={e.name} value={e.name}>
                    {e.name} ({e.embedder})
                  </option>
                ))}
              </select>
            </label>
            <label className="grow">
              Name
              <input
                value={name}
                placeholder={suggested}
                onChange={(event) => setName(event.target.value)}
              />
            </label>
            {kind === "active_learner" && (
              <label>
                Classifier
                <select value={classifier} onChange={(event) => setClassifier(event.target.value)}>
                  <Options choices={CLASSIFIERS} />
                </select>
              </label>
            )}
            <MinConfidence
              value={minConfidence}
              onChange={setMinConfidence}
              placeholder={kind === "zero_shot" ? "default" : undefined}
            />
          </div>
          {kind === "zero_shot" && (
            <LabelDescriptions
              task={task}
              legend="Label descriptions (optional: the label name alone works too)"
              descriptions={descriptions}
              onChange={setDescriptions}
              hints
            />
          )}
          <div className="actions">
            <button type="submit" className="primary" disabled={create.isPending || !embedding}>
              {create.isPending ? "Creating…" : `Create ${KIND_TITLES[kind].toLowerCase()}`}
            </button>
          </div>
          <InlineError error={create.error} />
        </form>
      )}
    </section>
  );
}

/** A new model heuristic: nothing to choose but an optional name (the server's default
 * `model-<task>`); it votes with whichever version of the task's model is live when it runs. */
export function NewModelHeuristic({
  project,
  task,
  onCreated,
  onClose,
}: {
  project: Project;
  task: Task;
  onCreated: (name: string) => void;
  onClose: () => void;
}) {
  const models = useModels(project.name, task.name);
  const live = models.data?.live_version ?? null;
  const [name, setName] = useState("");
  const create = useCreateHeuristic(project.name, (made) => onCreated(made.name));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosen = name.trim() || null;
    create.mutate({ task: task.name, name: chosen, kind: MODEL_KIND, description: "" });
  };
  const title = `New trained-model heuristic for ${task.name}`;
  const modelsLink = `${projectPath(project.name, "models")}?task=${encodeURIComponent(task.name)}`;
  return (
    <section className="panel heuristic-editor" aria-label={title}>
      <ClosingHead title={title} onClose={onClose} />
      <p className="muted">
        The task&apos;s live model votes: the most probable label
        {task.type === "multi-label" ? " (here: each label at 50% or more)" : ""}, with its
        probability as confidence. Each run uses the version live when it starts. Its statistics
        are measured on the manual labels of the task&apos;s test split only, which no version
        trained on.
      </p>
      {!modelKindFits(project, task) ? (
        <p className="inline-error" role="alert">
          Models are trained for classification and multi-label tasks; {task.name} is a{" "}
          {task.type} task.
        </p>
      ) : (
        <form onSubmit={submit} aria-label={title}>
          <div className="muted" data-testid="live-model">
            {models.isPending ? (
              "Looking for the live model…"
            ) : models.isError ? (
              <InlineError error={models.error} />
            ) : live !== null ? (
              <>
                Live now: version {live}. <Link to={modelsLink}>Models</Link>
              </>
            ) : (
              <>
                No live model yet: it can be added now, and runs once a version is live.{" "}
                <Link to={modelsLink}>Train one</Link>
              </>
            )}
          </div>
          <div className="form-row">
            <label className="grow">
              Name
              <input
                value={name}
                placeholder={`${MODEL_KIND}-${task.name}`}
                onChange={(event) => setName(event.target.value)}
              />
            </label>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create model heuristic"}
            </button>
          </div>
          <InlineError error={create.error} />
        </form>
      )}
    </section>
  );
}
