// Calculated attributes: the list with each one's state, creating one and changing its code,
// testing it on a few records (nothing stored), running it on every record as a job, deleting.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";
import { projectKeys } from "./projects";
import { useRefreshingMutation, type Then } from "./queries";
import { recordKeys } from "./records";

export type Calculated = Schemas["CalculatedPublic"];
export type CalculatedTryResult = Schemas["CalculatedTryResult"];

export const calculatedKeys = {
  all: (project: string) => ["calculated", project] as const,
};

export function useCalculated(project: string) {
  return useQuery({
    queryKey: calculatedKeys.all(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/attributes", { params: { path: { project } } })),
  });
}

export function createCalculated(project: string, body: Schemas["CalculatedCreate"]) {
  return unwrap(
    api.POST("/api/projects/{project}/attributes", { params: { path: { project } }, body }),
  );
}

export function updateCalculated(project: string, name: string, code: string) {
  return unwrap(
    api.PATCH("/api/projects/{project}/attributes/{name}", {
      params: { path: { project, name } },
      body: { code },
    }),
  );
}

/** Computes the attribute on a few records with `code` (saved or not); nothing is stored. */
export function tryCalculated(project: string, name: string, body: Schemas["CalculatedTry"]) {
  return unwrap(
    api.POST("/api/projects/{project}/attributes/{name}/try", {
      params: { path: { project, name } },
      body,
    }),
  );
}

/** Starts the job that computes the attribute on every record. */
export function runCalculated(project: string, name: string) {
  return unwrap(
    api.POST("/api/projects/{project}/attributes/{name}/run", {
      params: { path: { project, name } },
    }),
  );
}

/** A change of calculated attributes (made of the calls above): the list and the project's
 * schema are read again before `then`, which may open the attribute under its name. */
export function useCalculatedMutation<V, D>(
  project: string,
  change: (variables: V) => Promise<D>,
  then?: Then<D, V>,
) {
  return useRefreshingMutation(
    change,
    [calculatedKeys.all(project), projectKeys.one(project)],
    then,
    { refreshFirst: true },
  );
}

/** Deletes the attribute and its values in every record. */
export function useDeleteCalculated(project: string, name: string, then?: Then<unknown, void>) {
  return useRefreshingMutation(
    () =>
      unwrap(
        api.DELETE("/api/projects/{project}/attributes/{name}", {
          params: { path: { project, name } },
        }),
      ),
    [calculatedKeys.all(project), projectKeys.one(project), recordKeys.all(project)],
    then,
    { refreshFirst: true },
  );
}
