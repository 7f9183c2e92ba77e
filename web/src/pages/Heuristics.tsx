// Heuristics: one labeling task's labeling functions (?task=) with their statistics against
// the manual labels, selection, runs as jobs, and the weak-supervision run over the selection.
// `?edit=NAME` (or `?new=1`) opens the code editor above the list.
import { Fragment, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type { Project, Task } from "../api/client";
import {
  useHeuristics,
  useRunHeuristics,
  type Heuristic,
  type HeuristicTryResult,
} from "../api/heuristics";
import { useProject } from "../api/projects";
import { useJobs } from "../components/Jobs";
import { Empty, InlineError, QueryView } from "../components/States";
import { NoTasks, TaskSelect } from "../components/Tasks";
import { formatNumber, formatTime } from "../format";
import { projectPath } from "../routes";
import { HeuristicEditor } from "./HeuristicEditor";
import {
  KIND_TITLES,
  LEARNED_KINDS,
  MODEL_KIND,
  MODEL_TITLE,
  modelKindFits,
  NewLearnedHeuristic,
  NewModelHeuristic,
  type LearnedKind,
} from "./HeuristicNew";
import { WeakSupervision } from "./WeakSupervision";
import "./Heuristics.css";

interface Tried {
  name: string;
  result: HeuristicTryResult;
}

interface LabelStatistics {
  hits: number;
  true_positives: number;
  false_positives: number;
  false_negatives: number;
}

/** `HeuristicPublic.statistics` (a free-form object in the API's schema). */
export interface Statistics {
  coverage: number;
  records: number;
  hits: number;
  overlaps: number;
  conflicts: number;
  true_positives: number;
  false_positives: number;
  false_negatives: number;
  precision: number | null;
  interval: [number, number] | null;
  labels: Record<string, LabelStatistics>;
  reference_records?: number;
}

interface LastRun {
  code_version: number;
  records: number;
  records_with_votes: number;
  votes: number;
  seconds: number;
  finished_at: string;
  /** a model heuristic's: the version it voted with */
  model?: { version: number; algorithm: string };
}

/** A model heuristic's `config`: the version it last voted with and the task's live one. */
interface ModelConfig {
  version: number | null;
  live_version: number | null;
}

type NewKind = LearnedKind | typeof MODEL_KIND;

export function Heuristics() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <HeuristicsView project={data} />}
    </QueryView>
  );
}

function HeuristicsView({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const first = project.tasks[0];
  if (!first) {
    return (
      <div className="heuristics">
        <h1>Heuristics</h1>
        <NoTasks
          project={project}
          why="A heuristic labels records for a labeling task, and this project has none."
        />
      </div>
    );
  }
  const task = project.tasks.find((t) => t.name === params.get("task")) ?? first;
  const editing = params.get("edit");
  const creating = params.get("new") === "1";
  const learning = LEARNED_KINDS.find((kind) => kind === params.get("new")) ?? null;
  const addingModel = params.get("new") === MODEL_KIND;
  // The last "Run on 10" of the editor, kept here: saving a new heuristic (or a rename) opens
  // the editor anew under its name, and its results should stay in view.
  const [tried, setTried] = useState<Tried | null>(null);
  const open = (next: { edit?: string; new?: boolean | NewKind; task?: string }) => {
    const search = new URLSearchParams({ task: next.task ?? task.name });
    if (next.edit) search.set("edit", next.edit);
    if (next.new) search.set("new", next.new === true ? "1" : next.new);
    setParams(search);
  };
  return (
    <div className="heuristics">
      <div className="page-head">
        <h1>Heuristics</h1>
        <label className="inline-choice">
          Task
          <TaskSelect
            tasks={project.tasks}
            value={task.name}
            onChange={(name) => open({ task: name })}
          />
        </label>
        <div className="actions">
          {LEARNED_KINDS.map((kind) => (
            <button key={kind} type="button" onClick={() => open({ new: kind })}>
              {KIND_TITLES[kind]}
            </button>
          ))}
          {modelKindFits(project, task) && (
            <button type="button" onClick={() => open({ new: MODEL_KIND })}>
              {MODEL_TITLE}
            </button>
          )}
          <button type="button" className="primary" onClick={() => open({ new: true })}>
            New heuristic
          </button>
        </div>
      </div>
      {learning && (
        <NewLearnedHeuristic
          key={`${learning} ${task.name}`}
          project={project}
          task={task}
          kind={learning}
          onCreated={(name) => open({ edit: name })}
          onClose={() => open({})}
        />
      )}
      {addingModel && (
        <NewModelHeuristic
          key={`${MODEL_KIND} ${task.name}`}
          project={project}
          task={task}
          onCreated={(name) => open({ edit: name })}
          onClose={() => open({})}
        />
      )}
      {(creating || editing) && (
        <HeuristicEditor
          key={editing ?? "new"}
          project={project}
          task={task}
          name={editing}
          tried={tried && tried.name === editing ? tried.result : null}
          onTried={(name, result) => setTried({ name, result })}
          onOpen={(name) => open({ edit: name })}
          onClose={() => open({})}
        />
      )}
      <HeuristicList project={project} task={task} onEdit={(name) => open({ edit: name })} />
    </div>
  );
}

function HeuristicList({
  project,
  task,
  onEdit,
}: {
  project: Project;
  task: Task;
  onEdit: (name: string) => void;
}) {
  const found = useHeuristics(project.name);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const { track } = useJobs();
  const run = useRunHeuristics(project.name, (job, names) =>
    track(job, `Run ${names.length} heuristic(s)`),
  );
  return (
    <QueryView query={found} what="Loading the heuristics">
      {(all) => {
        const mine = all.filter((h) => h.task === task.name);
        const chosen = mine.filter((h) => selected.has(h.name)).map((h) => h.name);
        const toggle = (set: Set<string>, name: string) => {
          const next = new Set(set);
          if (next.has(name)) next.delete(name);
          else next.add(name);
          return next;
        };
        if (mine.length === 0) {
          return (
            <Empty
              title={`No heuristics for ${task.name} yet`}
              why="A heuristic is a Python function that labels a record, or abstains. Write down what you know (keywords, patterns, lookup lists) and see how good it is. Weak supervision then combines them."
            >
              <Link to={`?task=${encodeURIComponent(task.name)}&new=1`}>
                Write the first heuristic
              </Link>
            </Empty>
          );
        }
        // The manual labels most heuristics are measured on (a model heuristic: its test split
        // only, said in its row).
        const reference = (
          mine.find((h) => h.kind !== MODEL_KIND)?.statistics as Statistics | null | undefined
        )?.reference_records;
        // Extraction counts missed spans too (a true positive is an exact span match).
        const extraction = task.type === "extraction";
        return (
          <>
            <section className="panel" aria-label={`Heuristics of ${task.name}`}>
              <div className="section-head">
                <p className="muted">
                  {reference === 0
                    ? "No manual labels yet: precision is estimated against them. "
                    : `Precision is estimated against the manual labels${
                        reference === undefined ? "" : ` (${formatNumber(reference)} records)`
                      }; the range is its 95% Wilson interval. `}
                  <Link to={projectPath(project.name, "labeling")}>Label records</Link>
                </p>
                <div className="actions">
                  <button
                    type="button"
                    disabled={chosen.length === 0 || run.isPending}
                    onClick={() => run.mutate(chosen)}
                  >
                    Run selected ({chosen.length})
                  </button>
                  <button
                    type="button"
                    className="primary"
                    disabled={run.isPending}
                    onClick={() => run.mutate(mine.map((h) => h.name))}
                  >
                    Run all
                  </button>
                </div>
              </div>
              <InlineError error={run.error} />
              <div className="table-scroll heuristic-table">
                <table className="table" data-testid="heuristics">
                  <thead>
                    <tr>
                      <th>
                        <input
                          type="checkbox"
                          aria-label="Select all"
                          checked={chosen.length === mine.length}
                          onChange={(event) =>
                            setSelected(
                              new Set(event.target.checked ? mine.map((h) => h.name) : []),
                            )
                          }
                        />
                      </th>
                      <th>Heuristic</th>
                      <th className="num">Coverage</th>
                      <th className="num">Hits</th>
                      <th className="num">Overlaps</th>
                      <th className="num">Conflicts</th>
                      <th className="num">{extraction ? "TP / FP / FN" : "TP / FP"}</th>
                      <th>Estimated precision</th>
                      <th>Last run</th>
                    </tr>
                  </thead>
                  <tbody>
                    {mine.map((h) => (
                      <Fragment key={h.id}>
                        <HeuristicRow
                          heuristic={h}
                          extraction={extraction}
                          selected={selected.has(h.name)}
                          expanded={expanded.has(h.name)}
                          onSelect={() => setSelected((s) => toggle(s, h.name))}
                          onExpand={() => setExpanded((s) => toggle(s, h.name))}
                          onEdit={() => onEdit(h.name)}
                        />
                        {expanded.has(h.name) && <LabelRows heuristic={h} />}
                      </Fragment>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
            <WeakSupervision
              project={project}
              task={task}
              selected={chosen}
              ran={mine.some((h) => h.last_run)}
            />
          </>
        );
      }}
    </QueryView>
  );
}

function HeuristicRow({
  heuristic: h,
  extraction,
  selected,
  expanded,
  onSelect,
  onExpand,
  onEdit,
}: {
  heuristic: Heuristic;
  extraction: boolean;
  selected: boolean;
  expanded: boolean;
  onSelect: () => void;
  onExpand: () => void;
  onEdit: () => void;
}) {
  const stats = h.statistics as Statistics | null;
  const run = h.last_run as LastRun | null;
  const model = h.kind === MODEL_KIND ? (h.config as ModelConfig | null) : null;
  const count = (n: number) =>
    stats && stats.records ? `${formatNumber(n)} (${share(n, stats.records)})` : formatNumber(n);
  return (
    <tr data-heuristic={h.name}>
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${h.name}`}
          checked={selected}
          onChange={onSelect}
        />
      </td>
      <td>
        <button type="button" className="link mono" onClick={onEdit} title="Edit">
          {h.name}
        </button>
        <div className="muted">{h.kind}</div>
        {model && (
          <div className="muted small" data-stat="model-scope">
            {stats?.reference_records === undefined
              ? "measured on the test split"
              : `measured on the test split (${formatNumber(stats.reference_records)} labeled)`}
          </div>
        )}
        {stats && Object.keys(stats.labels).length > 0 && (
          <button type="button" className="link small" aria-expanded={expanded} onClick={onExpand}>
            {expanded ? "Hide labels" : "Per label"}
          </button>
        )}
      </td>
      {stats ? (
        <>
          <td className="num" data-stat="coverage">
            {(100 * stats.coverage).toFixed(1)}%
            <div className="muted">{formatNumber(stats.records)} records</div>
          </td>
          <td className="num" data-stat="hits">
            {formatNumber(stats.hits)}
          </td>
          <td className="num" data-stat="overlaps">
            {count(stats.overlaps)}
          </td>
          <td className="num" data-stat="conflicts">
            {count(stats.conflicts)}
          </td>
          <td className="num" data-stat="tp-fp">
            {formatNumber(stats.true_positives)} / {formatNumber(stats.false_positives)}
            {extraction && ` / ${formatNumber(stats.false_negatives)}`}
          </td>
          <td data-stat="precision">
            <Precision precision={stats.precision} interval={stats.interval} />
          </td>
        </>
      ) : (
        <td colSpan={6} className="muted">
          No statistics: not run yet.
        </td>
      )}
      <td data-stat="last-run">
        {run ? (
          <>
            {formatTime(run.finished_at)}
            <div className="muted">
              {model && run.model ? `model v${run.model.version}` : `code v${run.code_version}`} ·{" "}
              {formatNumber(run.votes)} votes · {run.seconds.toFixed(1)} s
            </div>
            {h.stale && (
              <span className="badge badge-warn" title="The code changed since this run">
                stale: code v{h.code_version}
              </span>
            )}
            {model && model.version !== model.live_version && (
              <span
                className="badge badge-warn"
                title="Another version went live since this run: run it again to vote with it"
              >
                {model.live_version === null ? "no live model now" : `live: v${model.live_version}`}
              </span>
            )}
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
    </tr>
  );
}

function share(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}

/** The Wilson score interval (95%), as the server computes it for whole heuristics; here for
 * the per-label rows, whose counts are all the API gives. */
function wilson(successes: number, trials: number): [number, number] | null {
  if (trials <= 0) return null;
  const z = 1.96;
  const p = successes / trials;
  const centre = p + (z * z) / (2 * trials);
  const spread = z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials));
  const scale = 1 + (z * z) / trials;
  return [Math.max(0, (centre - spread) / scale), Math.min(1, (centre + spread) / scale)];
}

/** The estimate with its interval as text and as a band on a 0-100% track: a wide band is an
 * uncertain estimate, however good the point looks (2 of 2 correct: 100%, 34-100%). */
export function Precision({
  precision,
  interval,
}: {
  precision: number | null;
  interval: [number, number] | null;
}) {
  if (precision === null || !interval) {
    return <span className="muted">no manual labels on its records</span>;
  }
  const [low, high] = interval;
  const pct = (x: number) => `${Math.round(100 * x)}%`;
  return (
    <div className="precision" title={`95% interval ${pct(low)}–${pct(high)}`}>
      <span className="precision-value">{pct(precision)}</span>{" "}
      <span className="muted precision-interval">
        ({pct(low)}–{pct(high)})
      </span>
      <div className="precision-track" aria-hidden="true">
        <div
          className="precision-band"
          style={{ left: pct(low), width: `${Math.max(1, 100 * (high - low))}%` }}
        />
        <div className="precision-point" style={{ left: pct(precision) }} />
      </div>
    </div>
  );
}

function LabelRows({ heuristic }: { heuristic: Heuristic }) {
  const stats = heuristic.statistics as Statistics | null;
  if (!stats) return null;
  return (
    <tr className="label-stats">
      <td />
      <td colSpan={8}>
        <table className="table" aria-label={`Per label of ${heuristic.name}`}>
          <thead>
            <tr>
              <th>Label</th>
              <th className="num">Hits</th>
              <th className="num">TP</th>
              <th className="num">FP</th>
              <th className="num">FN</th>
              <th>Estimated precision</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(stats.labels).map(([label, s]) => {
              const judged = s.true_positives + s.false_positives;
              return (
                <tr key={label}>
                  <td>{label}</td>
                  <td className="num">{formatNumber(s.hits)}</td>
                  <td className="num">{formatNumber(s.true_positives)}</td>
                  <td className="num">{formatNumber(s.false_positives)}</td>
                  <td className="num">{formatNumber(s.false_negatives)}</td>
                  <td>
                    <Precision
                      precision={judged ? s.true_positives / judged : null}
                      interval={wilson(s.true_positives, judged)}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </td>
    </tr>
  );
}
