// Curate (per project): what to label next (a selection by strategy, its picks and the
// labeling session on them), the split of the labeled records with its report, the label
// quality lists of a task, and the near-duplicate groups. The URL holds the part shown
// (`view`) and each part's choices; every run is a job whose end refreshes what it changed.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type { Job, Project } from "../api/client";
import {
  curationKeys,
  STRATEGIES,
  useSelect,
  type SelectionCreate,
  type SelectionResult,
  type SelectionStrategy,
} from "../api/curation";
import { useProject } from "../api/projects";
import { useRecordsPage } from "../api/records";
import { useSlices } from "../api/slices";
import { Options } from "../components/Fields";
import { useJobs } from "../components/Jobs";
import { InlineError, Loading, QueryView } from "../components/States";
import { formatNumber, recordName } from "../format";
import { projectPath, selectionParams, selectionQuery, sliceOrder } from "../routes";
import { readView, snippet, VIEWS, type View } from "./curate";
import { CurateDuplicates } from "./CurateDuplicates";
import { EmbeddingSelect, ResultError } from "./CurateParts";
import { CurateQuality } from "./CurateQuality";
import { CurateSplit } from "./CurateSplit";
import "./Curate.css";

export function Curate() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <CurateView project={data} />}
    </QueryView>
  );
}

function CurateView({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const view = readView(params.get("view"));
  const open = (next: View) =>
    setParams(new URLSearchParams(next === "next" ? {} : { view: next }));
  return (
    <div className="curate">
      <div className="page-head">
        <h1>Curate</h1>
      </div>
      <nav className="curate-tabs" aria-label="Curate">
        {VIEWS.map(([name, text]) => (
          <button
            key={name}
            type="button"
            className={name === view ? "tab active" : "tab"}
            aria-current={name === view ? "page" : undefined}
            onClick={() => open(name)}
          >
            {text}
          </button>
        ))}
      </nav>
      {view === "next" && <SelectPanel project={project} />}
      {view === "split" && <CurateSplit project={project} />}
      {view === "quality" && <CurateQuality project={project} />}
      {view === "duplicates" && <CurateDuplicates project={project} />}
    </div>
  );
}

/** The strategies that read a task's probabilities (a measure and a source apply). */
const UNCERTAIN: ReadonlySet<SelectionStrategy> = new Set(["uncertainty", "hybrid"]);

const MEASURES = [
  ["margin", "margin (top two probabilities close)"],
  ["least_confidence", "least confidence"],
  ["entropy", "entropy"],
] as const;

const SOURCES = [
  ["", "default (the live model, else weak supervision)"],
  ["model", "the task's live model"],
  ["weak_supervision", "weak supervision"],
  ["heuristic", "an active learner (heuristic)"],
] as const;

/** Picks shown at most (a result holds the first 100 with their scores). */
const PICKS_SHOWN = 100;

function SelectPanel({ project }: { project: Project }) {
  const name = project.name;
  const client = useQueryClient();
  const [params, setParams] = useSearchParams();
  // The slice of the picks shown (`picks` in the URL): a reload shows its records.
  const picks = params.get("picks");
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const labeled = project.tasks.filter((t) => t.type !== "extraction");
  const [strategy, setStrategy] = useState<SelectionStrategy>("auto");
  const [size, setSize] = useState("50");
  const [task, setTask] = useState(labeled[0]?.name ?? project.tasks[0]?.name ?? "");
  const [unlabeled, setUnlabeled] = useState(true);
  const [slice, setSlice] = useState("");
  const [embedding, setEmbedding] = useState("");
  const [measure, setMeasure] = useState<NonNullable<SelectionCreate["measure"]>>("margin");
  const [source, setSource] = useState("");
  const [heuristic, setHeuristic] = useState("");
  const [seed, setSeed] = useState("0");
  const [result, setResult] = useState<SelectionResult | null>(
    () => client.getQueryData<SelectionResult>(curationKeys.selection(name)) ?? null,
  );
  const slices = useSlices(name);
  const { track } = useJobs();
  const select = useSelect(name, (job, body) =>
    track(job, `Select ${formatNumber(body.size)} records (${body.strategy})`, (done: Job) => {
      const picked = done.result as SelectionResult;
      client.setQueryData(curationKeys.selection(name), picked);
      // A page left since: the result waits in the cache; the URL is that page's now.
      if (!mounted.current) return;
      setResult(picked);
      setParams(new URLSearchParams({ picks: picked.slice }));
    }),
  );
  const count = Number(size);
  const sizeInvalid = !(Number.isInteger(count) && count >= 1);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (sizeInvalid) return;
    const uncertain = UNCERTAIN.has(strategy) || strategy === "auto";
    select.mutate({
      size: count,
      strategy,
      task: task || null,
      where: task && unlabeled ? { task, state: "none" } : null,
      slice: slice || null,
      embedding: embedding || null,
      measure,
      source: uncertain && source ? (source as SelectionCreate["source"]) : null,
      heuristic: uncertain && source === "heuristic" ? heuristic.trim() || null : null,
      seed: Number(seed) || 0,
    });
  };
  return (
    <>
      <section className="panel" aria-labelledby="select-heading">
        <h2 id="select-heading">What to label next</h2>
        <p className="muted">
          Picks the records that teach the most and saves them, best first, as a static slice to
          label in that order.
        </p>
        <form className="form-row" onSubmit={submit} aria-label="Selection">
          <label>
            Strategy
            <select
              value={strategy}
              onChange={(event) => setStrategy(event.target.value as SelectionStrategy)}
            >
              <Options choices={STRATEGIES} />
            </select>
          </label>
          <label>
            Records
            <input
              type="number"
              min={1}
              step={1}
              className="short"
              value={size}
              onChange={(event) => setSize(event.target.value)}
            />
          </label>
          <label title="The task whose labels count (auto, coreset's centres) and whose probabilities uncertainty reads">
            Task
            <select value={task} onChange={(event) => setTask(event.target.value)}>
              <option value="">(none)</option>
              {project.tasks.map((t) => (
                <option key={t.id} value={t.name}>
                  {t.name} ({t.type})
                </option>
              ))}
            </select>
          </label>
          <label className="curate-check">
            <input
              type="checkbox"
              checked={unlabeled && task !== ""}
              disabled={task === ""}
              onChange={(event) => setUnlabeled(event.target.checked)}
            />
            Only records without a manual label
          </label>
          <label title="Pick from the records of a slice only">
            From
            <select value={slice} onChange={(event) => setSlice(event.target.value)}>
              <option value="">every record</option>
              {(slices.data ?? []).map((s) => (
                <option key={s.id} value={s.name}>
                  slice {s.name}
                </option>
              ))}
            </select>
          </label>
          {strategy !== "random" && (
            <EmbeddingSelect project={name} value={embedding} onChange={setEmbedding} />
          )}
          {(UNCERTAIN.has(strategy) || strategy === "auto") && (
            <>
              <label>
                Measure
                <select
                  value={measure}
                  onChange={(event) => setMeasure(event.target.value as typeof measure)}
                >
                  <Options choices={MEASURES} />
                </select>
              </label>
              <label>
                Probabilities from
                <select value={source} onChange={(event) => setSource(event.target.value)}>
                  <Options choices={SOURCES} />
                </select>
              </label>
              {source === "heuristic" && (
                <label>
                  Active learner
                  <input
                    value={heuristic}
                    placeholder="heuristic name"
                    onChange={(event) => setHeuristic(event.target.value)}
                  />
                </label>
              )}
            </>
          )}
          <label title="The same seed picks the same records">
            Seed
            <input
              type="number"
              min={0}
              step={1}
              className="short"
              value={seed}
              onChange={(event) => setSeed(event.target.value)}
            />
          </label>
          <button type="submit" className="primary" disabled={select.isPending || sizeInvalid}>
            Select
          </button>
        </form>
        {sizeInvalid && <p className="inline-error">Pick a whole number of records, 1 or more.</p>}
        <InlineError error={select.error} />
      </section>
      {result && result.slice === (picks ?? result.slice) ? (
        <Picks project={project} result={result} />
      ) : picks ? (
        <SlicePicks project={project} slice={picks} />
      ) : null}
    </>
  );
}

/** The data browser's and the labeling suite's paths on a slice, in its order. */
function slicePaths(project: string, slice: string) {
  const params = selectionParams({ slice, order: sliceOrder(slice) });
  return {
    browse: projectPath(project, "browser", params),
    label: projectPath(project, "labeling", params),
  };
}

function Picks({ project, result }: { project: Project; result: SelectionResult }) {
  const { browse } = slicePaths(project.name, result.slice);
  return (
    <section className="panel" aria-labelledby="picks-heading" data-testid="picks">
      <div className="section-head">
        <h2 id="picks-heading">
          {formatNumber(result.size)} records picked by {result.used}
        </h2>
        <div className="actions">
          <Link className="button" to={browse}>
            Open in the data browser
          </Link>
          <Link className="button primary" to={result.session.path}>
            Label these
          </Link>
        </div>
      </div>
      <p data-testid="selection-summary">
        {result.strategy === "auto" ? (
          <>
            <strong>auto</strong> chose <strong>{result.used}</strong>
            {result.reason && <>: {result.reason}</>}.{" "}
          </>
        ) : null}
        From {formatNumber(result.pool)} records
        {result.task && <> (task {result.task})</>}
        {result.embedding && <>, embedding {result.embedding}</>}; saved as the slice{" "}
        <span className="mono">{result.slice}</span>
        {result.run.reused && (
          <span className="muted"> · the stored result (inputs unchanged)</span>
        )}
        .
      </p>
      <div className="table-scroll">
        <table className="table" data-testid="pick-table">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Record</th>
              <th>Text</th>
              <th className="num">Score</th>
            </tr>
          </thead>
          <tbody>
            {result.records.map((record, i) => (
              <tr key={record.id} data-record={record.id}>
                <td className="num">{i + 1}</td>
                <td className="nowrap">{recordName(project, record)}</td>
                <td className="cell" dir="auto">
                  {snippet(project, record.data)}
                </td>
                <td className="num">{record.score.toFixed(3)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {result.size > result.records.length && (
        <p className="muted">
          The first {formatNumber(result.records.length)} shown; the slice holds all{" "}
          {formatNumber(result.size)}.
        </p>
      )}
    </section>
  );
}

/** The picks of an earlier selection, read back from its slice (a reload, a shared link): the
 * records in their order, without the scores and the strategy's reason of the run. */
function SlicePicks({ project, slice }: { project: Project; slice: string }) {
  const { browse, label } = slicePaths(project.name, slice);
  const body = selectionQuery({ slice, order: sliceOrder(slice) });
  const found = useRecordsPage(project.name, body, 1, PICKS_SHOWN);
  if (found.isPending) return <Loading what="Loading the picks" />;
  if (found.isError) {
    return (
      <ResultError
        error={found.error}
        title={`The slice ${slice} is gone`}
        why="Its picks were deleted; select again above."
        retry={() => void found.refetch()}
      />
    );
  }
  const page = found.data;
  return (
    <section className="panel" aria-labelledby="picks-heading" data-testid="picks">
      <div className="section-head">
        <h2 id="picks-heading">
          {formatNumber(page.total)} records picked, in the slice{" "}
          <span className="mono">{slice}</span>
        </h2>
        <div className="actions">
          <Link className="button" to={browse}>
            Open in the data browser
          </Link>
          <Link className="button primary" to={label}>
            Label these
          </Link>
        </div>
      </div>
      <p className="muted">Their scores and the strategy's reason show after a run.</p>
      <div className="table-scroll">
        <table className="table" data-testid="pick-table">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Record</th>
              <th>Text</th>
            </tr>
          </thead>
          <tbody>
            {page.records.map((record, i) => (
              <tr key={record.id} data-record={record.id}>
                <td className="num">{i + 1}</td>
                <td className="nowrap">{recordName(project, record)}</td>
                <td className="cell" dir="auto">
                  {snippet(project, record.data)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
