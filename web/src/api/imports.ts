// Imports: a file's preview (its first rows, the inferred column types, and for an addition
// what it changes) and the import itself, as a job.
import { useMutation } from "@tanstack/react-query";
import { enc, upload, type FilePreview, type Job } from "./client";
import type { Then } from "./queries";

/** Previews a file, as a new project or (`project`) as an addition to that project. */
export function usePreviewFile(project: string | undefined, then: (preview: FilePreview) => void) {
  return useMutation({
    mutationFn: (file: File) => {
      const form = new FormData();
      form.append("file", file);
      if (project) form.append("project", project);
      return upload<FilePreview>("/api/imports/preview", form);
    },
    onSuccess: then,
  });
}

export interface ImportRequest {
  file: File | null;
  /** the project to create, or to add to (`into: "existing"`) */
  project: string;
  into: "new" | "existing";
  /** the column types to use instead of the inferred ones */
  types: Record<string, string>;
  /** a new project's primary key */
  primaryKey: string[];
  /** who gave the manual labels of an addition's label columns */
  annotator: string;
}

function importForm(request: ImportRequest): FormData {
  if (!request.file) throw new Error("choose a file first");
  const form = new FormData();
  form.append("file", request.file);
  if (Object.keys(request.types).length) form.append("types", JSON.stringify(request.types));
  if (request.into === "new") request.primaryKey.forEach((c) => form.append("primary_key", c));
  form.append("into", request.into);
  if (request.into === "existing") form.append("annotator", request.annotator.trim() || "import");
  return form;
}

/** Imports a file into a new project or an existing one, as a job. */
export function useImportFile(then: Then<Job, ImportRequest>) {
  return useMutation({
    mutationFn: (request: ImportRequest) => {
      const target = request.project.trim();
      const form = importForm(request);
      if (!target) throw new Error("give the project a name");
      return upload<Job>(`/api/projects/${enc(target)}/import`, form);
    },
    onSuccess: then,
  });
}
