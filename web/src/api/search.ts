// Neural search: the records most similar to one record, an embedding's outliers, and the
// static slice of those outliers.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { OUTLIER_LIMIT, similarQuery, type Selection, type Similar } from "../routes";
import { api, unwrap, type Schemas, type Slice } from "./client";
import { useRefreshingMutation, type Then } from "./queries";
import { recordKeys } from "./records";
import { sliceKeys } from "./slices";

export type SimilarResult = Schemas["SimilarResult"];

/** Searches the records most similar to `body.record`, best first. */
export function findSimilar(project: string, body: Schemas["SimilarQuery"]) {
  return unwrap(
    api.POST("/api/projects/{project}/similar", { params: { path: { project } }, body }),
  );
}

/** The records most similar to `similar.record`, narrowed by the selection's filter and slice. */
export function useSimilar(project: string, selection: Selection, similar: Similar) {
  const body = similarQuery(selection, similar);
  return useQuery({
    queryKey: [...recordKeys.all(project), "similar", body] as const,
    queryFn: () => findSimilar(project, body),
    placeholderData: keepPreviousData,
  });
}

/** The records of highest outlier score of an embedding, most unusual first. */
export function outliersOptions(project: string, embedding: string) {
  return {
    queryKey: [...recordKeys.all(project), "outliers", embedding] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/embeddings/{name}/outliers", {
          params: { path: { project, name: embedding }, query: { limit: OUTLIER_LIMIT } },
        }),
      ),
  };
}

export function useOutliers(project: string, embedding: string) {
  return useQuery(outliersOptions(project, embedding));
}

/** Creates (or refreshes) the static slice `outliers-EMBEDDING`. */
export function useOutlierSlice(project: string, embedding: string, then?: Then<Slice, void>) {
  return useRefreshingMutation(
    () =>
      unwrap(
        api.POST("/api/projects/{project}/embeddings/{name}/outliers/slice", {
          params: { path: { project, name: embedding } },
          body: { size: OUTLIER_LIMIT },
        }),
      ),
    [sliceKeys.all(project)],
    then,
  );
}
