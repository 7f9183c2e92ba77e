// Heuristics: the project's heuristics with their statistics, creating and changing one,
// trying one on a few records (nothing stored), running some as a job, deleting one.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Job, type Schemas } from "./client";
import { useRefreshingMutation, type Then } from "./queries";

export type Heuristic = Schemas["HeuristicPublic"];
export type HeuristicTryResult = Schemas["HeuristicTryResult"];

export const heuristicKeys = {
  all: (project: string) => ["heuristics", project] as const,
};

export function useHeuristics(project: string) {
  return useQuery({
    queryKey: heuristicKeys.all(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/heuristics", { params: { path: { project } } })),
  });
}

export function createHeuristic(project: string, body: Schemas["HeuristicCreate"]) {
  return unwrap(
    api.POST("/api/projects/{project}/heuristics", { params: { path: { project } }, body }),
  );
}

/** Renames a heuristic or stores a new version of its code or settings. */
export function updateHeuristic(project: string, name: string, body: Schemas["HeuristicUpdate"]) {
  return unwrap(
    api.PATCH("/api/projects/{project}/heuristics/{name}", {
      params: { path: { project, name } },
      body,
    }),
  );
}

/** Runs a stored heuristic on a few records (chosen or random); nothing is stored. */
export function tryHeuristic(project: string, name: string, body: Schemas["HeuristicTry"]) {
  return unwrap(
    api.POST("/api/projects/{project}/heuristics/{name}/try", {
      params: { path: { project, name } },
      body,
    }),
  );
}

/** A change of the project's heuristics (made of the calls above): the list is read again
 * before `then`, which may open the heuristic under its new name. */
export function useHeuristicsMutation<V, D>(
  project: string,
  change: (variables: V) => Promise<D>,
  then?: Then<D, V>,
) {
  return useRefreshingMutation(change, [heuristicKeys.all(project)], then, {
    refreshFirst: true,
  });
}

export function useCreateHeuristic(
  project: string,
  then?: Then<Heuristic, Schemas["HeuristicCreate"]>,
) {
  return useHeuristicsMutation(
    project,
    (body: Schemas["HeuristicCreate"]) => createHeuristic(project, body),
    then,
  );
}

export function useDeleteHeuristic(project: string, name: string, then?: Then<unknown, void>) {
  return useHeuristicsMutation(
    project,
    () =>
      unwrap(
        api.DELETE("/api/projects/{project}/heuristics/{name}", {
          params: { path: { project, name } },
        }),
      ),
    then,
  );
}

/** Runs heuristics as a job (whose end refreshes every query, the statistics with them). */
export function useRunHeuristics(project: string, then?: Then<Job, string[]>) {
  return useMutation({
    mutationFn: (names: string[]) =>
      unwrap(
        api.POST("/api/projects/{project}/heuristics/run", {
          params: { path: { project } },
          body: { names },
        }),
      ),
    onSuccess: then,
  });
}
