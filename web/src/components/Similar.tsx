// The settings of a neural search, shared by the data browser and the labeling suite: which
// embedding, the similarity threshold (the embedder's default shown, editable) and how many.
import { useState, type FormEvent } from "react";
import { defaultEmbedding, useEmbeddings } from "../api/embeddings";
import { SIMILAR_LIMIT, type Similar } from "../routes";
import "./Similar.css";

const LIMITS = [10, 20, SIMILAR_LIMIT] as const;

export function SimilarControls({
  project,
  similar,
  threshold,
  onChange,
}: {
  project: string;
  similar: Similar;
  /** the threshold the last search applied (the embedder's default unless one was given) */
  threshold: number | undefined;
  onChange: (next: Similar) => void;
}) {
  const embeddings = useEmbeddings(project);
  const ready = (embeddings.data ?? []).filter(
    (e) => e.state === "ready" && e.level === "attribute",
  );
  const chosen = similar.embedding ?? defaultEmbedding(embeddings.data ?? [])?.name ?? "";
  const shown = similar.threshold ?? threshold;
  const [draft, setDraft] = useState<string | null>(null);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    if (draft === null) return;
    const value = Number(draft);
    onChange({
      ...similar,
      threshold: draft.trim() === "" || !Number.isFinite(value) ? undefined : value,
    });
    setDraft(null);
  };
  return (
    <form className="similar-controls" onSubmit={apply} aria-label="Similarity settings">
      <label>
        Embedding
        <select
          value={chosen}
          onChange={(event) =>
            // Another embedding has another scale: its own default threshold applies.
            onChange({ ...similar, embedding: event.target.value, threshold: undefined })
          }
        >
          {ready.length === 0 && <option value="">none ready</option>}
          {ready.map((e) => (
            <option key={e.name} value={e.name}>
              {e.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Similarity threshold
        <input
          type="number"
          step={0.05}
          min={-1}
          max={1}
          className="threshold"
          value={draft ?? (shown === undefined ? "" : String(shown))}
          onChange={(event) => setDraft(event.target.value)}
          onBlur={(event) => apply(event)}
        />
      </label>
      <label>
        At most
        <select
          aria-label="How many similar records"
          value={similar.limit ?? SIMILAR_LIMIT}
          onChange={(event) => onChange({ ...similar, limit: Number(event.target.value) })}
        >
          {LIMITS.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      {similar.threshold !== undefined && (
        <button
          type="button"
          className="link"
          onClick={() => {
            setDraft(null);
            onChange({ ...similar, threshold: undefined });
          }}
        >
          Default threshold
        </button>
      )}
    </form>
  );
}

/** A similarity (or another score, named) as text, with a bar. */
export function Score({ score, name = "similarity" }: { score: number; name?: string }) {
  return (
    <span className="similar-score" data-testid="similarity" data-score={score}>
      {name} <strong>{score.toFixed(3)}</strong>
      <span className="similar-bar" aria-hidden="true">
        <span style={{ width: `${Math.max(0, Math.min(1, score)) * 100}%` }} />
      </span>
    </span>
  );
}
