// Embeddings: the embedders on offer, the project's embeddings (asked again while one is being
// computed), adding, running again and deleting one, and the job that computes one.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, unwrap, type Job, type Schemas } from "./client";
import { isFinished, useJob } from "./jobs";
import { useRefreshingMutation, type Then } from "./queries";

export type Embedding = Schemas["EmbeddingPublic"];

export const embeddingKeys = {
  all: (project: string) => ["embeddings", project] as const,
  embedders: ["embedders"] as const,
};

const BUSY = new Set<Embedding["state"]>(["queued", "running"]);

export function isBusy(embedding: Embedding): boolean {
  return BUSY.has(embedding.state);
}

/** The project's embeddings; asked again every 2 s while one of them is being computed. */
export function useEmbeddings(project: string) {
  return useQuery({
    queryKey: embeddingKeys.all(project),
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

/** The embedders on offer (besides models in a folder, named by their path). */
export function useEmbedders() {
  return useQuery({
    queryKey: embeddingKeys.embedders,
    queryFn: () => unwrap(api.GET("/api/embedders")),
    staleTime: Infinity,
  });
}

/** Adds an embedding; its vectors are computed by the job it answers. */
export function useAddEmbedding(project: string, then?: Then<Job, Schemas["EmbeddingCreate"]>) {
  return useRefreshingMutation(
    (body: Schemas["EmbeddingCreate"]) =>
      unwrap(
        api.POST("/api/projects/{project}/embeddings", { params: { path: { project } }, body }),
      ),
    [embeddingKeys.all(project)],
    then,
  );
}

/** Embeds new and changed records again (unchanged ones are reused), as a job. */
export function useRerunEmbedding(project: string, name: string, then?: Then<Job, void>) {
  return useRefreshingMutation(
    () =>
      unwrap(
        api.POST("/api/projects/{project}/embeddings/{name}/run", {
          params: { path: { project, name } },
        }),
      ),
    [embeddingKeys.all(project)],
    then,
  );
}

export function useDeleteEmbedding(project: string, name: string, then?: Then<unknown, void>) {
  return useRefreshingMutation(
    () =>
      unwrap(
        api.DELETE("/api/projects/{project}/embeddings/{name}", {
          params: { path: { project, name } },
        }),
      ),
    [embeddingKeys.all(project)],
    then,
  );
}

/** The job computing an embedding; once it ends, the embeddings (state, last run) are read
 * again. */
export function useEmbeddingJob(project: string, id: number) {
  const job = useJob(id);
  const client = useQueryClient();
  const ended = job.data !== undefined && isFinished(job.data);
  useEffect(() => {
    if (ended) void client.invalidateQueries({ queryKey: embeddingKeys.all(project) });
  }, [ended, client, project]);
  return job;
}
