// Settings: the data schema (and more records), calculated attributes, embeddings, labeling
// tasks and labels, export.
import { useState } from "react";
import { useParams } from "react-router-dom";
import type { Label, Project, Task } from "../api/client";
import { exportHref, useProject } from "../api/projects";
import { useSlices } from "../api/slices";
import {
  useAddLabel,
  useCreateTask,
  useDeleteLabel,
  useDeleteTask,
  useRenameTask,
  useUpdateLabel,
} from "../api/tasks";
import { TASK_TYPES } from "../api/values";
import { Confirm } from "../components/Confirm";
import { NewForm, OneFieldForm, Options } from "../components/Fields";
import { Empty, InlineError, QueryView } from "../components/States";
import { UploadDialog } from "../components/Upload";
import { formatNumber } from "../format";
import { CalculatedAttributes } from "./Calculated";
import { Embeddings } from "./Embeddings";
import "./Settings.css";

const EXPORT_FORMATS = [
  ["json", "JSON (refinery columns)"],
  ["jsonl", "JSON lines"],
  ["csv", "CSV"],
  ["parquet", "Parquet"],
  ["project", "Project archive (everything)"],
] as const;

export function Settings() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => (
        <div className="settings">
          <h1>Settings</h1>
          <Schema project={data} />
          <CalculatedAttributes project={data} />
          <Embeddings project={data} />
          <Tasks project={data} />
          <Export project={data} />
        </div>
      )}
    </QueryView>
  );
}

function Schema({ project }: { project: Project }) {
  const [uploading, setUploading] = useState(false);
  const key = project.attributes.filter((a) => a.primary_key).map((a) => a.name);
  return (
    <section className="panel" aria-labelledby="schema-heading">
      <div className="section-head">
        <h2 id="schema-heading">Data schema</h2>
        <button type="button" onClick={() => setUploading(true)}>
          Add records from a file
        </button>
      </div>
      <p className="muted">
        {formatNumber(project.records)} records. Tokenizer language: {project.language}.{" "}
        {key.length
          ? `A file added here updates the records with the same ${key.join(", ")} and adds the others.`
          : "No primary key: every file added here adds records."}
      </p>
      <table className="table" data-testid="schema">
        <thead>
          <tr>
            <th>Attribute</th>
            <th>Type</th>
            <th>Primary key</th>
          </tr>
        </thead>
        <tbody>
          {project.attributes.map((attribute) => (
            <tr key={attribute.name}>
              <td className="mono">{attribute.name}</td>
              <td>
                {attribute.data_type}
                {attribute.calculated && <span className="muted"> · calculated</span>}
              </td>
              <td>{attribute.primary_key ? "yes" : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {uploading && (
        <UploadDialog
          project={project.name}
          primaryKey={key}
          onClose={() => setUploading(false)}
        />
      )}
    </section>
  );
}

function Tasks({ project }: { project: Project }) {
  return (
    <section className="panel" aria-labelledby="tasks-heading">
      <h2 id="tasks-heading">Labeling tasks</h2>
      {project.tasks.length === 0 && (
        <Empty
          title="No labeling task yet"
          why="A task says what to label: a class per record, several classes, or spans of a text. Add one below."
        />
      )}
      {project.tasks.map((task) => (
        <TaskCard key={task.id} project={project.name} task={task} />
      ))}
      <NewTask project={project} />
    </section>
  );
}

function TaskCard({ project, task }: { project: string; task: Task }) {
  const [name, setName] = useState(task.name);
  const [deleting, setDeleting] = useState(false);
  const rename = useRenameTask(project, task.name);
  const remove = useDeleteTask(project, task.name);
  const addLabel = useAddLabel(project, task.name);
  return (
    <article className="task-card" data-testid={`task ${task.name}`} aria-label={`Task ${task.name}`}>
      <div className="task-head">
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            rename.mutate(name);
          }}
        >
          <input aria-label="Task name" value={name} onChange={(e) => setName(e.target.value)} />
          {name !== task.name && <button type="submit">Rename</button>}
        </form>
        <span className="muted">
          {task.type} · {task.attribute ? `on ${task.attribute}` : "on the whole record"}
        </span>
        <button type="button" className="link danger" onClick={() => setDeleting(true)}>
          Delete task
        </button>
      </div>
      <InlineError error={rename.error ?? remove.error} />
      <div className="labels">
        {task.labels.length === 0 && <p className="muted">No labels yet: add the first below.</p>}
        {task.labels.map((label) => (
          <LabelRow key={label.id} project={project} task={task.name} label={label} />
        ))}
      </div>
      <OneFieldForm
        label={`New label of ${task.name}`}
        placeholder="new label"
        button="Add label"
        busy={addLabel.isPending}
        onSubmit={addLabel.mutateAsync}
      />
      <InlineError error={addLabel.error} />
      {deleting && (
        <Confirm
          title="Delete task"
          message={
            <>
              Delete the task <strong>{task.name}</strong> with its {task.labels.length} labels
              and every annotation made with them?
            </>
          }
          busy={remove.isPending}
          onConfirm={() => remove.mutate(undefined, { onSuccess: () => setDeleting(false) })}
          onClose={() => setDeleting(false)}
        />
      )}
    </article>
  );
}

function LabelRow({ project, task, label }: { project: string; task: string; label: Label }) {
  const [name, setName] = useState(label.name);
  const [hotkey, setHotkey] = useState(label.hotkey ?? "");
  const [deleting, setDeleting] = useState(false);
  const update = useUpdateLabel(project, task, label.name);
  const remove = useDeleteLabel(project, task, label.name);
  const changed = name !== label.name || hotkey !== (label.hotkey ?? "");
  return (
    <div className="label-row" data-testid={`label ${label.name}`}>
      <input
        type="color"
        aria-label={`Color of ${label.name}`}
        value={label.color}
        onChange={(event) => update.mutate({ color: event.target.value })}
      />
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          update.mutate({
            ...(name !== label.name ? { name } : {}),
            ...(hotkey !== (label.hotkey ?? "") ? { hotkey } : {}),
          });
        }}
      >
        <input
          aria-label={`Name of ${label.name}`}
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        <input
          className="hotkey"
          aria-label={`Hotkey of ${label.name}`}
          maxLength={1}
          value={hotkey}
          placeholder="key"
          onChange={(event) => setHotkey(event.target.value)}
        />
        {changed && <button type="submit">Save</button>}
      </form>
      <button type="button" className="link danger" onClick={() => setDeleting(true)}>
        Delete
      </button>
      <InlineError error={update.error ?? remove.error} />
      {deleting && (
        <Confirm
          title="Delete label"
          message={
            <>
              Delete the label <strong>{label.name}</strong> of {task} and every annotation with
              it?
            </>
          }
          busy={remove.isPending}
          onConfirm={() => remove.mutate(undefined, { onSuccess: () => setDeleting(false) })}
          onClose={() => setDeleting(false)}
        />
      )}
    </div>
  );
}

function NewTask({ project }: { project: Project }) {
  const [name, setName] = useState("");
  const [type, setType] = useState<string>("classification");
  const [attribute, setAttribute] = useState("");
  const [labels, setLabels] = useState("");
  const textAttributes = project.attributes.filter((a) => a.data_type === "text");
  const create = useCreateTask(project.name);
  const submit = () =>
    create.mutate(
      {
        name,
        type,
        attribute: attribute || null,
        labels: labels
          .split(",")
          .map((label) => label.trim())
          .filter(Boolean),
      },
      {
        onSuccess: () => {
          setName("");
          setLabels("");
        },
      },
    );
  return (
    <NewForm title="New task" error={create.error} onSubmit={submit}>
      <label>
        Name
        <input value={name} onChange={(event) => setName(event.target.value)} />
      </label>
      <label>
        Type
        <select value={type} onChange={(event) => setType(event.target.value)}>
          {TASK_TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Target
        <select
          aria-label="Target attribute"
          value={attribute}
          onChange={(event) => setAttribute(event.target.value)}
        >
          {type !== "extraction" && <option value="">the whole record</option>}
          {type === "extraction" && <option value="">choose a text attribute…</option>}
          {(type === "extraction" ? textAttributes : project.attributes).map((a) => (
            <option key={a.name} value={a.name}>
              {a.name}
            </option>
          ))}
        </select>
      </label>
      <label className="grow">
        Labels (comma-separated)
        <input value={labels} onChange={(event) => setLabels(event.target.value)} />
      </label>
      <button type="submit" className="primary" disabled={!name.trim() || create.isPending}>
        Add task
      </button>
    </NewForm>
  );
}

function Export({ project }: { project: Project }) {
  const slices = useSlices(project.name);
  const [format, setFormat] = useState("json");
  const [slice, setSlice] = useState("");
  const params = new URLSearchParams({ format });
  if (slice && format !== "project") params.set("slice", slice);
  return (
    <section className="panel" aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p className="muted">
        Records with their labels in the refinery column style, or the whole project as an archive
        that restores exactly (upload it on the home page).
      </p>
      <div className="form-row">
        <label>
          Format
          <select value={format} onChange={(event) => setFormat(event.target.value)}>
            <Options choices={EXPORT_FORMATS} />
          </select>
        </label>
        <label>
          Records
          <select
            aria-label="Slice to export"
            value={slice}
            disabled={format === "project"}
            onChange={(event) => setSlice(event.target.value)}
          >
            <option value="">all records</option>
            {(slices.data ?? []).map((s) => (
              <option key={s.id} value={s.name}>
                slice {s.name} ({formatNumber(s.records)})
              </option>
            ))}
          </select>
        </label>
        <a className="button primary" href={exportHref(project.name, params)} download>
          Download
        </a>
      </div>
    </section>
  );
}
