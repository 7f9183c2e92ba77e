// Models of a task: the overview (versions with their metrics, the live one, the history and
// the loop's settings), training as a job, promotion and rollback, the settings, the live
// accuracy; and the review queue of the live model's predictions.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, enc, unwrap, type Job, type Project, type Schemas, type Task } from "./client";
import { useRefreshingMutation, type Then } from "./queries";
import { recordKeys } from "./records";

export type ModelsOverview = Schemas["ModelsOverview"];
export type ModelVersion = Schemas["ModelVersionPublic"];
export type ModelMetrics = Schemas["ModelMetrics"];
export type ModelSettings = Schemas["ModelSettings"];
export type ModelAlgorithm = Schemas["ModelTrain"]["algorithm"];
export type Prediction = Schemas["PredictionPublic"];
export type PredictionPage = Schemas["PredictionPage"];
export type LiveAccuracy = Schemas["LiveAccuracy"];
export type ReviewAction = Schemas["PredictionReview"]["action"];

export const modelKeys = {
  /** everything of a task's models: its versions, settings and live accuracy */
  task: (project: string, task: string) => ["models", project, task] as const,
  overview: (project: string, task: string) => ["models", project, task, "overview"] as const,
  liveAccuracy: (project: string, task: string) =>
    ["models", project, task, "live-accuracy"] as const,
  /** the review queue of a task */
  queue: (project: string, task: string) => ["predictions", project, task] as const,
};

/** The tasks a model is trained for: classification and multi-label ones. */
export function modelTasks(project: Project): Task[] {
  return project.tasks.filter((t) => t.type === "classification" || t.type === "multi-label");
}

const taskPath = (project: string, task: string) => ({ path: { project, task } });

export function useModels(project: string, task: string) {
  return useQuery({
    queryKey: modelKeys.overview(project, task),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/tasks/{task}/models", { params: taskPath(project, task) }),
      ),
  });
}

/** The live version's accuracy on the reviewed audit predictions (no live model: nulls). */
export function useLiveAccuracy(project: string, task: string) {
  return useQuery({
    queryKey: modelKeys.liveAccuracy(project, task),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/tasks/{task}/live-accuracy", {
          params: taskPath(project, task),
        }),
      ),
  });
}

/** Starts a training job (its end refreshes every query, the versions too). */
export function useTrainModel(
  project: string,
  task: string,
  then?: Then<Job, Schemas["ModelTrain"]>,
) {
  return useMutation({
    mutationFn: (body: Schemas["ModelTrain"]) =>
      unwrap(
        api.POST("/api/projects/{project}/tasks/{task}/models", {
          params: taskPath(project, task),
          body,
        }),
      ),
    onSuccess: then,
  });
}

/** Makes a version live, whatever its figures (the manual override). */
export function usePromoteModel(project: string, task: string) {
  return useRefreshingMutation(
    (version: number) =>
      unwrap(
        api.POST("/api/projects/{project}/tasks/{task}/models/{version}/promote", {
          params: { path: { project, task, version } },
        }),
      ),
    [modelKeys.task(project, task)],
  );
}

/** Makes the version live before the current one live again. */
export function useRollbackModel(project: string, task: string, then?: Then<ModelVersion, void>) {
  return useRefreshingMutation(
    () =>
      unwrap(
        api.POST("/api/projects/{project}/tasks/{task}/models/rollback", {
          params: taskPath(project, task),
        }),
      ),
    [modelKeys.task(project, task)],
    then,
  );
}

export function useUpdateModelSettings(project: string, task: string) {
  return useRefreshingMutation(
    (body: Schemas["ModelSettingsUpdate"]) =>
      unwrap(
        api.PATCH("/api/projects/{project}/tasks/{task}/models/settings", {
          params: taskPath(project, task),
          body,
        }),
      ),
    [modelKeys.task(project, task)],
  );
}

/** The address that downloads a version's artifact (load it with text_models.load). */
export function artifactUrl(project: string, task: string, version: number): string {
  return `/api/projects/${enc(project)}/tasks/${enc(task)}/models/${version}/artifact`;
}

/** Pending predictions, oldest first: the review queue (one page; the total counts all). */
export function usePendingPredictions(project: string, task: string, limit = 50) {
  return useQuery({
    queryKey: [...modelKeys.queue(project, task), limit] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/tasks/{task}/predictions", {
          params: { path: { project, task }, query: { status: "pending", limit } },
        }),
      ),
  });
}

export interface Review {
  prediction: string;
  action: ReviewAction;
  label?: string | string[];
}

/** Accepts, rejects or corrects a prediction (an audit one is answered with a label); the
 * queue, the live accuracy and the records' labels are read again. */
export function useReviewPrediction(
  project: string,
  task: string,
  reviewer: string,
  then?: Then<Prediction, Review>,
) {
  return useRefreshingMutation(
    ({ prediction, action, label }: Review) =>
      unwrap(
        api.POST("/api/projects/{project}/tasks/{task}/predictions/{prediction_id}/review", {
          params: { path: { project, task, prediction_id: prediction } },
          body: { action, label: label ?? null, reviewer },
        }),
      ),
    [
      modelKeys.queue(project, task),
      modelKeys.liveAccuracy(project, task),
      recordKeys.all(project),
    ],
    then,
  );
}
