// Annotations: a label given or taken back on a record. The record's labels of that task
// come back and replace the cached ones at once; every other view of the project's records
// is read again, except the labeling session's list, which stays as it is.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type RecordDetail, type TaskLabels } from "./client";
import { projectKeys } from "./projects";
import { recordKeys } from "./records";
import { SESSION } from "./session";

export interface AnnotationChange {
  kind: "add" | "remove";
  record: number;
  task: string;
  /** the label; a removal without one takes back the task's label (classification) */
  label?: string | null;
  gold: boolean;
  /** the tokens of a span (extraction), the end exclusive */
  span?: { start: number; end: number } | null;
}

function send(project: string, annotator: string, c: AnnotationChange): Promise<TaskLabels> {
  const path = { project, record: String(c.record) };
  const span = c.span ? { start_token: c.span.start, end_token: c.span.end } : {};
  if (c.kind === "add") {
    return unwrap(
      api.POST("/api/projects/{project}/records/{record}/annotations", {
        params: { path },
        body: { task: c.task, label: c.label ?? "", annotator, gold: c.gold, ...span },
      }),
    );
  }
  return unwrap(
    api.POST("/api/projects/{project}/records/{record}/annotations/remove", {
      params: { path },
      body: { task: c.task, annotator, label: c.label ?? null, gold: c.gold, ...span },
    }),
  );
}

/** Gives or takes back `annotator`'s labels; `then` runs once a change is stored. */
export function useAnnotate<C extends AnnotationChange>(
  project: string,
  annotator: string,
  then: (change: C) => void,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (c: C) => send(project, annotator, c),
    onSuccess: (labels, c) => {
      const key = recordKeys.one(project, c.record);
      client.setQueryData<RecordDetail>(key, (old) =>
        old ? { ...old, labels: { ...old.labels, [c.task]: labels } } : old,
      );
      void client.invalidateQueries({
        predicate: (query) => {
          const [kind, owner, which] = query.queryKey;
          if (owner !== project || kind === SESSION) return false;
          return !(kind === key[0] && which === key[2]);
        },
      });
      then(c);
    },
    onError: () => {
      // An unknown label is most likely renamed or deleted elsewhere: reload the tasks.
      void client.invalidateQueries({ queryKey: projectKeys.one(project) });
    },
  });
}
