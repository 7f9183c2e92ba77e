// The curate page's rules, apart from React: which part the URL opens, a record's text as a
// row shows it, a label value in words, what a set's distance to the pool says, and the pages
// of a cursor-paged list. Pure functions; the views (Curate*.tsx) use them.
import type { Project } from "../api/client";

export const VIEWS = [
  ["next", "What to label next"],
  ["split", "Split"],
  ["quality", "Label quality"],
  ["duplicates", "Duplicates"],
] as const;

export type View = (typeof VIEWS)[number][0];

/** The part the URL's `view` opens (anything else: what to label next). */
export function readView(raw: string | null): View {
  return VIEWS.find(([view]) => view === raw)?.[0] ?? "next";
}

/** Characters of a record's text a row shows. */
export const SNIPPET = 160;

/** A record's text as a row shows it: its first text attribute (else its first value that is
 * a string), cut at `length` characters. */
export function snippet(
  project: Pick<Project, "attributes">,
  data: Record<string, unknown> | null | undefined,
  length = SNIPPET,
): string {
  if (!data) return "";
  const text = project.attributes.find((a) => a.data_type === "text" && !a.primary_key)?.name;
  let value = text !== undefined ? data[text] : undefined;
  if (typeof value !== "string") value = Object.values(data).find((v) => typeof v === "string");
  if (typeof value !== "string") return "";
  return value.length > length ? `${value.slice(0, length)}…` : value;
}

/** A label value (a name, names, or none) as a list of names. */
export function labelNames(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map((item) => String(item));
  return [String(value)];
}

/** What a set's distance to the pool says, next to random sets of its size: `percentile` is
 * the share of random sets farther from the pool than this one. */
export function distanceVerdict(percentile: number): string {
  const share = `${Math.round(100 * percentile)}% of random sets are farther from the pool`;
  if (percentile >= 0.5) return `closer than a typical random set (${share})`;
  if (percentile >= 0.05) return `within random variation (${share})`;
  return `farther than 95% of random sets (${share})`;
}

/** The pages walked in a cursor-paged list: the cursors of the pages before, and this one's. */
export interface Pages {
  before: (string | null)[];
  cursor: string | null;
}

export const FIRST_PAGE: Pages = { before: [], cursor: null };

export function nextPage(pages: Pages, next: string): Pages {
  return { before: [...pages.before, pages.cursor], cursor: next };
}

export function previousPage(pages: Pages): Pages {
  if (pages.before.length === 0) return pages;
  const cursor = pages.before[pages.before.length - 1] ?? null;
  return { before: pages.before.slice(0, -1), cursor };
}

/** The rank of the first item of the page shown (1-based), for a page of `size`. */
export function firstRank(pages: Pages, size: number): number {
  return pages.before.length * size + 1;
}
