// Labeling tasks and their labels. The project document carries them, so each change reads
// the project again, and its records, whose labels may change with it.
import { api, unwrap, type Schemas } from "./client";
import { projectKeys } from "./projects";
import { useRefreshingMutation } from "./queries";
import { recordKeys } from "./records";

function useTaskMutation<V, D>(project: string, change: (variables: V) => Promise<D>) {
  return useRefreshingMutation(change, [projectKeys.one(project), recordKeys.all(project)]);
}

export function useCreateTask(project: string) {
  return useTaskMutation(project, (body: Schemas["TaskCreate"]) =>
    unwrap(api.POST("/api/projects/{project}/tasks", { params: { path: { project } }, body })),
  );
}

export function useRenameTask(project: string, task: string) {
  return useTaskMutation(project, (name: string) =>
    unwrap(
      api.PATCH("/api/projects/{project}/tasks/{task}", {
        params: { path: { project, task } },
        body: { name },
      }),
    ),
  );
}

/** Deletes the task with its labels and every annotation made with them. */
export function useDeleteTask(project: string, task: string) {
  return useTaskMutation(project, () =>
    unwrap(
      api.DELETE("/api/projects/{project}/tasks/{task}", { params: { path: { project, task } } }),
    ),
  );
}

export function useAddLabel(project: string, task: string) {
  return useTaskMutation(project, (name: string) =>
    unwrap(
      api.POST("/api/projects/{project}/tasks/{task}/labels", {
        params: { path: { project, task } },
        body: { name },
      }),
    ),
  );
}

/** Renames a label, or changes its color or hotkey. */
export function useUpdateLabel(project: string, task: string, label: string) {
  return useTaskMutation(project, (body: Schemas["LabelUpdate"]) =>
    unwrap(
      api.PATCH("/api/projects/{project}/tasks/{task}/labels/{label}", {
        params: { path: { project, task, label } },
        body,
      }),
    ),
  );
}

/** Deletes the label and every annotation with it. */
export function useDeleteLabel(project: string, task: string, label: string) {
  return useTaskMutation(project, () =>
    unwrap(
      api.DELETE("/api/projects/{project}/tasks/{task}/labels/{label}", {
        params: { path: { project, task, label } },
      }),
    ),
  );
}
