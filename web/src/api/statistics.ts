// Statistics of a labeling task over the project or a slice (the overview's numbers).
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

export const statisticsKeys = {
  task: (project: string, task: string, slice: string | undefined) =>
    ["statistics", project, task, slice ?? null] as const,
};

export function useStatistics(project: string, task: string, slice: string | undefined) {
  return useQuery({
    queryKey: statisticsKeys.task(project, task, slice),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/statistics", {
          params: { path: { project }, query: { task, slice } },
        }),
      ),
  });
}
