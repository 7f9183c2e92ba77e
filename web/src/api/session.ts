// A labeling session's list: the ordered ids of a selection's records, read in pages (or one
// search: similar records, an embedding's outliers), and the record at a position, with the
// next ones read ahead.
import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { selectionQuery, similarQuery, type Selection } from "../routes";
import { api, unwrap } from "./client";
import { recordOptions } from "./records";
import { findSimilar, outliersOptions } from "./search";

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

export function sessionQuery(selection: Selection): SessionQuery {
  const similar = selection.similar;
  return {
    ...selectionQuery(selection),
    ...(similar ? { similar: similarQuery(selection, similar) } : {}),
    ...(selection.outliers ? { outliers: selection.outliers } : {}),
  };
}

export const sessionKeys = {
  page: (project: string, query: string, page: number, opened: number) =>
    [SESSION, project, query, page, opened] as const,
};

type Found = { records: { id: number }[] };
/** One search's records as the session's only page. */
const onePage = ({ records }: Found) => ({ ids: records.map((r) => r.id), total: records.length });

function pageOptions(project: string, query: string, page: number, opened: number) {
  return {
    queryKey: sessionKeys.page(project, query, page, opened),
    queryFn: async () => {
      const { similar, outliers, ...body } = JSON.parse(query) as SessionQuery;
      // An embedding's outliers (most unusual first) or similar records (best first): one
      // search, one page.
      const search = outliers
        ? () => outliersOptions(project, outliers).queryFn()
        : similar
          ? () => findSimilar(project, similar)
          : null;
      if (search) return page > 0 ? { ids: [] as number[], total: 0 } : onePage(await search());
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

/** The record id at `index` of the session, its detail, and the session's size. */
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
