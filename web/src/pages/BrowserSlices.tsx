// Data slices in the browser: save the current result (its filter, or its records now), and
// list the saved slices to open, rename or delete.
import { useState, type FormEvent } from "react";
import { errorMessage, type Slice } from "../api/client";
import { useDeleteSlice, useRenameSlice, useSaveSlice, useSlices } from "../api/slices";
import { Confirm, Modal } from "../components/Confirm";
import { Empty, InlineError, QueryView } from "../components/States";
import { formatNumber } from "../format";
import { selectionQuery, type Selection } from "../routes";

export function SaveSliceButton({
  project,
  selection,
  total,
}: {
  project: string;
  selection: Selection;
  total: number | undefined;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" disabled={total === undefined} onClick={() => setOpen(true)}>
        Save as slice
      </button>
      {open && total !== undefined && (
        <SaveSliceDialog
          project={project}
          selection={selection}
          total={total}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}

function SaveSliceDialog({
  project,
  selection,
  total,
  onClose,
}: {
  project: string;
  selection: Selection;
  total: number;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"dynamic" | "static">("dynamic");
  const save = useSaveSlice(project, onClose);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return;
    save.mutate({ name: name.trim(), kind, where: selectionQuery(selection).where });
  };
  return (
    <Modal title="Save as slice" onClose={onClose}>
      <form onSubmit={submit} className="save-slice">
        <label>
          Slice name
          <input
            value={name}
            required
            autoFocus
            dir="auto"
            onChange={(event) => setName(event.target.value)}
          />
        </label>
        <fieldset>
          <legend>Kind</legend>
          <label className="inline-check">
            <input
              type="radio"
              name="kind"
              checked={kind === "dynamic"}
              onChange={() => setKind("dynamic")}
            />
            Dynamic: saves the filter; every use evaluates it again
          </label>
          <label className="inline-check">
            <input
              type="radio"
              name="kind"
              checked={kind === "static"}
              onChange={() => setKind("static")}
            />
            Static: saves the {formatNumber(total)} records that match now
          </label>
        </fieldset>
        <InlineError error={save.error} />
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!name.trim() || save.isPending}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function SlicesPanel({
  project,
  current,
  onOpen,
  onRenamed,
  onDeleted,
}: {
  project: string;
  current: string | undefined;
  onOpen: (slice: Slice) => void;
  onRenamed: (from: string, to: string) => void;
  onDeleted: (slice: string) => void;
}) {
  const slices = useSlices(project);
  const [renaming, setRenaming] = useState<Slice | null>(null);
  const [deleting, setDeleting] = useState<Slice | null>(null);
  const remove = useDeleteSlice(project, (_data, name) => {
    setDeleting(null);
    onDeleted(name);
  });
  return (
    <section className="panel slices-panel" aria-label="Slices">
      <h2>Slices</h2>
      <QueryView query={slices} what="Loading slices">
        {(list) =>
          list.length === 0 ? (
            <Empty
              title="No slices yet"
              why="A slice saves a filter (dynamic) or a set of records (static). Filter the records, then use “Save as slice”."
            />
          ) : (
            <ul className="slice-list" data-testid="slices">
              {list.map((slice) => (
                <li
                  key={slice.name}
                  className={slice.name === current ? "slice-item current" : "slice-item"}
                  aria-current={slice.name === current ? "true" : undefined}
                  data-slice={slice.name}
                >
                  <div className="slice-name" dir="auto">
                    {slice.name}
                  </div>
                  <div className="muted">
                    {slice.kind} · {formatNumber(slice.records)} records
                  </div>
                  <div className="slice-actions">
                    <button type="button" className="link" onClick={() => onOpen(slice)}>
                      Open
                    </button>
                    <button type="button" className="link" onClick={() => setRenaming(slice)}>
                      Rename
                    </button>
                    <button
                      type="button"
                      className="link danger"
                      onClick={() => setDeleting(slice)}
                    >
                      Delete
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </QueryView>
      {renaming && (
        <RenameSliceDialog
          project={project}
          slice={renaming}
          onClose={() => setRenaming(null)}
          onRenamed={(to) => {
            onRenamed(renaming.name, to);
            setRenaming(null);
          }}
        />
      )}
      {deleting && (
        <Confirm
          title="Delete the slice?"
          message={
            <>
              The slice <strong>{deleting.name}</strong> is deleted; its records stay in the
              project.
              {remove.error && (
                <span className="inline-error slice-error" role="alert">
                  {errorMessage(remove.error)}
                </span>
              )}
            </>
          }
          busy={remove.isPending}
          onConfirm={() => remove.mutate(deleting.name)}
          onClose={() => {
            remove.reset();
            setDeleting(null);
          }}
        />
      )}
    </section>
  );
}

function RenameSliceDialog({
  project,
  slice,
  onClose,
  onRenamed,
}: {
  project: string;
  slice: Slice;
  onClose: () => void;
  onRenamed: (to: string) => void;
}) {
  const [name, setName] = useState(slice.name);
  const rename = useRenameSlice(project, slice.name, (renamed) => onRenamed(renamed.name));
  return (
    <Modal title="Rename the slice" onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (name.trim()) rename.mutate(name.trim());
        }}
      >
        <label>
          New name
          <input
            value={name}
            required
            autoFocus
            dir="auto"
            onChange={(event) => setName(event.target.value)}
          />
        </label>
        <InlineError error={rename.error} />
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!name.trim() || rename.isPending}>
            Rename
          </button>
        </div>
      </form>
    </Modal>
  );
}
