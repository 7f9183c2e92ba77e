// TanStack Query plumbing that the resource modules share. Each resource module (projects.ts,
// records.ts, slices.ts, ...) holds its own query keys, its queries (`useX`) and its
// mutations with what they make stale; pages and components only call those hooks.
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";

/** What a page does once its mutation succeeded and the data it changed was read again. */
export type Then<D, V> = (data: D, variables: V) => unknown;

/** A mutation that marks the queries under `stale` as stale when it succeeds, waits until
 * those on screen are read again, then calls `then`: a page never shows its old data after a
 * change (and the mutation counts as pending until then, so buttons stay disabled). */
export function useRefreshingMutation<V = void, D = unknown>(
  mutationFn: (variables: V) => Promise<D>,
  stale: readonly QueryKey[],
  then?: Then<D, V>,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: async (data, variables) => {
      await Promise.all(stale.map((queryKey) => client.invalidateQueries({ queryKey })));
      await then?.(data, variables);
    },
  });
}
