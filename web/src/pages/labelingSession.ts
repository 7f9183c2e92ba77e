// The labeling session's state outside the page: the ordered record ids (fetched in pages),
// a record's detail, the settings kept in this browser, the records done in this session.
import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, unwrap, type RecordDetail } from "../api/client";
import { outliersOptions } from "../api/embeddings";
import { keys } from "../api/queries";
import { selectionQuery, similarQuery, type Selection } from "../routes";

/** Ids per page of the session's list. */
export const PAGE = 250;
/** The session's id pages are fixed while it is open: labeling must not reorder it (a filter
 * such as "no manual label" would drop the record just labeled and shift every index). */
export const SESSION = "labeling-session";

/** What a session lists: a query of the records, or a search of the most similar ones. */
type SessionQuery = ReturnType<typeof selectionQuery> & {
  similar?: ReturnType<typeof similarQuery>;
  outliers?: string;
};

function sessionQuery(selection: Selection): SessionQuery {
  const similar = selection.similar;
  return {
    ...selectionQuery(selection),
    ...(similar ? { similar: similarQuery(selection, similar) } : {}),
    ...(selection.outliers ? { outliers: selection.outliers } : {}),
  };
}

type SessionKey = readonly [typeof SESSION, string, string, number, number];

function sessionKey(project: string, query: string, page: number, opened: number): SessionKey {
  return [SESSION, project, query, page, opened];
}

function pageOptions(project: string, query: string, page: number, opened: number) {
  return {
    queryKey: sessionKey(project, query, page, opened),
    queryFn: async () => {
      const { similar, outliers, ...body } = JSON.parse(query) as SessionQuery;
      if (outliers) {
        // An embedding's outliers: one request, most unusual first.
        if (page > 0) return { ids: [] as number[], total: 0 };
        const found = await outliersOptions(project, outliers).queryFn();
        return { ids: found.records.map((record) => record.id), total: found.records.length };
      }
      if (similar) {
        // Similar records: one search (at most SIMILAR_LIMIT), best first.
        if (page > 0) return { ids: [] as number[], total: 0 };
        const found = await unwrap(
          api.POST("/api/projects/{project}/similar", {
            params: { path: { project } },
            body: similar,
          }),
        );
        return { ids: found.records.map((record) => record.id), total: found.records.length };
      }
      const found = await unwrap(
        api.POST("/api/projects/{project}/records/query", {
          params: { path: { project } },
          body: { ...body, limit: PAGE, offset: page * PAGE, with_labels: false },
        }),
      );
      return { ids: found.records.map((record) => record.id), total: found.total };
    },
    staleTime: Infinity,
  };
}

export function recordOptions(project: string, id: number) {
  return {
    queryKey: keys.record(project, id),
    queryFn: (): Promise<RecordDetail> =>
      unwrap(
        api.GET("/api/projects/{project}/records/{record}", {
          params: { path: { project, record: String(id) } },
        }),
      ),
  };
}

/** The record id at `index` of the session, with the session's size. */
export function useSessionRecord(project: string, selection: Selection, index: number) {
  // A session is (re)resolved each time the page opens, then kept as it is.
  const [opened] = useState(() => Date.now());
  const query = useMemo(() => JSON.stringify(sessionQuery(selection)), [selection]);
  const page = useQuery(pageOptions(project, query, Math.floor(index / PAGE), opened));
  const id = page.data?.ids[index % PAGE];
  const detail = useQuery({ ...recordOptions(project, id ?? -1), enabled: id !== undefined });
  const client = useQueryClient();
  useEffect(() => {
    const total = page.data?.total;
    if (total === undefined) return;
    // The next records' details are fetched ahead: labeling and moving on shows them at once.
    for (const ahead of [index + 1, index + 2, index - 1]) {
      if (ahead < 0 || ahead >= total) continue;
      void prefetch(client, project, query, ahead, opened);
    }
  }, [client, project, query, index, opened, page.data?.total]);
  return { page, id, detail, total: page.data?.total };
}

async function prefetch(
  client: QueryClient,
  project: string,
  query: string,
  index: number,
  opened: number,
): Promise<void> {
  const found = await client.ensureQueryData(
    pageOptions(project, query, Math.floor(index / PAGE), opened),
  );
  const id = found.ids[index % PAGE];
  if (id !== undefined) await client.prefetchQuery(recordOptions(project, id));
}

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
