// The labeling session's state kept in this browser: the settings, the records done in this
// session.
import { useCallback, useState } from "react";

// --- kept in this browser -----------------------------------------------------------------------

export interface LabelingSettings {
  /** move to the next record after a classification label */
  autoNext: boolean;
  /** draw other annotators' and sources' spans on the text too (dashed) */
  otherSpans: boolean;
  /** attributes not shown */
  hidden: string[];
  /** the task the label hotkeys address */
  task: string | null;
}

const DEFAULTS: LabelingSettings = { autoNext: true, otherSpans: false, hidden: [], task: null };

function readJson<T>(storage: Storage, key: string): Partial<T> {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(key) ?? "{}");
    return parsed && typeof parsed === "object" ? (parsed as Partial<T>) : {};
  } catch {
    return {}; // a hand-edited or old value: start from the defaults
  }
}

/** The labeling settings of a project, kept in localStorage. */
export function useLabelingSettings(
  project: string,
): [LabelingSettings, (change: Partial<LabelingSettings>) => void] {
  const key = `assay.labeling.${project}`;
  const [settings, setSettings] = useState<LabelingSettings>(() => ({
    ...DEFAULTS,
    ...readJson<LabelingSettings>(window.localStorage, key),
  }));
  const update = useCallback(
    (change: Partial<LabelingSettings>) =>
      setSettings((old) => {
        const next = { ...old, ...change };
        window.localStorage.setItem(key, JSON.stringify(next));
        return next;
      }),
    [key],
  );
  return [settings, update];
}

/** Records labeled in this session (kept for the tab's life, so a reload keeps the count). */
export function useDone(project: string, session: string): [Set<number>, (id: number) => void] {
  const key = `assay.labeling.done.${project}?${session}`;
  const [done, setDone] = useState<Set<number>>(() => {
    const stored = readJson<{ ids: number[] }>(window.sessionStorage, key).ids;
    return new Set(Array.isArray(stored) ? stored : []);
  });
  const add = useCallback(
    (id: number) =>
      setDone((old) => {
        if (old.has(id)) return old;
        const next = new Set(old).add(id);
        window.sessionStorage.setItem(key, JSON.stringify({ ids: [...next] }));
        return next;
      }),
    [key],
  );
  return [done, add];
}
