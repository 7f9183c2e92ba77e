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

/** What names a record for its user: its data (for the key's values), its stored key (a JSON
 * list, where the data is not at hand) and its position in the project (1-based, for a
 * project without a primary key). */
export interface Named {
  data?: Record<string, unknown> | null;
  key?: string | null;
  position?: number | null;
}

/** A record as users know it: its primary-key value ("running_id 6"; a composite key as
 * "id 1, lang en"), or its position in the project ("#12") when the project has no key.
 * Internal ids stay in URLs and the API. */
export function recordName(project: Project, record: Named): string {
  const keyed = [...project.attributes]
    .filter((a) => a.primary_key)
    .sort((a, b) => a.position - b.position);
  if (keyed.length) {
    let values = keyed.map((a) => record.data?.[a.name]);
    if (values.some((v) => v === undefined || v === null) && record.key) {
      try {
        const parsed: unknown = JSON.parse(record.key);
        if (Array.isArray(parsed) && parsed.length === keyed.length) values = parsed;
      } catch {
        // not a JSON list: the data's values (or the position) name it
      }
    }
    if (values.every((v) => v !== undefined && v !== null)) {
      return keyed.map((a, i) => `${a.name} ${String(values[i])}`).join(", ");
    }
  }
  return record.position ? `#${record.position.toLocaleString("en-US")}` : "record";
}
