// Data browser: filter (the filter tree as a panel), search, order and page the records; save
// and open slices; open a labeling session on the result. The URL holds the whole state
// (routes.ts `Selection` plus `page`), so reload, back and shared links show the same view.
import { useMemo, useState, type ReactNode } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import {
  ApiError,
  errorMessage,
  type Project,
  type RecordRow,
  type Slice,
  type Task,
} from "../api/client";
import { useProject } from "../api/projects";
import { useRecord, useRecordsPage } from "../api/records";
import { ANNOTATION_SOURCES } from "../api/values";
import { Score } from "../components/Similar";
import { Empty, ErrorState, Loading, QueryView } from "../components/States";
import { formatNumber, recordName } from "../format";
import {
  projectPath,
  readSelection,
  selectionParams,
  selectionQuery,
  sliceOrder,
  type Selection,
} from "../routes";
import { FilterPanel, OrderControls, SearchBox } from "./BrowserFilters";
import { NeuralPanel, OutlierResults, SimilarResults } from "./BrowserSimilar";
import { SaveSliceButton, SlicesPanel } from "./BrowserSlices";
import { buildWhere, parseWhere, SOURCE_NAMES, type Node } from "./browserFilter";
import "./Browser.css";

const PAGE_SIZE = 50;
/** Texts longer than this show their beginning until the user asks for all of it. */
const SHORT_TEXT = 600;

export function Browser() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <BrowserView project={data} />}
    </QueryView>
  );
}

/** The labeling suite's URL for a selection, at the record of index `i`. */
export function labelingPath(project: string, selection: Selection, index: number): string {
  const params = selectionParams(selection);
  params.set("i", String(index));
  return projectPath(project, "labeling", params);
}

function BrowserView({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const selection = useMemo(() => readSelection(params), [params]);
  const page = Math.max(1, Math.floor(Number(params.get("page"))) || 1);
  const applied = useMemo(
    () => parseWhere(selection.where, project.attributes, project.tasks),
    [selection.where, project.attributes, project.tasks],
  );
  const records = useRecordsPage(project.name, selectionQuery(selection), page, PAGE_SIZE);

  /** Every change of the view is a new history entry (back undoes it), on page 1 unless told. */
  const show = (next: Selection, nextPage = 1, replace = false) => {
    const search = selectionParams(next);
    if (nextPage > 1) search.set("page", String(nextPage));
    setParams(search, { replace });
  };
  /** Changes part of the view. It starts from the address bar, not from this render's
   * `selection`: the router renders a navigation as a transition, so a change made a moment ago
   * (an order chosen just before a search) may not have reached this render yet. */
  const update = (patch: Partial<Selection>, nextPage = 1, replace = false) =>
    show(
      { ...readSelection(new URLSearchParams(window.location.search)), ...patch },
      nextPage,
      replace,
    );
  const setWhere = (where: Node | undefined) => update({ where });
  const clearAll = () => update({ where: undefined });
  const similarTo = (record: number) =>
    update({ outliers: undefined, similar: { ...selection.similar, record } });
  /** Opens a slice: a static one in its own order (an outlier slice is ranked). */
  const openSlice = (slice: string, kind: Slice["kind"] = "static") =>
    update({
      where: undefined,
      similar: undefined,
      outliers: undefined,
      slice,
      ...(kind === "static" ? { order: sliceOrder(slice), desc: undefined } : {}),
    });
  const card = (record: RecordRow, index: number, score?: number, scoreName?: string) => (
    <RecordCard
      project={project}
      record={record}
      score={score}
      scoreName={scoreName}
      labelingUrl={labelingPath(project.name, selection, index)}
      onSimilar={() => similarTo(record.id)}
    />
  );

  return (
    <div className="browser">
      <div className="page-head">
        <h1>Data browser</h1>
        <div className="browser-actions">
          <SaveSliceButton
            project={project.name}
            selection={selection}
            total={selection.similar || selection.outliers ? undefined : records.data?.total}
          />
          <button
            type="button"
            className="primary"
            disabled={!records.data?.total}
            onClick={() => navigate(labelingPath(project.name, selection, 0))}
          >
            Label these
          </button>
        </div>
      </div>
      <div className="browser-toolbar">
        <SearchBox
          key={applied.search}
          search={applied.search}
          onSearch={(search) =>
            // The applied rows came from the URL's tree, so they build without problems.
            setWhere(buildWhere({ ...applied, search }, project.attributes).where)
          }
        />
        <OrderControls
          project={project}
          selection={selection}
          fixed={
            selection.outliers
              ? "Outliers come most unusual first (by outlier score): the order does not apply"
              : selection.similar
                ? "Similar records come best first (by similarity): the order does not apply"
                : undefined
          }
          onChange={(patch, replace) => update(patch, 1, replace)}
        />
      </div>
      <div className="browser-grid">
        <aside className="browser-side">
          <FilterPanel
            key={JSON.stringify(selection.where ?? {})}
            project={project}
            where={selection.where}
            onApply={setWhere}
          />
          <SlicesPanel
            project={project.name}
            current={selection.slice}
            onOpen={(slice) => openSlice(slice.name, slice.kind)}
            onRenamed={(from, to) => {
              const order = selection.order === sliceOrder(from) ? sliceOrder(to) : undefined;
              if (selection.slice === from) {
                update({ slice: to, ...(order && { order }) }, page, true);
              }
            }}
            onDeleted={(slice) => {
              const order = selection.order === sliceOrder(slice) ? "id" : undefined;
              if (selection.slice === slice) update({ slice: undefined, ...(order && { order }) });
            }}
          />
          <NeuralPanel
            project={project}
            onSimilar={similarTo}
            onOutliers={(outliers) => show({ outliers })}
            onOpenSlice={openSlice}
          />
        </aside>
        <section className="browser-results" aria-label="Records">
          {selection.slice && (
            <p className="browser-slice">
              Records of the slice <strong>{selection.slice}</strong>
              {selection.where ? ", narrowed by the filter" : ""}.{" "}
              <button
                type="button"
                className="link"
                onClick={() => update({ slice: undefined })}
              >
                Close the slice
              </button>
            </p>
          )}
          {selection.outliers ? (
            <OutlierResults
              project={project}
              embedding={selection.outliers}
              onClose={() => update({ outliers: undefined })}
              onOpenSlice={openSlice}
              card={(record, score, index) => card(record, index, score, "outlier score")}
            />
          ) : selection.similar ? (
            <SimilarResults
              project={project}
              selection={selection}
              similar={selection.similar}
              onChange={(similar) => update({ similar }, 1, true)}
              onClose={() => update({ similar: undefined })}
              card={(record, score, index) => card(record, index, score)}
            />
          ) : (
            <Results
              selection={selection}
              project={project}
              records={records}
              filtered={Boolean(selection.where || selection.slice)}
              onPage={(next) => update({}, next)}
              onClear={clearAll}
              onCloseSlice={() => update({ slice: undefined })}
              card={card}
            />
          )}
        </section>
      </div>
    </div>
  );
}

// --- the result -----------------------------------------------------------------------------

function Results({
  project,
  selection,
  records,
  filtered,
  onPage,
  onClear,
  onCloseSlice,
  card,
}: {
  project: Project;
  selection: Selection;
  records: ReturnType<typeof useRecordsPage>;
  filtered: boolean;
  onPage: (page: number) => void;
  onClear: () => void;
  onCloseSlice: () => void;
  card: (record: RecordRow, index: number) => ReactNode;
}) {
  if (records.isPending) return <Loading what="Loading records" />;
  if (records.isError) {
    const error = records.error;
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      return (
        <div className="state state-error" role="alert" data-testid="error">
          <h3>
            {selection.slice && error.status === 404
              ? "The slice cannot be opened"
              : "The filter cannot run"}
          </h3>
          <p>{errorMessage(error)}</p>
          <div className="state-actions">
            {selection.where && (
              <button type="button" onClick={onClear}>
                Clear the filter
              </button>
            )}
            {selection.slice && (
              <button type="button" onClick={onCloseSlice}>
                Close the slice
              </button>
            )}
          </div>
        </div>
      );
    }
    return <ErrorState error={error} retry={() => void records.refetch()} />;
  }
  const { records: rows, total, next_cursor, page: shownPage } = records.data;
  if (total === 0) {
    return filtered ? (
      <Empty
        title="No record matches"
        why="Nothing in this project matches the search and filter. Loosen the filter, clear the search or close the slice."
      >
        {selection.where && (
          <button type="button" onClick={onClear}>
            Clear the filter and search
          </button>
        )}
        {selection.slice && (
          <button type="button" onClick={onCloseSlice}>
            Close the slice
          </button>
        )}
      </Empty>
    ) : (
      <Empty
        title="This project has no records yet"
        why="Upload a file of records in the project's settings and they appear here."
      >
        <Link to={projectPath(project.name, "settings")}>Upload records in Settings</Link>
      </Empty>
    );
  }
  if (rows.length === 0) {
    return (
      <Empty
        title="This page is past the last record"
        why={`The result has ${formatNumber(total)} records.`}
      >
        <button type="button" onClick={() => onPage(1)}>
          Go to the first page
        </button>
      </Empty>
    );
  }
  const first = (shownPage - 1) * PAGE_SIZE;
  const pager = (
    <Pager
      first={first}
      shown={rows.length}
      total={total}
      hasNext={Boolean(next_cursor)}
      page={shownPage}
      onPage={onPage}
    />
  );
  return (
    <div aria-busy={records.isPlaceholderData}>
      {pager}
      <ol
        className={records.isPlaceholderData ? "record-list stale" : "record-list"}
        start={first + 1}
      >
        {rows.map((record, index) => (
          <li key={record.id}>{card(record, first + index)}</li>
        ))}
      </ol>
      {pager}
    </div>
  );
}

function Pager({
  first,
  shown,
  total,
  hasNext,
  page,
  onPage,
}: {
  first: number;
  shown: number;
  total: number;
  hasNext: boolean;
  page: number;
  onPage: (page: number) => void;
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <span data-testid="result-count">
        {formatNumber(first + 1)}–{formatNumber(first + shown)} of {formatNumber(total)}
      </span>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        ← Previous
      </button>
      <button type="button" disabled={!hasNext} onClick={() => onPage(page + 1)}>
        Next →
      </button>
    </nav>
  );
}

// --- one record -----------------------------------------------------------------------------

function RecordCard({
  project,
  record,
  score,
  scoreName,
  labelingUrl,
  onSimilar,
}: {
  project: Project;
  record: RecordRow;
  /** its similarity in a list of similar records (or another score, named) */
  score?: number;
  scoreName?: string;
  labelingUrl: string;
  onSimilar: () => void;
}) {
  const attributes = [...project.attributes].sort((a, b) => a.position - b.position);
  const name = recordName(project, record);
  return (
    <article
      className="record-card panel"
      data-testid="record-card"
      data-record={record.id}
      aria-label={`Record ${name}`}
    >
      <header className="record-head">
        <span className="muted" data-testid="record-name">
          {name}
        </span>
        {score !== undefined && <Score score={score} name={scoreName} />}
        <span className="record-links">
          <button type="button" className="link" onClick={onSimilar}>
            Similar records
          </button>
          <Link to={labelingUrl}>Open in labeling</Link>
          <Link to={projectPath(project.name, "ide", new URLSearchParams({ record: String(record.id) }))}>
            Record IDE
          </Link>
        </span>
      </header>
      <dl className="record-data">
        {attributes.map((attribute) => (
          <div key={attribute.name} className="record-field">
            <dt>{attribute.name}</dt>
            <dd data-attribute={attribute.name}>
              <Value value={record.data[attribute.name]} />
            </dd>
          </div>
        ))}
      </dl>
      {project.tasks.length > 0 && (
        <dl className="record-labels">
          {project.tasks.map((task) => (
            <TaskLabelsView key={task.name} project={project} record={record} task={task} />
          ))}
        </dl>
      )}
    </article>
  );
}

function Value({ value }: { value: unknown }) {
  const [expanded, setExpanded] = useState(false);
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value !== "string") return <span dir="auto">{String(value)}</span>;
  if (value.length <= SHORT_TEXT) {
    return (
      <div className="record-text" dir="auto">
        {value}
      </div>
    );
  }
  return (
    <>
      <div className="record-text" dir="auto">
        {expanded ? value : `${value.slice(0, SHORT_TEXT)}…`}
      </div>
      <button
        type="button"
        className="link"
        aria-expanded={expanded}
        onClick={() => setExpanded(!expanded)}
      >
        {expanded ? "Show less" : `Show all ${formatNumber(value.length)} characters`}
      </button>
    </>
  );
}

interface Span {
  label: string;
  start_token: number;
  end_token: number;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}

function isSpan(value: unknown): value is Span {
  return typeof value === "object" && value !== null && "label" in value && "start_token" in value;
}

function TaskLabelsView({
  project,
  record,
  task,
}: {
  project: Project;
  record: RecordRow;
  task: Task;
}) {
  const entry = record.labels?.[task.name] ?? {};
  const sources = ANNOTATION_SOURCES.filter((source) => source === "manual" || source in entry);
  return (
    <div className="record-task" data-task={task.name}>
      <dt>{task.name}</dt>
      <dd>
        {sources.map((source) => {
          const value: unknown = entry[source];
          const confidence: unknown = entry[`${source}_confidence`];
          return (
            <div key={source} className="record-source" data-source={source}>
              <span className="muted">{SOURCE_NAMES[source]}</span>{" "}
              {isEmpty(value) ? (
                <span className="muted">no label</span>
              ) : (
                <LabelValue project={project} record={record} task={task} value={value} />
              )}
              {typeof confidence === "number" && (
                <span className="muted"> ({Math.round(confidence * 100)}%)</span>
              )}
            </div>
          );
        })}
      </dd>
    </div>
  );
}

function LabelValue({
  project,
  record,
  task,
  value,
}: {
  project: Project;
  record: RecordRow;
  task: Task;
  value: unknown;
}) {
  const values: unknown[] = Array.isArray(value) ? value : [value];
  return (
    <span className="record-chips">
      {values.map((item, index) =>
        isSpan(item) ? (
          <LabelChip key={index} task={task} name={item.label}>
            <SpanText project={project.name} record={record} task={task} span={item} />
          </LabelChip>
        ) : (
          <LabelChip key={index} task={task} name={String(item)} />
        ),
      )}
    </span>
  );
}

function LabelChip({ task, name, children }: { task: Task; name: string; children?: ReactNode }) {
  const color = task.labels.find((label) => label.name === name)?.color ?? "#999";
  return (
    <span className="label-chip">
      <span className="label-swatch" style={{ background: color }} aria-hidden="true" />
      {name}
      {children}
    </span>
  );
}

/** A span's words: the record's tokens are read (once per record, cached) only for records
 * that have spans, since the query result gives token positions only. */
function SpanText({
  project,
  record,
  task,
  span,
}: {
  project: string;
  record: RecordRow;
  task: Task;
  span: Span;
}) {
  const detail = useRecord(project, record.id, { staleTime: 60_000 });
  const position = `[${span.start_token}–${span.end_token}]`;
  const attribute = task.attribute;
  const tokens = attribute ? detail.data?.tokens[attribute] : undefined;
  const text = attribute ? record.data[attribute] : undefined;
  const first = tokens?.[span.start_token];
  const last = tokens?.[span.end_token - 1];
  if (!first || !last || typeof text !== "string") {
    return <span className="muted"> {position}</span>;
  }
  return (
    <span className="record-span-words" dir="auto" title={`tokens ${position}`}>
      {" “"}
      {text.slice(first.start, last.end)}”
    </span>
  );
}
