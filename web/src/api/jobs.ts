// Jobs: one job's state (asked again while it runs), its progress as server-sent events, and
// the refresh of everything once a job ends.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, unwrap, type Job } from "./client";

export const jobKeys = {
  one: (id: number) => ["job", id] as const,
};

const FINAL = new Set<Job["status"]>(["done", "failed", "cancelled"]);

export function isFinished(job: Job): boolean {
  return FINAL.has(job.status);
}

/** A job, asked again every second until it has finished. */
export function useJob(id: number) {
  return useQuery({
    queryKey: jobKeys.one(id),
    queryFn: () => unwrap(api.GET("/api/jobs/{job_id}", { params: { path: { job_id: id } } })),
    refetchInterval: (query) => (query.state.data && isFinished(query.state.data) ? false : 1_000),
  });
}

/** Follows a job's progress as server-sent events; close the returned source to stop. */
export function jobEvents(
  id: number,
  on: { progress: (job: Job) => void; end: (job: Job) => void; broken: () => void },
): EventSource {
  const source = new EventSource(`/api/jobs/${id}/events`);
  source.addEventListener("progress", (event) => on.progress(JSON.parse(event.data) as Job));
  source.addEventListener("end", (event) => on.end(JSON.parse(event.data) as Job));
  source.onerror = on.broken;
  return source;
}

/** Marks every query stale: a job that ended may have changed anything of its project. */
export function useRefreshAll(): () => Promise<void> {
  const client = useQueryClient();
  return useCallback(() => client.invalidateQueries(), [client]);
}
