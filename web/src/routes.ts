// The URL holds the state: these build and read the app's paths, so links and pages agree.
export type ProjectPage =
  | "browser"
  | "labeling"
  | "heuristics"
  | "lookup"
  | "settings"
  | "ide";

export function projectPath(project: string, page?: ProjectPage, search?: URLSearchParams): string {
  const base = `/projects/${encodeURIComponent(project)}${page ? `/${page}` : ""}`;
  const query = search?.toString();
  return query ? `${base}?${query}` : base;
}

/** Which records, in which order: the data browser's state, and a labeling session's list.
 * In the URL as `where` (the filter tree as JSON), `slice`, `order`, `desc=1`, `seed`. */
export interface Selection {
  where?: Record<string, unknown>;
  slice?: string;
  order?: string;
  desc?: boolean;
  seed?: number;
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
  return params;
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
