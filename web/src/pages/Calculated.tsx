// Settings' "Calculated attributes": Python code of the record whose values become an
// attribute. Add (name, type, code), "Test on 10" (values, output, type mismatches; nothing
// stored), "Run" on every record as a job (all or nothing), and the list with each one's state.
import { useState } from "react";
import {
  createCalculated,
  runCalculated,
  tryCalculated,
  updateCalculated,
  useCalculated,
  useCalculatedMutation,
  useDeleteCalculated,
  type Calculated,
  type CalculatedTryResult,
} from "../api/calculated";
import type { Project } from "../api/client";
import { useCancelKey } from "../api/tryRuns";
import { DATA_TYPES } from "../api/values";
import { Code, TryResults } from "../components/Code";
import { Confirm } from "../components/Confirm";
import { useJobs } from "../components/Jobs";
import { ClosingHead } from "../components/Panel";
import { InlineError, QueryTable } from "../components/States";
import "./Calculated.css";


function template(project: Project): string {
  const text = project.attributes.find((a) => a.data_type === "text")?.name ?? "text";
  return `def value(record):
    # Return a value of the attribute's type, or None. Text attributes are spaCy Docs.
    return len(record[${JSON.stringify(text)}])
`;
}

export function CalculatedAttributes({ project }: { project: Project }) {
  const listed = useCalculated(project.name);
  const [open, setOpen] = useState<string | null>(null); // a name, "" for a new one, or null
  // The editor starts afresh when the user opens one, not when a new one gets its name.
  const [session, setSession] = useState(0);
  const start = (name: string) => {
    setOpen(name);
    setSession((n) => n + 1);
  };
  const chosen = listed.data?.find((a) => a.name === open) ?? null;
  return (
    <section className="panel" aria-labelledby="calculated-heading" data-testid="calculated">
      <div className="section-head">
        <h2 id="calculated-heading">Calculated attributes</h2>
        <button type="button" onClick={() => start("")}>
          New calculated attribute
        </button>
      </div>
      <p className="muted">
        A Python function of the record computes the attribute&apos;s value. Test it on 10
        records, then run it on all: a value that does not fit the type stores nothing.
      </p>
      <QueryTable
        query={listed}
        what="Loading calculated attributes"
        testId="calculated-list"
        columns={["Attribute", "Type", "State", "Last run", ""]}
      >
        {(attributes) =>
          attributes.map((a) => (
            <tr key={a.name} data-attribute={a.name}>
              <td className="mono">{a.name}</td>
              <td>{a.data_type}</td>
              <td data-testid="calculated-state">
                {a.state === "ready" ? a.state : <span className="badge badge-warn">{a.state}</span>}
              </td>
              <td className="muted">
                {a.last_run
                  ? `v${String(a.last_run.code_version)} · ${String(a.last_run.with_value)} of ${String(a.last_run.records)} with a value`
                  : "never"}
              </td>
              <td>
                <button type="button" className="link" onClick={() => start(a.name)}>
                  Edit
                </button>
              </td>
            </tr>
          ))
        }
      </QueryTable>
      {open !== null && (open === "" || chosen) && (
        <CalculatedForm
          key={session}
          project={project}
          attribute={chosen}
          onOpen={setOpen}
          onClose={() => setOpen(null)}
        />
      )}
    </section>
  );
}

function CalculatedForm({
  project,
  attribute,
  onOpen,
  onClose,
}: {
  project: Project;
  attribute: Calculated | null;
  onOpen: (name: string) => void;
  onClose: () => void;
}) {
  const { track } = useJobs();
  const [name, setName] = useState(attribute?.name ?? "");
  const [dataType, setDataType] = useState<string>(attribute?.data_type ?? "integer");
  const [code, setCode] = useState(attribute?.code ?? template(project));
  const [tried, setTried] = useState<CalculatedTryResult | null>(null);
  const [deleting, setDeleting] = useState(false);
  const dirty = !attribute || attribute.code !== code;

  /** Store the form (create, or new code); returns the stored name. */
  const store = async (): Promise<string> => {
    if (!attribute) {
      const body = { name: name.trim(), data_type: dataType, code };
      return (await createCalculated(project.name, body)).name;
    }
    if (dirty) await updateCalculated(project.name, attribute.name, code);
    return attribute.name;
  };
  /** A new attribute (or one stored under a new name) opens under its name. */
  const opened = (stored: string) => {
    if (stored !== attribute?.name) onOpen(stored);
  };

  const save = useCalculatedMutation(project.name, store, opened);
  const cancelKey = useCancelKey();
  const tryIt = useCalculatedMutation(
    project.name,
    async () => {
      // Unsaved code is tried as it is; a new attribute is created first.
      const stored = attribute ? attribute.name : await store();
      const body = { n: 10, code, cancel_key: cancelKey.next() };
      return { stored, result: await tryCalculated(project.name, stored, body) };
    },
    ({ stored, result }) => {
      setTried(result);
      opened(stored);
    },
  );
  const run = useCalculatedMutation(
    project.name,
    async () => {
      const stored = await store();
      return { stored, job: await runCalculated(project.name, stored) };
    },
    ({ stored, job }) => {
      track(job, `Calculate ${stored}`);
      opened(stored);
    },
  );
  const remove = useDeleteCalculated(project.name, attribute?.name ?? "", () => {
    setDeleting(false);
    onClose();
  });
  const busy = save.isPending || tryIt.isPending || run.isPending;

  return (
    <div className="calculated-editor" aria-label="Calculated attribute editor" role="group">
      <ClosingHead
        title={attribute ? `Edit ${attribute.name}` : "New calculated attribute"}
        level={3}
        close="Close the editor"
        onClose={onClose}
      />
      <div className="form-row">
        <label className="grow">
          Name
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            disabled={!!attribute}
            required
          />
        </label>
        <label>
          Type
          <select
            value={dataType}
            onChange={(event) => setDataType(event.target.value)}
            disabled={!!attribute}
          >
            {DATA_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        {attribute && (
          <span className="muted">
            code v{attribute.code_version}
            {dirty && " · unsaved changes"}
          </span>
        )}
      </div>
      <Code value={code} onChange={setCode} label="Code" />
      <div className="actions">
        <button
          type="button"
          disabled={busy || !name.trim() || !dirty}
          onClick={() => save.mutate()}
        >
          Save
        </button>
        <button type="button" disabled={busy || !name.trim()} onClick={() => tryIt.mutate()}>
          {tryIt.isPending ? "Running…" : "Test on 10"}
        </button>
        {tryIt.isPending && (
          <button type="button" onClick={cancelKey.cancel}>
            Cancel
          </button>
        )}
        <button
          type="button"
          className="primary"
          disabled={busy || !name.trim()}
          onClick={() => run.mutate()}
        >
          Run on all records
        </button>
        {attribute && (
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        )}
      </div>
      <InlineError error={save.error ?? tryIt.error ?? run.error} />
      {tried && <TryResults result={tried} title="Test on" column="Value" none="null" errors />}
      {deleting && attribute && (
        <Confirm
          title="Delete the attribute?"
          message={`${attribute.name} and its values in every record will be deleted.`}
          busy={remove.isPending}
          onConfirm={() => remove.mutate()}
          onClose={() => setDeleting(false)}
        />
      )}
    </div>
  );
}
