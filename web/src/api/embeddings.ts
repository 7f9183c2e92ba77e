// Embeddings and neural search: the hooks that settings, the data browser, the labeling suite
// and the heuristics page share.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { OUTLIER_LIMIT, similarQuery, type Selection, type Similar } from "../routes";
import { api, unwrap, type Schemas } from "./client";

export type Embedding = Schemas["EmbeddingPublic"];
export type SimilarResult = Schemas["SimilarResult"];

export const embeddingsKey = (project: string) => ["embeddings", project] as const;

const BUSY = new Set(["queued", "running"]);

export function isBusy(embedding: Embedding): boolean {
  return BUSY.has(embedding.state);
}

/** The project's embeddings; asked again every 2 s while one of them is being computed. */
export function useEmbeddings(project: string) {
  return useQuery({
    queryKey: embeddingsKey(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/embeddings", { params: { path: { project } } })),
    refetchInterval: (query) => (query.state.data?.some(isBusy) ? 2_000 : false),
  });
}

/** The embedding a search uses when none is named: the first ready attribute-level one (the
 * server picks the same). */
export function defaultEmbedding(embeddings: Embedding[]): Embedding | undefined {
  return embeddings.find((e) => e.state === "ready" && e.level === "attribute");
}

/** The records most similar to `similar.record`, narrowed by the selection's filter and slice. */
export function useSimilar(project: string, selection: Selection, similar: Similar) {
  const body = similarQuery(selection, similar);
  return useQuery({
    queryKey: ["records", project, "similar", body] as const,
    queryFn: () =>
      unwrap(api.POST("/api/projects/{project}/similar", { params: { path: { project } }, body })),
    placeholderData: keepPreviousData,
  });
}

/** The records of highest outlier score of an embedding, most unusual first. */
export function outliersOptions(project: string, embedding: string) {
  return {
    queryKey: ["records", project, "outliers", embedding] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/embeddings/{name}/outliers", {
          params: { path: { project, name: embedding }, query: { limit: OUTLIER_LIMIT } },
        }),
      ),
  };
}
