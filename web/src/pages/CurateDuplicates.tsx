// Curate → Duplicates: find duplicate groups of a kind (exact: the same normalized text;
// lexical: MinHash; semantic: close on an embedding) as a job, then browse the groups, largest
// first, with their records' texts and manual labels; a group whose records carry different
// labels is flagged, and "mixed only" shows just those. The URL holds the kind (`kind`) and
// the toggle (`mixed=1`).
import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import type { Project } from "../api/client";
import {
  DUPLICATE_KINDS,
  PAGE_SIZE,
  useDuplicateGroups,
  useFindDuplicates,
  type DuplicateGroup,
  type DuplicateKind,
  type DuplicatesPage,
} from "../api/curation";
import { Options } from "../components/Fields";
import { useJobs } from "../components/Jobs";
import { InlineError, Loading } from "../components/States";
import { formatNumber, formatTime, recordName } from "../format";
import { FIRST_PAGE, nextPage, previousPage, snippet } from "./curate";
import { EmbeddingSelect, LabelValue, Pager, ResultError } from "./CurateParts";

function readKind(raw: string | null): DuplicateKind {
  return DUPLICATE_KINDS.find(([kind]) => kind === raw)?.[0] ?? "exact";
}

export function CurateDuplicates({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const kind = readKind(params.get("kind"));
  const mixedOnly = params.get("mixed") === "1";
  const open = (next: { kind?: DuplicateKind; mixed?: boolean }) => {
    const search = new URLSearchParams({ view: "duplicates", kind: next.kind ?? kind });
    if (next.mixed ?? mixedOnly) search.set("mixed", "1");
    setParams(search);
  };
  return (
    <>
      <FindForm project={project} kind={kind} onKind={(next) => open({ kind: next })} />
      <Groups
        project={project}
        kind={kind}
        mixedOnly={mixedOnly}
        onMixed={(mixed) => open({ mixed })}
      />
    </>
  );
}

function FindForm({
  project,
  kind,
  onKind,
}: {
  project: Project;
  kind: DuplicateKind;
  onKind: (kind: DuplicateKind) => void;
}) {
  const texts = project.attributes.filter((a) => a.data_type === "text");
  const [attribute, setAttribute] = useState("");
  const [embedding, setEmbedding] = useState("");
  const [threshold, setThreshold] = useState("");
  const { track } = useJobs();
  const find = useFindDuplicates(project.name, (job, body) =>
    track(job, `Find ${body.kind} duplicates`),
  );
  const limit = threshold.trim() === "" ? null : Number(threshold);
  const thresholdInvalid = limit !== null && !(limit > 0 && limit <= 1);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (thresholdInvalid) return;
    find.mutate({
      kind,
      attribute: kind === "semantic" ? null : attribute || null,
      embedding: kind === "semantic" ? embedding || null : null,
      threshold: kind === "exact" ? null : limit,
    });
  };
  return (
    <section className="panel" aria-labelledby="duplicates-heading">
      <h2 id="duplicates-heading">Duplicates</h2>
      <p className="muted">
        Groups records that repeat each other; a group whose records carry different manual
        labels is flagged as mixed.
      </p>
      <form className="form-row" onSubmit={submit} aria-label="Find duplicates">
        <label>
          Kind
          <select
            value={kind}
            onChange={(event) => onKind(event.target.value as DuplicateKind)}
          >
            <Options choices={DUPLICATE_KINDS} />
          </select>
        </label>
        {kind === "semantic" ? (
          <EmbeddingSelect project={project.name} value={embedding} onChange={setEmbedding} />
        ) : (
          <label>
            Text
            <select value={attribute} onChange={(event) => setAttribute(event.target.value)}>
              <option value="">default ({texts[0]?.name ?? "the first text attribute"})</option>
              {texts.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {kind !== "exact" && (
          <label
            title={
              kind === "lexical"
                ? "Least estimated Jaccard similarity of the words (default 0.8)"
                : "Least cosine similarity (default 0.95)"
            }
          >
            Threshold
            <input
              type="number"
              min={0}
              max={1}
              step="any"
              className="short"
              placeholder={kind === "lexical" ? "0.8" : "0.95"}
              value={threshold}
              onChange={(event) => setThreshold(event.target.value)}
            />
          </label>
        )}
        <button type="submit" className="primary" disabled={find.isPending || thresholdInvalid}>
          Find duplicates
        </button>
      </form>
      {thresholdInvalid && (
        <p className="inline-error">The threshold is a similarity from 0 to 1.</p>
      )}
      <InlineError error={find.error} />
    </section>
  );
}

function Groups({
  project,
  kind,
  mixedOnly,
  onMixed,
}: {
  project: Project;
  kind: DuplicateKind;
  mixedOnly: boolean;
  onMixed: (mixed: boolean) => void;
}) {
  return (
    <section className="panel" aria-label="Duplicate groups" data-testid="duplicate-groups">
      <div className="section-head">
        <h2>Groups</h2>
        <label className="curate-check">
          <input
            type="checkbox"
            checked={mixedOnly}
            onChange={(event) => onMixed(event.target.checked)}
          />
          Mixed labels only
        </label>
      </div>
      <GroupPages
        key={`${kind} ${mixedOnly}`}
        project={project}
        kind={kind}
        mixedOnly={mixedOnly}
      />
    </section>
  );
}

function GroupPages({
  project,
  kind,
  mixedOnly,
}: {
  project: Project;
  kind: DuplicateKind;
  mixedOnly: boolean;
}) {
  const [pages, setPages] = useState(FIRST_PAGE);
  const found = useDuplicateGroups(project.name, kind, mixedOnly, pages.cursor);
  if (found.isPending) return <Loading what="Loading the groups" />;
  if (found.isError) {
    return (
      <ResultError
        error={found.error}
        title={`No ${kind} duplicates searched yet`}
        why="Find them above; the groups show here."
        retry={() => void found.refetch()}
      />
    );
  }
  const page = found.data;
  return (
    <>
      <p data-testid="duplicates-summary">
        {formatNumber(page.groups)} {kind} groups of {formatNumber(page.records)} records in{" "}
        {page.attribute}
        {page.embedding && <> (embedding {page.embedding})</>}
        {page.threshold !== null && <>, threshold {page.threshold}</>};{" "}
        <strong className={page.mixed > 0 ? "curate-warn" : undefined}>
          {formatNumber(page.mixed)} with mixed labels
        </strong>
        <span className="muted">
          {" "}
          · found {page.run.finished_at ? formatTime(page.run.finished_at) : "—"}
        </span>
      </p>
      {page.page.length === 0 ? (
        <p data-testid="no-groups">
          {mixedOnly
            ? "No group with mixed labels."
            : `No ${kind} duplicates: every text is its own.`}
        </p>
      ) : (
        <>
          <GroupList project={project} page={page} />
          <Pager
            pages={pages}
            shown={page.page.length}
            total={mixedOnly ? page.mixed : page.groups}
            size={PAGE_SIZE}
            next={page.next_cursor}
            what="groups"
            onPrevious={() => setPages(previousPage)}
            onNext={(cursor) => setPages((old) => nextPage(old, cursor))}
          />
        </>
      )}
    </>
  );
}

function GroupList({ project, page }: { project: Project; page: DuplicatesPage }) {
  return (
    <ol className="curate-groups">
      {page.page.map((group) => (
        <Group key={group.group} project={project} group={group} />
      ))}
    </ol>
  );
}

function Group({ project, group }: { project: Project; group: DuplicateGroup }) {
  const tasks = project.tasks.filter((t) => t.type !== "extraction");
  return (
    <li
      className={group.mixed_labels ? "curate-group mixed" : "curate-group"}
      data-testid="duplicate-group"
      data-group={group.group}
      data-mixed={group.mixed_labels}
    >
      <div className="curate-group-head">
        <strong>Group {formatNumber(group.group)}</strong>
        <span className="muted">{formatNumber(group.size)} records</span>
        {group.similarity !== null && group.similarity < 1 && (
          <span className="muted">similarity ≥ {group.similarity.toFixed(3)}</span>
        )}
        {group.mixed_labels && <span className="badge badge-warn">mixed labels</span>}
      </div>
      <table className="table">
        <thead>
          <tr>
            <th>Record</th>
            <th>Text</th>
            {tasks.map((t) => (
              <th key={t.id}>{t.name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {group.records.map((member) => (
            <tr key={member.id} data-record={member.id}>
              <td className="nowrap">{recordName(project, member)}</td>
              <td className="cell" dir="auto">
                {snippet(project, member.data)}
              </td>
              {tasks.map((t) => (
                <td key={t.id}>
                  <LabelValue value={member.labels[t.name]} task={t} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </li>
  );
}
