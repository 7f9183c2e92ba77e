// Neural search and outliers in the data browser: the records most similar to one record
// (`?similar=ID`), narrowed by the browser's filter and slice, best first, with their scores;
// the side panel finds similar records to any record by its key, and shows the outliers of an
// embedding (`?outliers=NAME`, most unusual first) or saves them as a static slice.
import { useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError, type Project, type RecordRow } from "../api/client";
import { defaultEmbedding, useEmbeddings } from "../api/embeddings";
import { useFindRecord, useRecord, useRecordsByIds } from "../api/records";
import { useOutlierSlice, useOutliers, useSimilar } from "../api/search";
import { SimilarControls } from "../components/Similar";
import { Empty, ErrorState, InlineError, Loading } from "../components/States";
import { formatNumber, recordName } from "../format";
import { OUTLIER_LIMIT, projectPath, type Selection, type Similar } from "../routes";

export function SimilarResults({
  project,
  selection,
  similar,
  onChange,
  onClose,
  card,
}: {
  project: Project;
  selection: Selection;
  similar: Similar;
  onChange: (next: Similar) => void;
  onClose: () => void;
  /** a record card (the browser's), with its score and its position in the result */
  card: ScoredCard;
}) {
  const found = useSimilar(project.name, selection, similar);
  const query = useRecord(project.name, similar.record);
  const text = query.data
    ? Object.values(query.data.data).find((value) => typeof value === "string")
    : undefined;
  return (
    <div className="similar-results" data-testid="similar-results">
      <div className="similar-head panel">
        <div className="section-head">
          <p>
            Records most similar to{" "}
            <strong>{query.data ? recordName(project, query.data) : "…"}</strong>
            {typeof text === "string" && (
              <span className="similar-query" dir="auto">
                {" "}
                “{text.length > 120 ? `${text.slice(0, 120)}…` : text}”
              </span>
            )}
            {(selection.where || selection.slice) && (
              <span className="muted"> · among the records of the filter</span>
            )}
          </p>
          <button type="button" onClick={onClose}>
            Close similar records
          </button>
        </div>
        <SimilarControls
          project={project.name}
          similar={similar}
          threshold={found.data?.threshold}
          onChange={onChange}
        />
        {found.data && (
          <p className="muted" data-testid="similar-summary">
            {formatNumber(found.data.records.length)} records at or above similarity{" "}
            {found.data.threshold.toFixed(2)} with {found.data.embedding}, best first.
          </p>
        )}
      </div>
      {found.isPending ? (
        <Loading what="Searching similar records" />
      ) : found.isError ? (
        <SimilarError project={project.name} error={found.error} />
      ) : found.data.records.length === 0 ? (
        <Empty
          title="No similar record"
          why={`No record${selection.where || selection.slice ? " of the filter" : ""} reaches the similarity threshold ${found.data.threshold.toFixed(2)}, a similarity that few unrelated records reach with this embedding. Lower the threshold or loosen the filter.`}
        >
          {found.data.threshold > 0 && (
            <button type="button" onClick={() => onChange({ ...similar, threshold: 0 })}>
              Show the closest anyway
            </button>
          )}
        </Empty>
      ) : (
        <ScoredCards
          project={project.name}
          results={found.data.records}
          stale={found.isPlaceholderData}
          card={card}
        />
      )}
    </div>
  );
}

type ScoredCard = (record: RecordRow, score: number, index: number) => ReactNode;

/** Scored records as the browser's cards, in the order given: the cards show labels too, so
 * the records are read with them, in one query. */
function ScoredCards({
  project,
  results,
  stale,
  card,
}: {
  project: string;
  results: { id: number; score: number }[];
  stale: boolean;
  card: ScoredCard;
}) {
  const ids = results.map((r) => r.id);
  const rows = useRecordsByIds(project, ids);
  if (rows.isError) return <ErrorState error={rows.error} retry={() => void rows.refetch()} />;
  if (!rows.data) return <Loading what="Loading the records" />;
  const byId = new Map(rows.data.records.map((row) => [row.id, row]));
  return (
    <ol className={stale ? "record-list stale" : "record-list"}>
      {results.map((result, index) => {
        const row = byId.get(result.id);
        return row ? <li key={result.id}>{card(row, result.score, index)}</li> : null;
      })}
    </ol>
  );
}

/** The outliers of an embedding (`?outliers=NAME`), most unusual first, with their scores. */
export function OutlierResults({
  project,
  embedding,
  onClose,
  onOpenSlice,
  card,
}: {
  project: Project;
  embedding: string;
  onClose: () => void;
  onOpenSlice: (slice: string) => void;
  card: ScoredCard;
}) {
  const found = useOutliers(project.name, embedding);
  const save = useOutlierSlice(project.name, embedding, (slice) => onOpenSlice(slice.name));
  return (
    <div className="similar-results" data-testid="outlier-results">
      <div className="similar-head panel">
        <div className="section-head">
          <p>
            Outliers of <strong>{embedding}</strong>, most unusual first
            {found.data && (
              <span className="muted">
                {" "}
                ·{" "}
                {found.data.method === "labeled"
                  ? "farthest from the manually labeled records"
                  : "farthest from their nearest neighbours (nothing labeled yet)"}
              </span>
            )}
          </p>
          <div className="actions">
            <button type="button" disabled={save.isPending} onClick={() => save.mutate()}>
              Save as slice
            </button>
            <button type="button" onClick={onClose}>
              Close outliers
            </button>
          </div>
        </div>
        <InlineError error={save.error} />
      </div>
      {found.isPending ? (
        <Loading what="Scoring outliers" />
      ) : found.isError ? (
        <SimilarError project={project.name} error={found.error} />
      ) : found.data.records.length === 0 ? (
        <Empty title="No outliers" why="Every record is labeled, or the embedding is empty." />
      ) : (
        <ScoredCards
          project={project.name}
          results={found.data.records}
          stale={false}
          card={card}
        />
      )}
    </div>
  );
}

/** A search that cannot run says why; without an embedding, where to add one. */
function SimilarError({ project, error }: { project: string; error: unknown }) {
  const missing = error instanceof ApiError && (error.status === 404 || error.status === 422);
  return (
    <div className="state state-error" role="alert" data-testid="error">
      <h3>Similar records cannot be found</h3>
      <p>{error instanceof Error ? error.message : String(error)}</p>
      {missing && (
        <div className="state-actions">
          <Link to={projectPath(project, "settings")}>Add an embedding in Settings</Link>
        </div>
      )}
    </div>
  );
}

/** The side panel: similar records to a record given by its key, and the outlier slice. */
export function NeuralPanel({
  project,
  onSimilar,
  onOutliers,
  onOpenSlice,
}: {
  project: Project;
  onSimilar: (record: number) => void;
  onOutliers: (embedding: string) => void;
  onOpenSlice: (slice: string) => void;
}) {
  const embeddings = useEmbeddings(project.name);
  const ready = (embeddings.data ?? []).filter(
    (e) => e.state === "ready" && e.level === "attribute",
  );
  const [key, setKey] = useState("");
  const [embedding, setEmbedding] = useState("");
  const find = useFindRecord(project, (record) => onSimilar(record.id));
  const chosen = embedding || defaultEmbedding(embeddings.data ?? [])?.name || "";
  const outliers = useOutlierSlice(project.name, chosen, (slice) => onOpenSlice(slice.name));
  const keyName = project.attributes.filter((a) => a.primary_key).map((a) => a.name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) find.mutate(key.trim());
  };
  return (
    <section className="panel neural-panel" aria-label="Similar records and outliers">
      <h2>Similar records</h2>
      {embeddings.data && ready.length === 0 ? (
        <p className="muted">
          Needs a ready embedding:{" "}
          <Link to={projectPath(project.name, "settings")}>add one in Settings</Link>.
        </p>
      ) : (
        <>
          <form className="similar-to" onSubmit={submit}>
            <label>
              Similar to record ({keyName.length === 1 ? keyName[0] : "id"})
              <input
                value={key}
                inputMode="numeric"
                onChange={(event) => setKey(event.target.value)}
              />
            </label>
            <button type="submit" disabled={!key.trim() || find.isPending}>
              Find similar
            </button>
          </form>
          <InlineError error={find.error} />
          <p className="muted">Or use “Similar records” on a record card.</p>
          <h3>Outliers</h3>
          <p className="muted">
            The records farthest from the labeled ones (from their neighbours before any
            label), most unusual first; the first {OUTLIER_LIMIT} can be saved as a static slice.
          </p>
          <div className="form-row">
            <label>
              Embedding
              <select
                aria-label="Outlier embedding"
                value={chosen}
                onChange={(event) => setEmbedding(event.target.value)}
              >
                {ready.map((e) => (
                  <option key={e.name}>{e.name}</option>
                ))}
              </select>
            </label>
            <button type="button" disabled={!chosen} onClick={() => onOutliers(chosen)}>
              Show outliers
            </button>
            <button
              type="button"
              disabled={!chosen || outliers.isPending}
              onClick={() => outliers.mutate()}
            >
              {outliers.isPending ? "Finding outliers…" : "Outlier slice"}
            </button>
          </div>
          <InlineError error={outliers.error} />
        </>
      )}
    </section>
  );
}
