// Formatting shared by the pages.
import type { Project } from "./api/client";

/** A server timestamp (ISO; naive ones are UTC) in the browser's local time. */
export function formatTime(iso: string): string {
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function formatNumber(n: number): string {
  return n.toLocaleString("en-US");
}

export function percent(part: number, whole: number): string {
  return whole ? `${((100 * part) / whole).toFixed(1)}%` : "—";
}

/** A record as users know it: by its primary key value (one key attribute), else its id. */
export function recordName(
  project: Project,
  data: Record<string, unknown>,
  id: number,
): string {
  const keyed = project.attributes.filter((a) => a.primary_key);
  const only = keyed.length === 1 ? keyed[0] : undefined;
  return only && data[only.name] !== undefined
    ? `${only.name} ${String(data[only.name])}`
    : `record ${id}`;
}
