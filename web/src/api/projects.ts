// Projects: the list, one project (its schema and tasks), deleting one, the sample projects,
// and the address that downloads an export.
import { useQuery } from "@tanstack/react-query";
import { api, enc, unwrap, type Project } from "./client";
import { useRefreshingMutation, type Then } from "./queries";

export const projectKeys = {
  all: ["projects"] as const,
  one: (project: string) => ["project", project] as const,
};

export function useProjects() {
  return useQuery({
    queryKey: projectKeys.all,
    queryFn: () => unwrap(api.GET("/api/projects")),
  });
}

export function useProject(project: string) {
  return useQuery({
    queryKey: projectKeys.one(project),
    queryFn: () => unwrap(api.GET("/api/projects/{project}", { params: { path: { project } } })),
  });
}

export function useDeleteProject(then?: Then<unknown, string>) {
  return useRefreshingMutation(
    (project: string) =>
      unwrap(api.DELETE("/api/projects/{project}", { params: { path: { project } } })),
    [projectKeys.all],
    then,
  );
}

/** Creates the clickbait sample project in one of its variants ("initial", "finished"). */
export function useCreateSample(then?: Then<Project, string>) {
  return useRefreshingMutation(
    (variant: string) =>
      unwrap(
        api.POST("/api/samples/{sample}", {
          params: { path: { sample: "clickbait" }, query: { variant } },
        }),
      ),
    [projectKeys.all],
    then,
  );
}

/** The address of an export (`format`, `slice`), for a download link. */
export function exportHref(project: string, params: URLSearchParams): string {
  return `/api/projects/${enc(project)}/export?${params}`;
}
