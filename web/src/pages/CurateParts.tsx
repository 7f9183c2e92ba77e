// Pieces the curate page's parts share: the embedding choice, a label value as chips, the
// pager of a cursor-paged list, and the state of a result not made yet (the API's 404).
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError, errorMessage, type Task } from "../api/client";
import { useEmbeddings } from "../api/embeddings";
import { Empty, ErrorState } from "../components/States";
import { formatNumber } from "../format";
import { projectPath } from "../routes";
import { firstRank, labelNames, type Pages } from "./curate";
import { LabelChip } from "./LabelingPanels";

/** A ready embedding to use, or "" for the server's default (the project's only ready one);
 * with none ready, where to add one. */
export function EmbeddingSelect({
  project,
  value,
  onChange,
}: {
  project: string;
  value: string;
  onChange: (name: string) => void;
}) {
  const embeddings = useEmbeddings(project);
  const ready = (embeddings.data ?? []).filter((e) => e.state === "ready");
  if (embeddings.data && ready.length === 0) {
    return (
      <p className="muted curate-no-embedding" data-testid="no-embedding">
        No ready embedding:{" "}
        <Link to={projectPath(project, "settings")}>add one in Settings</Link> (coreset, typical,
        cluster, the split's distances and label quality read one).
      </p>
    );
  }
  return (
    <label title="The embedding the vectors come from (Settings → Embeddings adds one)">
      Embedding
      <select value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">
          {ready.length === 1 ? `default (${ready[0]!.name})` : "default (the only ready one)"}
        </option>
        {ready.map((e) => (
          <option key={e.name} value={e.name}>
            {e.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A label value (a name, names or none) as chips in the task's colours. */
export function LabelValue({ value, task }: { value: unknown; task: Task | undefined }) {
  const names = labelNames(value);
  if (names.length === 0) return <span className="muted">—</span>;
  return (
    <span className="curate-chips">
      {names.map((name) =>
        task ? <LabelChip key={name} label={name} task={task} /> : <span key={name}>{name}</span>,
      )}
    </span>
  );
}

/** Previous and next page of a cursor-paged list, with where the page stands. */
export function Pager({
  pages,
  shown,
  total,
  size,
  next,
  what,
  onPrevious,
  onNext,
}: {
  pages: Pages;
  shown: number;
  total: number;
  size: number;
  next: string | null;
  what: string;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}) {
  if (total === 0) return null;
  const first = firstRank(pages, size);
  return (
    <div className="curate-pager" data-testid="pager">
      <button type="button" disabled={pages.before.length === 0} onClick={onPrevious}>
        Previous
      </button>
      <span className="muted">
        {formatNumber(first)}–{formatNumber(first + shown - 1)} of {formatNumber(total)} {what}
      </span>
      <button type="button" disabled={!next} onClick={() => next && onNext(next)}>
        Next
      </button>
    </div>
  );
}

/** True for the API's "not found": the result asked for has not been made yet (or the task
 * it names is gone; the message says which). */
export function notFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/** A stored result's error: "not made yet" as an empty state saying what to run, anything
 * else as an error. */
export function ResultError({
  error,
  title,
  why,
  retry,
  children,
}: {
  error: unknown;
  title: string;
  why: ReactNode;
  retry: () => void;
  children?: ReactNode;
}) {
  if (!notFound(error)) return <ErrorState error={error} retry={retry} />;
  return (
    <Empty
      title={title}
      why={
        <>
          {why} <span className="muted">({errorMessage(error)})</span>
        </>
      }
    >
      {children}
    </Empty>
  );
}
