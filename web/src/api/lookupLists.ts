// Lookup lists: the lists with their sizes, one list with its terms, creating one, adding,
// removing and blacklisting terms, importing a file of terms, deleting, downloading.
import { useQuery } from "@tanstack/react-query";
import { api, enc, unwrap, upload, type Schemas } from "./client";
import { useRefreshingMutation, type Then } from "./queries";

export type LookupList = Schemas["LookupListPublic"];
export type LookupDetail = Schemas["LookupListDetail"];

export const lookupKeys = {
  /** the lists, and each list under them */
  all: (project: string) => ["lookup-lists", project] as const,
  one: (project: string, name: string) => [...lookupKeys.all(project), name] as const,
};

export function useLookupLists(project: string) {
  return useQuery({
    queryKey: lookupKeys.all(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/lookup-lists", { params: { path: { project } } })),
  });
}

export function useLookupList(project: string, name: string) {
  return useQuery({
    queryKey: lookupKeys.one(project, name),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/lookup-lists/{name}", {
          params: { path: { project, name } },
        }),
      ),
  });
}

export function useCreateLookupList(project: string, then?: Then<LookupList, string>) {
  return useRefreshingMutation(
    (name: string) =>
      unwrap(
        api.POST("/api/projects/{project}/lookup-lists", {
          params: { path: { project } },
          body: { name, description: "" },
        }),
      ),
    [lookupKeys.all(project)],
    then,
    { refreshFirst: true },
  );
}

export interface TermsChange {
  terms: string[];
  /** remove the terms (from the blacklist, with `blacklisted`) instead of adding them */
  remove?: boolean;
  blacklisted?: boolean;
}

export function useChangeTerms(project: string, name: string) {
  const params = { path: { project, name } };
  return useRefreshingMutation(
    ({ terms, remove = false, blacklisted = false }: TermsChange) =>
      unwrap(
        remove
          ? api.POST("/api/projects/{project}/lookup-lists/{name}/terms/remove", {
              params,
              body: { terms, blacklisted },
            })
          : api.POST("/api/projects/{project}/lookup-lists/{name}/terms", {
              params,
              body: { terms, blacklisted },
            }),
      ),
    [lookupKeys.all(project)],
    undefined,
    { refreshFirst: true },
  );
}

/** Adds the terms of a text or CSV file. */
export function useImportTerms(project: string, name: string) {
  return useRefreshingMutation(
    (file: File) => {
      const form = new FormData();
      form.append("file", file);
      return upload<LookupList>(
        `/api/projects/${enc(project)}/lookup-lists/${enc(name)}/import`,
        form,
      );
    },
    [lookupKeys.all(project)],
    undefined,
    { refreshFirst: true },
  );
}

export function useDeleteLookupList(project: string, name: string, then?: Then<unknown, void>) {
  return useRefreshingMutation(
    () =>
      unwrap(
        api.DELETE("/api/projects/{project}/lookup-lists/{name}", {
          params: { path: { project, name } },
        }),
      ),
    [lookupKeys.all(project)],
    then,
    { refreshFirst: true },
  );
}

/** The address that downloads a list's terms as `txt` or `csv`. */
export function lookupExportHref(project: string, name: string, format: "txt" | "csv"): string {
  return `/api/projects/${enc(project)}/lookup-lists/${enc(name)}/export?format=${format}`;
}
