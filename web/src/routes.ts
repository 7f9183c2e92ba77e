// The URL holds the state: these build the app's paths, so links and pages agree.
export type ProjectPage = "browser" | "labeling" | "settings";

export function projectPath(project: string, page?: ProjectPage, search?: URLSearchParams): string {
  const base = `/projects/${encodeURIComponent(project)}${page ? `/${page}` : ""}`;
  const query = search?.toString();
  return query ? `${base}?${query}` : base;
}
