// Records: one record's detail, a page of a query (the data browser's, keyset paged), the
// records of some ids in one query, and a record named as users name it (by its key).
import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import type { selectionQuery } from "../routes";
import { api, unwrap, type Project, type RecordDetail, type RecordPage } from "./client";

export const recordKeys = {
  /** every query of the project's records (a label change makes them all stale) */
  all: (project: string) => ["records", project] as const,
  one: (project: string, id: string | number) => ["record", project, String(id)] as const,
};

/** Reads one record: `record` is its id, or `key=value` (see recordPath). */
export function fetchRecord(project: string, record: string): Promise<RecordDetail> {
  return unwrap(
    api.GET("/api/projects/{project}/records/{record}", { params: { path: { project, record } } }),
  );
}

export function recordOptions(project: string, id: number) {
  return {
    queryKey: recordKeys.one(project, id),
    queryFn: () => fetchRecord(project, String(id)),
  };
}

export function useRecord(
  project: string,
  id: number,
  options: { enabled?: boolean; staleTime?: number } = {},
) {
  return useQuery({ ...recordOptions(project, id), ...options });
}

/** The record a user names: by its primary key value (one key attribute) or its id. */
export function recordPath(project: Project, key: string): string {
  const keyed = project.attributes.filter((a) => a.primary_key);
  const only = keyed.length === 1 ? keyed[0] : undefined;
  return only ? `${only.name}=${key}` : key;
}

/** Finds the record a user names by its key (see recordPath). */
export function useFindRecord(project: Project, then: (record: RecordDetail) => void) {
  return useMutation({
    mutationFn: (key: string) => fetchRecord(project.name, recordPath(project, key)),
    onSuccess: then,
  });
}

type Ordered = ReturnType<typeof selectionQuery>;

/** Keyset paging: the cursor that starts each page, learned from the page before it. A page
 * opened directly (reload, a link) has none and is read by offset instead. */
const cursors = new Map<string, string>();

/** Page `page` (from 1) of a query's records with their labels. The result says which page it
 * is: while the next one loads, the previous stays shown with its own numbers. */
export function useRecordsPage(project: string, body: Ordered, page: number, size: number) {
  const at = (n: number) => JSON.stringify([project, body, n]);
  return useQuery({
    queryKey: [...recordKeys.all(project), "browser", body, page] as const,
    placeholderData: keepPreviousData,
    queryFn: async (): Promise<RecordPage & { page: number }> => {
      const cursor = page > 1 ? cursors.get(at(page)) : undefined;
      const result = await unwrap(
        api.POST("/api/projects/{project}/records/query", {
          params: { path: { project } },
          body: {
            ...body,
            limit: size,
            with_labels: true,
            ...(cursor ? { cursor } : { offset: (page - 1) * size }),
          },
        }),
      );
      if (result.next_cursor) cursors.set(at(page + 1), result.next_cursor);
      return { ...result, page };
    },
  });
}

/** The records of `ids` with their labels, in one query (in id order). */
export function useRecordsByIds(project: string, ids: number[]) {
  return useQuery({
    queryKey: [...recordKeys.all(project), "ids", ids] as const,
    enabled: ids.length > 0,
    queryFn: () =>
      unwrap(
        api.POST("/api/projects/{project}/records/query", {
          params: { path: { project } },
          body: {
            where: { ids },
            limit: ids.length,
            with_labels: true,
            order_by: "id",
            descending: false,
            seed: 0,
          },
        }),
      ),
  });
}
