// TanStack Query plumbing that the resource modules share. Each resource module (projects.ts,
// records.ts, slices.ts, ...) holds its own query keys, its queries (`useX`) and its
// mutations with what they make stale; pages and components only call those hooks.
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";

/** What a page does once its mutation succeeded. */
export type Then<D, V> = (data: D, variables: V) => unknown;

/** A mutation that marks the queries under `stale` as stale when it succeeds (those on screen
 * are read again), then calls `then`. With `refreshFirst`, `then` waits until they have been
 * read again, and the mutation stays pending until then: for a page that goes on to show what
 * it just made (a new list, a renamed heuristic). Without it, `then` runs at once: a page that
 * moves on (to a new project, a closed dialog) does not wait for a list it leaves. */
export function useRefreshingMutation<V = void, D = unknown>(
  mutationFn: (variables: V) => Promise<D>,
  stale: readonly QueryKey[],
  then?: Then<D, V>,
  { refreshFirst = false }: { refreshFirst?: boolean } = {},
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: async (data, variables) => {
      const refreshed = Promise.all(
        stale.map((queryKey) => client.invalidateQueries({ queryKey })),
      );
      if (refreshFirst) await refreshed;
      await then?.(data, variables);
    },
  });
}
