// The URL holds the state: these build and read the app's paths, so links and pages agree.
export type ProjectPage =
  | "browser"
  | "labeling"
  | "heuristics"
  | "lookup"
  | "settings"
  | "ide"
  | "models"
  | "review"
  | "curate";

export function projectPath(project: string, page?: ProjectPage, search?: URLSearchParams): string {
  const base = `/projects/${encodeURIComponent(project)}${page ? `/${page}` : ""}`;
  const query = search?.toString();
  return query ? `${base}?${query}` : base;
}

/** Neural search: the records most similar to one record (its id), best first. In the URL as
 * `similar`, with `embedding`, `threshold` and `limit` when they differ from the defaults. */
export interface Similar {
  record: number;
  embedding?: string;
  threshold?: number;
  limit?: number;
}

/** Which records, in which order: the data browser's state, and a labeling session's list.
 * In the URL as `where` (the filter tree as JSON), `slice`, `order`, `desc=1`, `seed`, and
 * `similar` (with the filter and slice narrowing it; ordered by similarity), or `outliers`
 * (an embedding's name). */
export interface Selection {
  where?: Record<string, unknown>;
  slice?: string;
  order?: string;
  desc?: boolean;
  seed?: number;
  similar?: Similar;
  /** the outliers of this embedding, most unusual first (the filter and slice do not apply) */
  outliers?: string;
}

/** An `order` of a static slice's own order (the API's `order_by: "slice:NAME"`). */
export const SLICE_ORDER = "slice:";

export function sliceOrder(slice: string): string {
  return SLICE_ORDER + slice;
}

export function selectionParams(selection: Selection): URLSearchParams {
  const params = new URLSearchParams();
  if (selection.where && Object.keys(selection.where).length) {
    params.set("where", JSON.stringify(selection.where));
  }
  if (selection.slice) params.set("slice", selection.slice);
  if (selection.order && selection.order !== "id") params.set("order", selection.order);
  if (selection.desc) params.set("desc", "1");
  if (selection.seed) params.set("seed", String(selection.seed));
  if (selection.outliers) params.set("outliers", selection.outliers);
  const similar = selection.similar;
  if (similar) {
    params.set("similar", String(similar.record));
    if (similar.embedding) params.set("embedding", similar.embedding);
    if (similar.threshold !== undefined) params.set("threshold", String(similar.threshold));
    if (similar.limit) params.set("limit", String(similar.limit));
  }
  return params;
}

function readSimilar(params: URLSearchParams): Similar | undefined {
  const record = Number(params.get("similar"));
  if (!Number.isInteger(record) || record <= 0) return undefined;
  const threshold = Number(params.get("threshold") || Number.NaN);
  const limit = Number(params.get("limit"));
  return {
    record,
    embedding: params.get("embedding") || undefined,
    threshold: Number.isFinite(threshold) ? threshold : undefined,
    limit: Number.isInteger(limit) && limit > 0 ? limit : undefined,
  };
}

export function readSelection(params: URLSearchParams): Selection {
  let where: Record<string, unknown> | undefined;
  const raw = params.get("where");
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        where = parsed as Record<string, unknown>;
      }
    } catch {
      where = undefined; // a hand-edited URL with broken JSON: show every record
    }
  }
  return {
    where,
    slice: params.get("slice") ?? undefined,
    order: params.get("order") ?? "id",
    desc: params.get("desc") === "1",
    seed: Number(params.get("seed") ?? 0) || 0,
    similar: readSimilar(params),
    outliers: params.get("outliers") || undefined,
  };
}

/** The body of POST /records/query for a selection (a slice narrows the filter). */
export function selectionQuery(selection: Selection): {
  where: Record<string, unknown> | null;
  order_by: string;
  descending: boolean;
  seed: number;
} {
  const parts = [
    ...(selection.slice ? [{ slice: selection.slice }] : []),
    ...(selection.where && Object.keys(selection.where).length ? [selection.where] : []),
  ];
  return {
    where: parts.length === 0 ? null : parts.length === 1 ? parts[0]! : { and: parts },
    order_by: selection.order ?? "id",
    descending: selection.desc ?? false,
    seed: selection.seed ?? 0,
  };
}

/** Similar records shown at most. */
export const SIMILAR_LIMIT = 50;
/** Outliers shown (and labeled in a session) at most. */
export const OUTLIER_LIMIT = 100;

/** The body of POST /similar for a selection with `similar`: the filter and slice narrow it. */
export function similarQuery(selection: Selection, similar: Similar) {
  return {
    record: similar.record,
    embedding: similar.embedding ?? null,
    threshold: similar.threshold ?? null,
    limit: similar.limit ?? SIMILAR_LIMIT,
    where: selectionQuery(selection).where,
  };
}
