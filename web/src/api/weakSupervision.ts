// Weak supervision of a task: its last run (null before the first), and a new run as a job
// (whose end refreshes every query, this one too).
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Job, type Schemas } from "./client";
import type { Then } from "./queries";

export const weakSupervisionKeys = {
  last: (project: string, task: string) => ["weak-supervision", project, task] as const,
};

export function useLastWeakSupervision(project: string, task: string) {
  return useQuery({
    queryKey: weakSupervisionKeys.last(project, task),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/tasks/{task}/weak-supervision", {
          params: { path: { project, task } },
        }),
      ),
  });
}

export function useRunWeakSupervision(
  project: string,
  task: string,
  then?: Then<Job, Schemas["WeakSupervisionRun"]>,
) {
  return useMutation({
    mutationFn: (body: Schemas["WeakSupervisionRun"]) =>
      unwrap(
        api.POST("/api/projects/{project}/tasks/{task}/weak-supervision", {
          params: { path: { project, task } },
          body,
        }),
      ),
    onSuccess: then,
  });
}
