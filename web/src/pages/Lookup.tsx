// Lookup lists: the terms labeling functions import from `knowledge`. The lists with their
// sizes and versions; the open list (?list=) with its terms (search ?q=, pages of 100 ?page=),
// adding one or many, removing, blacklisting, importing a file and downloading the terms.
import { useState } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import {
  lookupExportHref,
  useChangeTerms,
  useCreateLookupList,
  useDeleteLookupList,
  useImportTerms,
  useLookupList,
  useLookupLists,
  type LookupDetail,
  type LookupList,
} from "../api/lookupLists";
import { Confirm } from "../components/Confirm";
import { OneFieldForm } from "../components/Fields";
import { Empty, InlineError, QueryView } from "../components/States";
import { formatNumber, formatTime } from "../format";
import "./Lookup.css";

const PAGE = 100;

export function Lookup() {
  const { project = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const lists = useLookupLists(project);
  const open = params.get("list");
  const choose = (name: string | null) => setParams(name ? { list: name } : {});
  return (
    <div className="lookup">
      <div className="page-head">
        <h1>Lookup lists</h1>
      </div>
      <div className="lookup-layout">
        <QueryView query={lists} what="Loading the lookup lists">
          {(all) => <Lists project={project} lists={all} open={open} onOpen={choose} />}
        </QueryView>
        {open ? (
          <ListView key={open} project={project} name={open} onDeleted={() => choose(null)} />
        ) : (
          <Empty
            title="No list open"
            why="Open a list to see and edit its terms. Every span labeled for an extraction label adds its text to the list named like the label."
          />
        )}
      </div>
    </div>
  );
}

function Lists({
  project,
  lists,
  open,
  onOpen,
}: {
  project: string;
  lists: LookupList[];
  open: string | null;
  onOpen: (name: string) => void;
}) {
  const create = useCreateLookupList(project, (made) => onOpen(made.name));
  return (
    <section className="panel lookup-lists" aria-label="Lists">
      {lists.length === 0 ? (
        <p className="muted">
          No lists yet. Create one below, or label spans of an extraction task: each label fills the
          list of its name.
        </p>
      ) : (
        <ul className="list-names">
          {lists.map((list) => (
            <li key={list.id}>
              <button
                type="button"
                className={list.name === open ? "list-name active" : "list-name"}
                aria-current={list.name === open ? "true" : undefined}
                onClick={() => onOpen(list.name)}
              >
                <span className="mono">{list.name}</span>
                <span className="muted">
                  {formatNumber(list.terms)} {list.terms === 1 ? "term" : "terms"} · v{list.version}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <OneFieldForm
        label="New list name"
        placeholder="new list name"
        button="Create list"
        busy={create.isPending}
        onSubmit={(value) => create.mutateAsync(value.trim())}
      />
      <InlineError error={create.error} />
    </section>
  );
}

function ListView({
  project,
  name,
  onDeleted,
}: {
  project: string;
  name: string;
  onDeleted: () => void;
}) {
  const [params, setParams] = useSearchParams();
  const found = useLookupList(project, name);
  const change = useChangeTerms(project, name);
  const importFile = useImportTerms(project, name);
  const remove = useDeleteLookupList(project, name, onDeleted);
  const [pasted, setPasted] = useState("");
  const [deleting, setDeleting] = useState(false);
  const search = params.get("q") ?? "";
  const page = Math.max(0, Number(params.get("page") ?? 0) || 0);
  const setView = (next: { q?: string; page?: number }) => {
    const view = new URLSearchParams({ list: name });
    const q = next.q ?? search;
    if (q) view.set("q", q);
    if (next.page) view.set("page", String(next.page));
    setParams(view, { replace: true });
  };
  const addMany = (blacklisted: boolean) => {
    const terms = pasted.split(/\r?\n/).filter((t) => t.trim());
    if (terms.length) change.mutate({ terms, blacklisted }, { onSuccess: () => setPasted("") });
  };

  return (
    <QueryView query={found} what="Loading the list">
      {(list: LookupDetail) => {
        const needle = search.toLowerCase();
        const matching = list.entries.filter((e) => e.term.toLowerCase().includes(needle));
        const pages = Math.max(1, Math.ceil(matching.length / PAGE));
        const shown = matching.slice(page * PAGE, (page + 1) * PAGE);
        return (
          <section className="panel lookup-list" aria-label={`List ${list.name}`}>
            <div className="section-head">
              <h2 className="mono">{list.name}</h2>
              <button type="button" className="danger" onClick={() => setDeleting(true)}>
                Delete list
              </button>
            </div>
            <p>
              In a heuristic:{" "}
              <code data-testid="import-line">from knowledge import {list.module}</code>
            </p>
            <p className="muted" data-testid="list-summary">
              {formatNumber(list.terms)} terms ({formatNumber(list.blacklisted)} blacklisted) ·
              version {list.version} · changed {formatTime(list.updated_at)}
            </p>
            <div className="lookup-tools">
              <OneFieldForm
                label="New term"
                placeholder="a term"
                button="Add"
                busy={change.isPending}
                onSubmit={(value) => change.mutateAsync({ terms: [value] })}
              />
              <label className="file-button">
                Import a file (text or CSV)
                <input
                  type="file"
                  accept=".txt,.csv,text/plain,text/csv"
                  onChange={(event) => {
                    const file = event.target.files?.[0];
                    if (file) importFile.mutate(file);
                    event.target.value = "";
                  }}
                />
              </label>
              <a className="button" href={lookupExportHref(project, name, "txt")} download>
                Download .txt
              </a>
              <a className="button" href={lookupExportHref(project, name, "csv")} download>
                Download .csv
              </a>
            </div>
            <details className="paste">
              <summary>Paste many terms</summary>
              <textarea
                rows={5}
                value={pasted}
                aria-label="Terms, one a line"
                placeholder="one term a line"
                onChange={(event) => setPasted(event.target.value)}
              />
              <div className="actions">
                <button type="button" disabled={!pasted.trim()} onClick={() => addMany(false)}>
                  Add all
                </button>
                <button type="button" disabled={!pasted.trim()} onClick={() => addMany(true)}>
                  Blacklist all
                </button>
              </div>
            </details>
            <InlineError error={change.error ?? importFile.error} />
            <div className="form-row">
              <input
                type="search"
                value={search}
                placeholder="search the terms"
                aria-label="Search the terms"
                onChange={(event) => setView({ q: event.target.value, page: 0 })}
              />
              <span className="muted">
                {formatNumber(matching.length)} of {formatNumber(list.entries.length)}
              </span>
            </div>
            {shown.length === 0 ? (
              <p className="muted">
                {list.entries.length ? "No term matches the search." : "No terms yet."}
              </p>
            ) : (
              <table className="table" data-testid="terms">
                <tbody>
                  {shown.map((entry) => (
                    <tr key={entry.term} className={entry.blacklisted ? "blacklisted" : undefined}>
                      <td dir="auto" className="cell">
                        {entry.term}
                        {entry.blacklisted && <span className="badge">blacklisted</span>}
                      </td>
                      <td className="row-actions">
                        <button
                          type="button"
                          className="link"
                          onClick={() =>
                            change.mutate(
                              entry.blacklisted
                                ? { terms: [entry.term], remove: true, blacklisted: true }
                                : { terms: [entry.term], blacklisted: true },
                            )
                          }
                        >
                          {entry.blacklisted ? "Unblacklist" : "Blacklist"}
                        </button>
                        <button
                          type="button"
                          className="link danger"
                          aria-label={`Remove ${entry.term}`}
                          onClick={() => change.mutate({ terms: [entry.term], remove: true })}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {pages > 1 && (
              <div className="pager">
                <button
                  type="button"
                  disabled={page === 0}
                  onClick={() => setView({ page: page - 1 })}
                >
                  Previous
                </button>
                <span className="muted">
                  page {page + 1} of {pages}
                </span>
                <button
                  type="button"
                  disabled={page + 1 >= pages}
                  onClick={() => setView({ page: page + 1 })}
                >
                  Next
                </button>
              </div>
            )}
            {deleting && (
              <Confirm
                title="Delete the list?"
                message={`${list.name} and its ${list.terms} terms will be deleted; heuristics that import it will fail.`}
                busy={remove.isPending}
                onConfirm={() => remove.mutate()}
                onClose={() => setDeleting(false)}
              />
            )}
          </section>
        );
      }}
    </QueryView>
  );
}
