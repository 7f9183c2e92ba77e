// Formatting shared by the pages.

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
