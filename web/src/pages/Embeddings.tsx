// Settings' "Embeddings": vectors of a text attribute, per record (or per token, for
// extraction), that similar records, outliers, active learners and zero-shot heuristics use.
// Adding one starts a job whose progress shows as a notification; the list shows each one's
// state until it is ready.
import { useState } from "react";
import type { Project } from "../api/client";
import {
  isBusy,
  useAddEmbedding,
  useDeleteEmbedding,
  useEmbedders,
  useEmbeddingJob,
  useEmbeddings,
  useRerunEmbedding,
  type Embedding,
} from "../api/embeddings";
import { isFinished } from "../api/jobs";
import { EMBEDDING_LEVELS } from "../api/values";
import { Confirm } from "../components/Confirm";
import { NewForm, Options } from "../components/Fields";
import { useJobs } from "../components/Jobs";
import { Empty, InlineError, QueryTable } from "../components/States";
import { formatNumber, formatTime } from "../format";

const LEVEL_TITLES: Record<Embedding["level"], string> = {
  attribute: "attribute (one vector per record)",
  token: "token (for extraction)",
};

/** Besides the embedders on offer (GET /embedders), models in a folder, named by its path. */
const FOLDERS = [
  ["st:", "sentence-transformers model in a folder…"],
  ["model2vec:", "model2vec static model in a folder…"],
] as const;

export function Embeddings({ project }: { project: Project }) {
  const listed = useEmbeddings(project.name);
  return (
    <section className="panel" aria-labelledby="embeddings-heading" data-testid="embeddings">
      <h2 id="embeddings-heading">Embeddings</h2>
      <p className="muted">
        Vectors of a text attribute. They find similar records and outliers, and feed active
        learners and zero-shot heuristics. New or changed records are embedded when they arrive.
      </p>
      {listed.data && listed.data.length === 0 && (
        <Empty
          title="No embedding yet"
          why="Add one below: the built-in embedder needs no download and takes seconds."
        />
      )}
      <QueryTable
        query={listed}
        what="Loading the embeddings"
        testId="embedding-list"
        columns={["Name", "Attribute", "Embedder", "Level", "Dimensions", "State", ""]}
        numeric={["Dimensions"]}
      >
        {(embeddings) =>
          embeddings.map((embedding) => (
            <EmbeddingRow key={embedding.name} project={project.name} embedding={embedding} />
          ))
        }
      </QueryTable>
      <NewEmbedding project={project} />
    </section>
  );
}

function EmbeddingRow({ project, embedding: e }: { project: string; embedding: Embedding }) {
  const [deleting, setDeleting] = useState(false);
  const { track } = useJobs();
  const remove = useDeleteEmbedding(project, e.name, () => setDeleting(false));
  const rerun = useRerunEmbedding(project, e.name, (job) => track(job, `Embedding ${e.name}`));
  const run = e.last_run as { records?: number; seconds?: number } | null;
  return (
    <tr data-embedding={e.name}>
      <td className="mono">{e.name}</td>
      <td className="mono">{e.attribute}</td>
      <td className="mono">
        {e.embedder}
        {e.reducer && <div className="muted">reduced: {e.reducer}</div>}
      </td>
      <td>{e.level}</td>
      <td className="num">{e.dimensions ?? "—"}</td>
      <td data-testid="embedding-state" data-state={e.state}>
        <span className={`state-chip state-chip-${e.state}`}>
          {isBusy(e) && <span className="spinner" aria-hidden="true" />} {e.state}
        </span>
        {e.job_id !== null && <JobProgress project={project} id={e.job_id} />}
        {e.state === "failed" && e.error && <p className="inline-error">{e.error}</p>}
        {run && run.records !== undefined && (
          <div className="muted">
            {formatNumber(run.records)} records
            {run.seconds !== undefined && ` · ${run.seconds.toFixed(1)} s`}
            {e.updated_at && ` · ${formatTime(e.updated_at)}`}
          </div>
        )}
      </td>
      <td>
        <button
          type="button"
          className="link"
          disabled={isBusy(e) || rerun.isPending}
          onClick={() => rerun.mutate()}
          title="Embed new and changed records again (unchanged ones are reused)"
        >
          Run again
        </button>{" "}
        <button type="button" className="link danger" onClick={() => setDeleting(true)}>
          Delete
        </button>
        <InlineError error={rerun.error} />
        {deleting && (
          <Confirm
            title="Delete embedding"
            message={
              <>
                Delete the embedding <strong>{e.name}</strong> and its vectors? Heuristics that
                use it stop working until it is added again.
              </>
            }
            busy={remove.isPending}
            onConfirm={() => remove.mutate()}
            onClose={() => setDeleting(false)}
          />
        )}
        <InlineError error={remove.error} />
      </td>
    </tr>
  );
}

function NewEmbedding({ project }: { project: Project }) {
  const texts = project.attributes.filter((a) => a.data_type === "text");
  const [attribute, setAttribute] = useState(texts[0]?.name ?? "");
  const offered = useEmbedders();
  const [kind, setKind] = useState<string>("tfidf-svd");
  const [model, setModel] = useState("");
  const [level, setLevel] = useState("attribute");
  const [reducer, setReducer] = useState("");
  const { track } = useJobs();
  // A folder's kind ends with ":", the path follows; an embedder on offer is complete.
  const needsModel = kind.endsWith(":");
  const embedder = needsModel ? `${kind}${model.trim()}` : kind;
  const add = useAddEmbedding(project.name, (job, body) =>
    track(job, `Embedding ${body.attribute}`),
  );
  const submit = () => add.mutate({ attribute, embedder, level, reducer: reducer || null });
  if (texts.length === 0) {
    return <p className="muted">This project has no text attribute to embed.</p>;
  }
  return (
    <NewForm title="New embedding" error={add.error} onSubmit={submit}>
      <label>
        Attribute
        <select
          aria-label="Attribute to embed"
          value={attribute}
          onChange={(event) => setAttribute(event.target.value)}
        >
          {texts.map((a) => (
            <option key={a.name}>{a.name}</option>
          ))}
        </select>
      </label>
      <label>
        Embedder
        <select value={kind} onChange={(event) => setKind(event.target.value)}>
          {(offered.data ?? [{ embedder: "tfidf-svd", title: "TF-IDF + SVD (built in)" }]).map(
            (e) => (
              <option key={e.embedder} value={e.embedder}>
                {e.title}
              </option>
            ),
          )}
          <Options choices={FOLDERS} />
        </select>
      </label>
      {needsModel && (
        <label className="grow">
          Model folder
          <input
            value={model}
            placeholder="/path/to/model"
            onChange={(event) => setModel(event.target.value)}
          />
        </label>
      )}
      <label>
        Level
        <select value={level} onChange={(event) => setLevel(event.target.value)}>
          {EMBEDDING_LEVELS.map((value) => (
            <option key={value} value={value}>
              {LEVEL_TITLES[value]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reduction
        <select value={reducer} onChange={(event) => setReducer(event.target.value)}>
          <option value="">none</option>
          <option value="pca-64">PCA to 64 dimensions</option>
          <option value="pca-128">PCA to 128 dimensions</option>
        </select>
      </label>
      <button
        type="submit"
        className="primary"
        disabled={!attribute || (needsModel && !model.trim()) || add.isPending}
      >
        Add embedding
      </button>
    </NewForm>
  );
}

/** The progress of the embedding's job while it runs (a first run or a rerun; the notification
 * in the corner shows it too, for jobs started on this page). */
function JobProgress({ project, id }: { project: string; id: number }) {
  const job = useEmbeddingJob(project, id);
  if (!job.data || isFinished(job.data)) return null;
  return (
    <div className="muted">
      <progress max={1} value={job.data.progress} aria-label="Progress" />{" "}
      {job.data.message ?? ""}
    </div>
  );
}
