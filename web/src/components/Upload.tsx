// Upload a file into a new or an existing project: preview the first rows and the inferred
// types (editable, with the primary-key choice), then import as a job that reports progress.
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { enc, upload, type FilePreview, type Job } from "../api/client";
import { formatNumber } from "../format";
import { projectPath } from "../routes";
import { Modal } from "./Confirm";
import { useJobs } from "./Jobs";
import { InlineError, Loading } from "./States";

const TYPES = ["text", "category", "integer", "float", "boolean"] as const;
const ARCHIVE = ".assay.json";

function projectNameOf(file: File): string {
  const stem = file.name.endsWith(ARCHIVE)
    ? file.name.slice(0, -ARCHIVE.length)
    : file.name.replace(/\.[^.]+$/, "");
  return stem.trim() || "project";
}

export function UploadDialog({
  project,
  primaryKey,
  onClose,
}: {
  /** An existing project to upload more records into; none: a new project. */
  project?: string;
  primaryKey?: string[];
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const { track } = useJobs();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState(project ?? "");
  const [types, setTypes] = useState<Record<string, string>>({});
  const [inferred, setInferred] = useState<Record<string, string | null>>({});
  const [keyColumns, setKeyColumns] = useState<string[]>(primaryKey ?? []);
  const isArchive = file?.name.endsWith(ARCHIVE) ?? false;

  const preview = useMutation({
    mutationFn: (chosen: File) => {
      const form = new FormData();
      form.append("file", chosen);
      return upload<FilePreview>("/api/imports/preview", form);
    },
    onSuccess: (result) => {
      const found = Object.fromEntries(result.columns.map((c) => [c.name, c.data_type]));
      setInferred(found);
      setTypes(Object.fromEntries(result.columns.map((c) => [c.name, c.data_type ?? ""])));
    },
  });

  const start = useMutation({
    mutationFn: () => {
      if (!file) throw new Error("choose a file first");
      const target = name.trim();
      if (!target) throw new Error("give the project a name");
      const form = new FormData();
      form.append("file", file);
      // Only the types the user changed: the rest stay inferred (and existing ones as they are).
      const changed = Object.fromEntries(
        Object.entries(types).filter(([column, type]) => type && type !== inferred[column]),
      );
      if (Object.keys(changed).length) form.append("types", JSON.stringify(changed));
      if (!project) keyColumns.forEach((column) => form.append("primary_key", column));
      return upload<Job>(`/api/projects/${enc(target)}/import`, form);
    },
    onSuccess: (job) => {
      const target = name.trim();
      track(job, `Import ${file?.name ?? ""} into ${target}`, () =>
        navigate(projectPath(target)),
      );
      onClose();
    },
  });

  const choose = (chosen: File | null) => {
    setFile(chosen);
    preview.reset();
    if (!chosen) return;
    if (!project) setName(projectNameOf(chosen));
    if (!chosen.name.endsWith(ARCHIVE)) preview.mutate(chosen);
  };

  const data = preview.data;
  const missingType = data?.columns.some((c) => !types[c.name]) ?? false;
  return (
    <Modal title={project ? `Upload records into ${project}` : "New project from a file"} onClose={onClose} wide>
      <div className="form-row">
        <label>
          File (CSV, TSV, JSON, JSONL, Parquet, Excel, or a project archive)
          <input
            type="file"
            accept=".csv,.tsv,.tab,.json,.jsonl,.ndjson,.parquet,.pq,.xlsx,.xls"
            onChange={(event) => choose(event.target.files?.[0] ?? null)}
          />
        </label>
        {!project && (
          <label>
            Project name
            <input value={name} onChange={(event) => setName(event.target.value)} />
          </label>
        )}
      </div>
      {preview.isPending && <Loading what="Reading the file" />}
      <InlineError error={preview.error} />
      {isArchive && <p>A project archive: it is restored as a new project with everything in it.</p>}
      {data && (
        <div className="preview" data-testid="preview">
          <p className="muted">
            {formatNumber(data.rows)} rows. The first {data.head.length} are shown; check each
            column's type{project ? "" : " and choose the primary key (optional)"}.
          </p>
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  {data.columns.map((column) => (
                    <th key={column.name} data-column={column.name}>
                      <div className="column-name">{column.name}</div>
                      <select
                        aria-label={`Type of ${column.name}`}
                        value={types[column.name] ?? ""}
                        onChange={(event) =>
                          setTypes({ ...types, [column.name]: event.target.value })
                        }
                      >
                        {!types[column.name] && <option value="">choose…</option>}
                        {TYPES.map((type) => (
                          <option key={type} value={type}>
                            {type}
                          </option>
                        ))}
                      </select>
                      {!project && (
                        <label className="key-choice">
                          <input
                            type="checkbox"
                            checked={keyColumns.includes(column.name)}
                            onChange={(event) =>
                              setKeyColumns(
                                event.target.checked
                                  ? [...keyColumns, column.name]
                                  : keyColumns.filter((c) => c !== column.name),
                              )
                            }
                          />
                          key
                        </label>
                      )}
                      {column.problem && <div className="inline-error">{column.problem}</div>}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.head.map((row, i) => (
                  <tr key={i}>
                    {data.columns.map((column) => (
                      <td key={column.name} className="cell">
                        {cellText(row[column.name])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.label_columns.length > 0 && (
            <p>
              Label columns:{" "}
              {data.label_columns
                .map((c) => `${c.name} → task “${c.task}” (${c.source.replace("_", " ")})`)
                .join("; ")}
            </p>
          )}
        </div>
      )}
      <InlineError error={start.error} />
      <div className="modal-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="primary"
          disabled={!file || (!data && !isArchive) || missingType || start.isPending}
          onClick={() => start.mutate()}
        >
          Import
        </button>
      </div>
    </Modal>
  );
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
