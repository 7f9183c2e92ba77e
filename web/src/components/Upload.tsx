// Upload a file into a new project, or (a separate, explicit action) add it to an existing
// one: preview the first rows and the inferred types (editable, with the primary-key choice
// for a new project; for an addition, which records are new, which it updates and whose
// labels it adds), then import as a job that reports progress.
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import type { Schemas } from "../api/client";
import { useImportFile, usePreviewFile } from "../api/imports";
import { useProjects } from "../api/projects";
import { DATA_TYPES } from "../api/values";
import { formatNumber } from "../format";
import { projectPath } from "../routes";
import { Modal } from "./Confirm";
import { useJobs } from "./Jobs";
import { InlineError, Loading } from "./States";

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
  /** An existing project to add the file's records to; none: a new project. */
  project?: string;
  primaryKey?: string[];
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const { track } = useJobs();
  const projects = useProjects();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState(project ?? "");
  const [annotator, setAnnotator] = useState("import");
  const [types, setTypes] = useState<Record<string, string>>({});
  const [inferred, setInferred] = useState<Record<string, string | null>>({});
  const [keyColumns, setKeyColumns] = useState<string[]>(primaryKey ?? []);
  const isArchive = file?.name.endsWith(ARCHIVE) ?? false;
  // A new project never lands in one that exists (the server refuses it too, with a 409).
  const taken = !project && projects.data?.some((p) => p.name === name.trim());

  const preview = usePreviewFile(project, (result) => {
    const found = Object.fromEntries(result.columns.map((c) => [c.name, c.data_type]));
    setInferred(found);
    setTypes(Object.fromEntries(result.columns.map((c) => [c.name, c.data_type ?? ""])));
  });

  const start = useImportFile((job) => {
    const target = name.trim();
    const title = project
      ? `Add ${file?.name ?? ""} to ${target}`
      : `Import ${file?.name ?? ""} into ${target}`;
    track(job, title, () => navigate(projectPath(target)));
    onClose();
  });
  const startImport = () =>
    start.mutate({
      file,
      project: name,
      into: project ? "existing" : "new",
      // Only the types the user changed: the rest stay inferred (and existing ones as they are).
      types: Object.fromEntries(
        Object.entries(types).filter(([column, type]) => type && type !== inferred[column]),
      ),
      primaryKey: keyColumns,
      annotator,
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
  const refused = Boolean(taken) || (project !== undefined && (isArchive || Boolean(data?.addition?.problem)));
  return (
    <Modal title={project ? `Add records from a file to ${project}` : "New project from a file"} onClose={onClose} wide>
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
      {taken && (
        <p className="inline-error" role="alert" data-testid="name-taken">
          A project named “{name.trim()}” already exists: a new project needs a name of its own.
          To add this file&apos;s records to it, open{" "}
          <Link to={projectPath(name.trim(), "settings")} onClick={onClose}>
            its settings
          </Link>{" "}
          and choose “Add records from a file”.
        </p>
      )}
      {preview.isPending && <Loading what="Reading the file" />}
      <InlineError error={preview.error} />
      {isArchive &&
        (project ? (
          <p className="inline-error" role="alert">
            A project archive is restored as a new project, not added to one: use “New project
            from a file” on the home page.
          </p>
        ) : (
          <p>A project archive: it is restored as a new project with everything in it.</p>
        ))}
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
                        {DATA_TYPES.map((type) => (
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
          {!project && data.label_columns.length > 0 && (
            <p>
              Label columns:{" "}
              {data.label_columns
                .map((c) => `${c.name} → task “${c.task}” (${c.source.replace("_", " ")})`)
                .join("; ")}
            </p>
          )}
        </div>
      )}
      {project && data?.addition && (
        <Addition
          addition={data.addition}
          labelColumns={data.label_columns}
          rows={data.rows}
          annotator={annotator}
          onAnnotator={setAnnotator}
        />
      )}
      <InlineError error={start.error} />
      <div className="modal-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="primary"
          disabled={!file || (!data && !isArchive) || missingType || refused || start.isPending}
          onClick={startImport}
        >
          {project ? `Add to ${project}` : "Import"}
        </button>
      </div>
    </Modal>
  );
}

/** What adding the file changes, said before it is imported: records new and updated (by
 * primary key), new attributes and tasks, and whose labels each label column adds. */
function Addition({
  addition,
  labelColumns,
  rows,
  annotator,
  onAnnotator,
}: {
  addition: Schemas["ImportAddition"];
  labelColumns: Schemas["PreviewLabelColumn"][];
  rows: number;
  annotator: string;
  onAnnotator: (name: string) => void;
}) {
  const key = addition.primary_key.join(", ");
  const manual = labelColumns.some((c) => c.source === "manual");
  const who = annotator.trim() || "import";
  return (
    <section className="addition" data-testid="addition" aria-label="What adding the file changes">
      <h3>What adding this file to {addition.project} changes</h3>
      {addition.problem ? (
        <p className="inline-error" role="alert">
          It cannot be added: {addition.problem}
        </p>
      ) : (
        <ul>
          <li data-testid="addition-records">
            {key
              ? `${formatNumber(addition.records_new ?? 0)} new records; ${formatNumber(
                  addition.records_updated ?? 0,
                )} update the existing records with the same ${key}.`
              : `The project has no primary key: all ${formatNumber(rows)} rows become new records.`}
          </li>
          {addition.attributes_new.length > 0 && (
            <li>New attributes: {addition.attributes_new.join(", ")} (empty on the records already there).</li>
          )}
          {addition.tasks_new.length > 0 && <li>New labeling tasks: {addition.tasks_new.join(", ")}.</li>}
          {labelColumns.map((c) => (
            <li key={c.name} data-testid="addition-labels">
              {c.source === "manual"
                ? `${c.name}: ${formatNumber(c.labels)} manual labels of task “${c.task}”, added as annotator “${who}” (replacing that annotator's earlier labels on these records).`
                : `${c.name}: ${formatNumber(c.labels)} weak-supervision labels of task “${c.task}”, added as the source “${addition.weak_supervision_source}” beside the project's own weak supervision.`}
            </li>
          ))}
          {labelColumns.length === 0 && <li>No label columns: no labels are added.</li>}
        </ul>
      )}
      {manual && (
        <label>
          Annotator of the manual labels
          <input value={annotator} onChange={(event) => onAnnotator(event.target.value)} />
        </label>
      )}
    </section>
  );
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
