// Data slices: the project's slices, saving a selection as one, renaming and deleting.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas, type Slice } from "./client";
import { useRefreshingMutation, type Then } from "./queries";

export const sliceKeys = {
  all: (project: string) => ["slices", project] as const,
};

export function useSlices(project: string) {
  return useQuery({
    queryKey: sliceKeys.all(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/slices", { params: { path: { project } } })),
  });
}

/** Saves a slice. A static slice with `where` stores the ids the filter matches now (server
 * side, however many there are). */
export function useSaveSlice(project: string, then?: Then<Slice, Schemas["SliceCreate"]>) {
  return useRefreshingMutation(
    (body: Schemas["SliceCreate"]) =>
      unwrap(api.POST("/api/projects/{project}/slices", { params: { path: { project } }, body })),
    [sliceKeys.all(project)],
    then,
  );
}

export function useRenameSlice(project: string, slice: string, then?: Then<Slice, string>) {
  return useRefreshingMutation(
    (name: string) =>
      unwrap(
        api.PATCH("/api/projects/{project}/slices/{name}", {
          params: { path: { project, name: slice } },
          body: { name },
        }),
      ),
    [sliceKeys.all(project)],
    then,
  );
}

export function useDeleteSlice(project: string, then?: Then<unknown, string>) {
  return useRefreshingMutation(
    (name: string) =>
      unwrap(
        api.DELETE("/api/projects/{project}/slices/{name}", {
          params: { path: { project, name } },
        }),
      ),
    [sliceKeys.all(project)],
    then,
  );
}
