// Curating the data: what to label next (a selection, as a job), the project's split (a job,
// and its current report), label quality per task (a job, and its ranked lists), and
// near-duplicate groups (a job, and its pages). A run's job result is its document; the
// stored results are read back through the GET routes.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Job, type Schemas } from "./client";
import type { Then } from "./queries";

export type RunInfo = Schemas["RunInfo"];
export type ScoredRecord = Schemas["ScoredRecord"];
export type SelectionCreate = Schemas["SelectionCreate"];
export type SelectionStrategy = NonNullable<SelectionCreate["strategy"]>;
export type SplitCreate = Schemas["SplitCreate"];
export type SplitReport = Schemas["SplitReport"];
export type QualityCheck = Schemas["QualityCheck"];
export type QualityPage = Schemas["QualityPage"];
export type QualityList = QualityPage["list"];
export type QualityFinding = Schemas["QualityFinding"];
export type DuplicatesFind = Schemas["DuplicatesFind"];
export type DuplicateKind = NonNullable<DuplicatesFind["kind"]>;
export type DuplicatesPage = Schemas["DuplicatesPage"];
export type DuplicateGroup = Schemas["DuplicateGroup"];

/** Where the labeling suite opens on a result (documents.LabelingSession). */
export interface LabelingSession {
  slice: string;
  where: Record<string, unknown>;
  order_by: string;
  /** the web UI's labeling page on it */
  path: string;
}

/** A selection job's result (documents.SelectionResult; a job result is untyped in the API). */
export interface SelectionResult {
  run: RunInfo;
  strategy: SelectionStrategy;
  /** the strategy that picked the records (auto names its choice) */
  used: SelectionStrategy;
  /** why auto chose it; empty for the others */
  reason: string;
  task: string | null;
  embedding: string | null;
  size: number;
  /** records the selection picked from */
  pool: number;
  slice: string;
  session: LabelingSession;
  /** the first 100 picked, best first, with scores */
  records: ScoredRecord[];
}

export const STRATEGIES: readonly (readonly [SelectionStrategy, string])[] = [
  ["auto", "auto (typical while labels are few, hybrid after)"],
  ["random", "random (seeded)"],
  ["coreset", "coreset (k-center on an embedding)"],
  ["typical", "typical (dense, representative records per cluster)"],
  ["cluster", "cluster (stratified over k-means clusters)"],
  ["uncertainty", "uncertainty (the least certain predictions)"],
  ["hybrid", "hybrid (uncertainty within cluster diversity)"],
];

export const QUALITY_LISTS: readonly (readonly [QualityList, string])[] = [
  ["label_error", "Label errors"],
  ["weak_disagreement", "Manual vs weak"],
  ["annotator_disagreement", "Annotator disagreement"],
];

export const DUPLICATE_KINDS: readonly (readonly [DuplicateKind, string])[] = [
  ["exact", "exact (the same normalized text)"],
  ["lexical", "lexical (MinHash: most words shared)"],
  ["semantic", "semantic (close on an embedding)"],
];

/** Findings or groups a page shows. */
export const PAGE_SIZE = 50;

export const curationKeys = {
  /** the last selection made on this page (kept in the cache, not on the server) */
  selection: (project: string) => ["curation", project, "selection"] as const,
  split: (project: string) => ["curation", project, "split"] as const,
  quality: (project: string, task: string, list: QualityList, cursor: string | null) =>
    ["curation", project, "quality", task, list, cursor] as const,
  duplicates: (project: string, kind: DuplicateKind, mixedOnly: boolean, cursor: string | null) =>
    ["curation", project, "duplicates", kind, mixedOnly, cursor] as const,
};

/** Parses a split's sets as typed ("train=0.8, test=0.2"): the body's mapping, or why not. */
export function parseSets(text: string): Record<string, number> | { error: string } {
  const sets: Record<string, number> = {};
  const parts = text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 0) return { error: "Name at least one set, e.g. train=0.8,test=0.2." };
  for (const part of parts) {
    const match = /^([^=\s][^=]*?)\s*=\s*([0-9]*\.?[0-9]+)$/.exec(part);
    if (!match) return { error: `“${part}” is not NAME=NUMBER (a fraction or a count).` };
    const name = match[1]!;
    if (name in sets) return { error: `The set “${name}” is named twice.` };
    sets[name] = Number(match[2]);
  }
  return sets;
}

/** Starts a selection; the job's result is a SelectionResult. */
export function useSelect(project: string, then?: Then<Job, SelectionCreate>) {
  return useMutation({
    mutationFn: (body: SelectionCreate) =>
      unwrap(
        api.POST("/api/projects/{project}/selections", { params: { path: { project } }, body }),
      ),
    onSuccess: then,
  });
}

/** Starts a split of the labeled records; its end refreshes the report. */
export function useSplit(project: string, then?: Then<Job, SplitCreate>) {
  return useMutation({
    mutationFn: (body: SplitCreate) =>
      unwrap(api.POST("/api/projects/{project}/splits", { params: { path: { project } }, body })),
    onSuccess: then,
  });
}

/** The report of the project's current split (404: no split yet). */
export function useSplitReport(project: string) {
  return useQuery({
    queryKey: curationKeys.split(project),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project}/splits", { params: { path: { project } } })),
  });
}

/** Starts a label-quality check of a task; its end refreshes the lists. */
export function useCheckQuality(project: string, task: string, then?: Then<Job, QualityCheck>) {
  return useMutation({
    mutationFn: (body: QualityCheck) =>
      unwrap(
        api.POST("/api/projects/{project}/tasks/{task}/quality", {
          params: { path: { project, task } },
          body,
        }),
      ),
    onSuccess: then,
  });
}

/** One page of a quality list, most suspect first (404: no check of the task yet). */
export function useQualityFindings(
  project: string,
  task: string,
  list: QualityList,
  cursor: string | null,
) {
  return useQuery({
    queryKey: curationKeys.quality(project, task, list, cursor),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/tasks/{task}/quality", {
          params: {
            path: { project, task },
            query: { list, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
  });
}

/** Starts a search for duplicate groups of a kind; its end refreshes the groups. */
export function useFindDuplicates(project: string, then?: Then<Job, DuplicatesFind>) {
  return useMutation({
    mutationFn: (body: DuplicatesFind) =>
      unwrap(
        api.POST("/api/projects/{project}/duplicates", { params: { path: { project } }, body }),
      ),
    onSuccess: then,
  });
}

/** One page of duplicate groups, largest first (404: no search of the kind yet). */
export function useDuplicateGroups(
  project: string,
  kind: DuplicateKind,
  mixedOnly: boolean,
  cursor: string | null,
) {
  return useQuery({
    queryKey: curationKeys.duplicates(project, kind, mixedOnly, cursor),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project}/duplicates", {
          params: {
            path: { project },
            query: { kind, mixed_only: mixedOnly, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
  });
}
