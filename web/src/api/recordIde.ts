// The record IDE: a Python snippet run against one record in the sandbox (nothing stored).
import { useMutation } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";

export type SnippetResult = Schemas["SnippetResult"];

export interface SnippetRun {
  record: string;
  code: string;
  /** a key that cancels the run (tryRuns.ts) */
  cancel_key: string;
}

export function useRunSnippet(project: string, then: (result: SnippetResult) => void) {
  return useMutation({
    mutationFn: ({ record, ...body }: SnippetRun) =>
      unwrap(
        api.POST("/api/projects/{project}/records/{record}/run", {
          params: { path: { project, record } },
          body,
        }),
      ),
    onSuccess: then,
  });
}
