// TanStack Query hooks, one key per resource: a mutation invalidates what it changed.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

export const keys = {
  projects: ["projects"] as const,
  project: (name: string) => ["project", name] as const,
  records: (name: string) => ["records", name] as const,
  record: (name: string, id: string | number) => ["record", name, String(id)] as const,
  slices: (name: string) => ["slices", name] as const,
  jobs: ["jobs"] as const,
};

export function useProjects() {
  return useQuery({
    queryKey: keys.projects,
    queryFn: () => unwrap(api.GET("/api/projects")),
  });
}

export function useProject(project: string) {
  return useQuery({
    queryKey: keys.project(project),
    queryFn: () => unwrap(api.GET("/api/projects/{project}", { params: { path: { project } } })),
  });
}

export function useSlices(project: string) {
  return useQuery({
    queryKey: keys.slices(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/slices", { params: { path: { project } } })),
  });
}
