// Models of one task (?task=): train a version (a job), the versions with their test-split
// figures and the promotion decisions, promote and roll back, the figures over versions, one
// version's confusion matrix, reliability curve and per-label figures (?version=), the live
// accuracy from the blind audit reviews, and the loop's settings.
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type { Project, Task } from "../api/client";
import { useEmbeddings } from "../api/embeddings";
import {
  artifactUrl,
  modelTasks,
  useLiveAccuracy,
  useModels,
  usePromoteModel,
  useRollbackModel,
  useTrainModel,
  useUpdateModelSettings,
  type ModelAlgorithm,
  type ModelSettings,
  type ModelVersion,
  type ModelsOverview,
} from "../api/models";
import { useProject } from "../api/projects";
import { BarChart, Heatmap } from "../components/Charts";
import { Confirm } from "../components/Confirm";
import { Options } from "../components/Fields";
import { useJobs } from "../components/Jobs";
import { Empty, InlineError, QueryView } from "../components/States";
import { NoTasks, TaskSelect } from "../components/Tasks";
import { formatNumber, formatTime } from "../format";
import { projectPath } from "../routes";
import "./Models.css";

const ALGORITHMS: readonly (readonly [ModelAlgorithm, string])[] = [
  ["auto", "auto (picked by cross-validation on the training split)"],
  ["tfidf-logreg", "TF-IDF + logistic regression"],
  ["tfidf-nb", "TF-IDF + naive Bayes"],
  ["embedding-logreg", "embedding + logistic regression"],
];

const METRICS = [
  ["macro_f1", "macro-F1"],
  ["micro_f1", "micro-F1"],
  ["accuracy", "accuracy"],
] as const;

const COLORS = { f1: "#2f5d8a", accuracy: "#9db8d4" };

/** A figure in [0, 1] as the pages show it: three decimals. */
function figure(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : x.toFixed(3);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** An accuracy with its 95% interval, e.g. "91.2% (88.0–93.8%)". */
export function WithInterval({ value, interval }: { value: number; interval: number[] | null }) {
  return (
    <span className="with-interval">
      <strong>{pct(value)}</strong>
      {interval && interval.length === 2 && (
        <span className="muted">
          {" "}
          ({pct(interval[0]!)}–{pct(interval[1]!)})
        </span>
      )}
    </span>
  );
}

export function StatusBadge({ status }: { status: ModelVersion["status"] }) {
  return <span className={`badge model-status model-status-${status}`}>{status}</span>;
}

export function Models() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <ModelsView project={data} />}
    </QueryView>
  );
}

function ModelsView({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const tasks = modelTasks(project);
  const first = tasks[0];
  if (!first) {
    return (
      <div className="models">
        <h1>Models</h1>
        <NoTasks
          project={project}
          why="A model is trained for a classification or multi-label task, and this project has none."
        />
      </div>
    );
  }
  const task = tasks.find((t) => t.name === params.get("task")) ?? first;
  const chosen = Number(params.get("version")) || null;
  const open = (next: { task?: string; version?: number }) => {
    const search = new URLSearchParams({ task: next.task ?? task.name });
    if (next.version) search.set("version", String(next.version));
    setParams(search);
  };
  return (
    <div className="models">
      <div className="page-head">
        <h1>Models</h1>
        <label className="inline-choice">
          Task
          <TaskSelect tasks={tasks} value={task.name} onChange={(name) => open({ task: name })} />
        </label>
        <Link
          className="button"
          to={`${projectPath(project.name, "review")}?task=${encodeURIComponent(task.name)}`}
        >
          Review predictions
        </Link>
      </div>
      <TrainPanel key={`train ${task.name}`} project={project} task={task} />
      <TaskModels
        key={task.name}
        project={project}
        task={task}
        chosen={chosen}
        onChoose={(version) => open({ version })}
      />
    </div>
  );
}

function TrainPanel({ project, task }: { project: Project; task: Task }) {
  const [algorithm, setAlgorithm] = useState<ModelAlgorithm>("auto");
  const [embedding, setEmbedding] = useState("");
  const [withWeak, setWithWeak] = useState("");
  const embeddings = useEmbeddings(project.name);
  const ready = (embeddings.data ?? []).filter((e) => e.state === "ready");
  const { track } = useJobs();
  const train = useTrainModel(project.name, task.name, (job) =>
    track(job, `Train a model of ${task.name}`),
  );
  const weak = withWeak.trim() === "" ? null : Number(withWeak);
  const weakInvalid = weak !== null && !(weak >= 0 && weak <= 1);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    train.mutate({
      algorithm,
      with_weak: weak,
      embedding: algorithm === "embedding-logreg" ? embedding || (ready[0]?.name ?? null) : null,
    });
  };
  return (
    <section className="panel" aria-labelledby="train-heading">
      <h2 id="train-heading">Train</h2>
      <p className="muted">
        Trains on the task's manual labels outside its fixed test split, scores the new version on
        that split, and makes it live only when a paired test says it is better than the live one.
      </p>
      <form className="form-row" onSubmit={submit}>
        <label>
          Algorithm
          <select
            value={algorithm}
            onChange={(event) => setAlgorithm(event.target.value as ModelAlgorithm)}
          >
            <Options choices={ALGORITHMS} />
          </select>
        </label>
        {algorithm === "embedding-logreg" && (
          <label>
            Embedding
            <select value={embedding} onChange={(event) => setEmbedding(event.target.value)}>
              {ready.length === 0 && <option value="">no ready embedding</option>}
              <Options choices={ready.map((e) => [e.name, e.name] as const)} />
            </select>
          </label>
        )}
        <label title="Add weakly supervised labels at or above this confidence (empty: manual labels only)">
          With weak labels above
          <input
            type="number"
            min={0}
            max={1}
            step="any"
            className="short"
            placeholder="off"
            value={withWeak}
            onChange={(event) => setWithWeak(event.target.value)}
          />
        </label>
        <button type="submit" className="primary" disabled={train.isPending || weakInvalid}>
          Train
        </button>
      </form>
      {weakInvalid && <p className="inline-error">The threshold is a confidence from 0 to 1.</p>}
      <InlineError error={train.error} />
    </section>
  );
}

function TaskModels({
  project,
  task,
  chosen,
  onChoose,
}: {
  project: Project;
  task: Task;
  chosen: number | null;
  onChoose: (version: number) => void;
}) {
  const overview = useModels(project.name, task.name);
  return (
    <QueryView query={overview} what="Loading the models">
      {(data) => {
        const shown =
          data.versions.find((v) => v.version === chosen) ??
          data.versions.find((v) => v.version === data.live_version) ??
          data.versions[0];
        return (
          <>
            <Versions
              project={project}
              task={task}
              overview={data}
              shown={shown?.version}
              onChoose={onChoose}
            />
            {shown && <VersionDetail project={project} task={task} version={shown} />}
            <SettingsPanel
              key={JSON.stringify(data.settings)}
              project={project}
              task={task}
              settings={data.settings}
            />
          </>
        );
      }}
    </QueryView>
  );
}

function Versions({
  project,
  task,
  overview,
  shown,
  onChoose,
}: {
  project: Project;
  task: Task;
  overview: ModelsOverview;
  shown: number | undefined;
  onChoose: (version: number) => void;
}) {
  const promote = usePromoteModel(project.name, task.name);
  const [confirming, setConfirming] = useState(false);
  const rollback = useRollbackModel(project.name, task.name, () => setConfirming(false));
  const { versions, live_version: live } = overview;
  const oldestFirst = [...versions].sort((a, b) => a.version - b.version);
  return (
    <section className="panel" aria-labelledby="versions-heading">
      <div className="section-head">
        <h2 id="versions-heading">Versions</h2>
        <div className="actions">
          <span data-testid="live-version">
            {live === null ? "No live model" : <>Live: version {live}</>}
          </span>
          <button
            type="button"
            disabled={live === null || versions.length < 2 || rollback.isPending}
            onClick={() => setConfirming(true)}
          >
            Roll back
          </button>
        </div>
      </div>
      <LiveAccuracyLine project={project} task={task} />
      <InlineError error={promote.error} />
      <InlineError error={rollback.error} />
      {versions.length === 0 ? (
        <Empty
          title={`No model of ${task.name} yet`}
          why="Train one above: it learns from the task's manual labels (label some records first)."
        >
          <Link to={projectPath(project.name, "labeling")}>Label records</Link>
        </Empty>
      ) : (
        <>
          <div className="table-scroll model-table">
            <table className="table" data-testid="model-versions">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Status</th>
                  <th>Algorithm</th>
                  <th className="num">Macro-F1</th>
                  <th>Accuracy (95% interval)</th>
                  <th className="num">Test records</th>
                  <th>Created</th>
                  <th>Decision</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr
                    key={v.version}
                    data-version={v.version}
                    data-status={v.status}
                    className={v.version === shown ? "selected" : undefined}
                  >
                    <td>
                      <button
                        type="button"
                        className="link"
                        aria-pressed={v.version === shown}
                        onClick={() => onChoose(v.version)}
                        title="Show this version's figures"
                      >
                        v{v.version}
                      </button>
                    </td>
                    <td>
                      <StatusBadge status={v.status} />
                    </td>
                    <td className="mono">
                      {v.algorithm}
                      {v.requested !== v.algorithm && <div className="muted">({v.requested})</div>}
                    </td>
                    <td className="num" data-stat="macro-f1">
                      {figure(v.metrics.macro_f1)}
                    </td>
                    <td data-stat="accuracy">
                      <WithInterval
                        value={v.metrics.accuracy}
                        interval={v.metrics.accuracy_interval}
                      />
                    </td>
                    <td className="num">{formatNumber(v.metrics.test_records)}</td>
                    <td>{formatTime(v.created_at)}</td>
                    <td className="decision" data-stat="decision">
                      {v.decision && (v.status === "candidate" || !v.decision.promoted) ? (
                        <span className={v.decision.promoted ? undefined : "muted"}>
                          {v.decision.promoted ? "promoted: " : "not promoted after training: "}
                          {v.decision.reason}
                        </span>
                      ) : v.decision ? (
                        <span className="muted">{v.decision.reason}</span>
                      ) : null}
                    </td>
                    <td>
                      {v.status !== "live" && (
                        <button
                          type="button"
                          disabled={promote.isPending}
                          aria-label={`Promote version ${v.version}`}
                          onClick={() => promote.mutate(v.version)}
                        >
                          Promote
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {oldestFirst.length > 1 && (
            <>
              <h3>Test-split figures by version</h3>
              <BarChart
                title="Test-split figures by version"
                rows={oldestFirst.map((v) => ({
                  label: `v${v.version}${v.version === live ? " (live)" : ""}`,
                  values: [v.metrics.macro_f1, v.metrics.accuracy],
                }))}
                series={[
                  { name: "macro-F1", color: COLORS.f1 },
                  { name: "accuracy", color: COLORS.accuracy },
                ]}
              />
            </>
          )}
          <History overview={overview} />
        </>
      )}
      {confirming && (
        <Confirm
          title="Roll back"
          message={`Make the version that was live before version ${live} live again? Serving switches to it at once.`}
          confirm="Roll back"
          busy={rollback.isPending}
          onConfirm={() => rollback.mutate()}
          onClose={() => setConfirming(false)}
        />
      )}
    </section>
  );
}

function History({ overview }: { overview: ModelsOverview }) {
  if (overview.history.length === 0) return null;
  return (
    <details className="model-history">
      <summary>History ({overview.history.length})</summary>
      <ul>
        {overview.history.map((event, i) => (
          <li key={i}>
            {formatTime(event.at)}: <strong>{event.action}</strong> version {event.version}
            {event.reason && <span className="muted"> — {event.reason}</span>}
          </li>
        ))}
      </ul>
    </details>
  );
}

function LiveAccuracyLine({ project, task }: { project: Project; task: Task }) {
  const found = useLiveAccuracy(project.name, task.name);
  if (found.isError) return <InlineError error={found.error} />;
  const live = found.data;
  if (!live || live.model_version === null) return null;
  return (
    <p className="live-accuracy" data-testid="live-accuracy">
      Live accuracy of version {live.model_version} on blind audit reviews:{" "}
      {live.accuracy === null ? (
        <span className="muted">no audit prediction reviewed yet</span>
      ) : (
        <>
          <WithInterval value={live.accuracy} interval={live.interval} />{" "}
          <span className="muted">
            ({formatNumber(live.correct)} of {formatNumber(live.reviewed)} reviewed correct)
          </span>
        </>
      )}
    </p>
  );
}

function VersionDetail({
  project,
  task,
  version: v,
}: {
  project: Project;
  task: Task;
  version: ModelVersion;
}) {
  const m = v.metrics;
  return (
    <section className="panel" aria-labelledby="version-heading" data-testid="version-detail">
      <div className="section-head">
        <h2 id="version-heading">
          Version {v.version} <StatusBadge status={v.status} />
        </h2>
        <a className="button" href={artifactUrl(project.name, task.name, v.version)} download>
          Download the artifact
        </a>
      </div>
      <dl className="model-facts">
        <Fact name="Algorithm" value={<span className="mono">{v.algorithm}</span>} />
        <Fact
          name="Macro P / R / F1"
          value={`${figure(m.macro_precision)} / ${figure(m.macro_recall)} / ${figure(m.macro_f1)}`}
        />
        <Fact
          name="Micro P / R / F1"
          value={`${figure(m.micro_precision)} / ${figure(m.micro_recall)} / ${figure(m.micro_f1)}`}
        />
        <Fact
          name="Accuracy"
          value={<WithInterval value={m.accuracy} interval={m.accuracy_interval} />}
        />
        <Fact name="Calibration error (ECE)" value={figure(m.ece)} />
        <Fact name="Test records" value={formatNumber(m.test_records)} />
        <Fact
          name="Training records"
          value={`${formatNumber(v.training.records)} (${formatNumber(v.training.manual)} manual${
            v.training.weak
              ? `, ${formatNumber(v.training.weak)} weak above ${v.training.with_weak}`
              : ""
          })`}
        />
        <Fact name="Training time" value={`${v.training.seconds.toFixed(1)} s`} />
        <Fact name="Size" value={`${formatNumber(Math.ceil(v.size_bytes / 1024))} KiB`} />
        {v.promoted_at && <Fact name="Promoted" value={formatTime(v.promoted_at)} />}
      </dl>
      {v.decision && (
        <p className="muted" data-testid="decision">
          {v.decision.promoted ? "Promoted after training" : "Not promoted after training"}:{" "}
          {v.decision.reason}
          {v.decision.p_value !== null && ` (p = ${v.decision.p_value.toPrecision(2)})`}
        </p>
      )}
      {Object.keys(v.training.cross_validation).length > 0 && (
        <p className="muted">
          Cross-validation (macro-F1 on the training split):{" "}
          {Object.entries(v.training.cross_validation)
            .map(([name, score]) => `${name} ${figure(score)}`)
            .join(", ")}
        </p>
      )}
      <div className="model-charts">
        <div>
          <h3>Confusion matrix</h3>
          {m.confusion ? (
            <Heatmap
              title={`Confusion matrix of version ${v.version}`}
              labels={m.confusion.labels}
              counts={m.confusion.counts}
              rowsName="true label"
              columnsName="predicted"
            />
          ) : (
            <p className="muted">None for a multi-label task: see the per-label figures.</p>
          )}
        </div>
        <div>
          <h3>Reliability</h3>
          <ReliabilityCurve bins={m.reliability} title={`Reliability of version ${v.version}`} />
        </div>
      </div>
      <h3>Per label</h3>
      <table className="table" data-testid="per-label">
        <thead>
          <tr>
            <th>Label</th>
            <th className="num">Precision</th>
            <th className="num">Recall</th>
            <th className="num">F1</th>
            <th className="num">Test records</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(m.per_label).map(([label, f]) => (
            <tr key={label}>
              <td dir="auto">{label}</td>
              <td className="num">{figure(f.precision)}</td>
              <td className="num">{figure(f.recall)}</td>
              <td className="num">{figure(f.f1)}</td>
              <td className="num">{formatNumber(f.support)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Fact({ name, value }: { name: string; value: ReactNode }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd>{value}</dd>
    </div>
  );
}

const PLOT = { left: 30, right: 190, top: 10, bottom: 170 };

/** Confidence against accuracy per bin: on the diagonal, a confidence means what it says; below
 * it, the model is over-confident. A point's size grows with its bin's test records. */
function ReliabilityCurve({
  bins,
  title,
}: {
  bins: ModelVersion["metrics"]["reliability"];
  title: string;
}) {
  const filled = bins.filter((b) => b.count > 0 && b.confidence !== null && b.accuracy !== null);
  const x = (c: number) => PLOT.left + c * (PLOT.right - PLOT.left);
  const y = (a: number) => PLOT.bottom - a * (PLOT.bottom - PLOT.top);
  const most = Math.max(1, ...filled.map((b) => b.count));
  const summary = `${title}: ${filled
    .map(
      (b) =>
        `confidence ${figure(b.confidence)}, accuracy ${figure(b.accuracy)} (${b.count} records)`,
    )
    .join("; ")}`;
  if (filled.length === 0) return <p className="muted">No test predictions to bin.</p>;
  return (
    <figure className="chart reliability">
      <svg role="img" aria-label={summary} viewBox="0 0 200 195">
        <line x1={PLOT.left} x2={PLOT.right} y1={PLOT.bottom} y2={PLOT.bottom} className="axis" />
        <line x1={PLOT.left} x2={PLOT.left} y1={PLOT.top} y2={PLOT.bottom} className="axis" />
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} className="diagonal" />
        <polyline
          className="curve"
          points={filled.map((b) => `${x(b.confidence!)},${y(b.accuracy!)}`).join(" ")}
        />
        {filled.map((b, i) => (
          <circle
            key={i}
            cx={x(b.confidence!)}
            cy={y(b.accuracy!)}
            r={2 + 3 * Math.sqrt(b.count / most)}
          >
            <title>{`${b.lower.toFixed(1)}–${b.upper.toFixed(1)}: confidence ${figure(b.confidence)}, accuracy ${figure(b.accuracy)}, ${b.count} records`}</title>
          </circle>
        ))}
        {[0, 0.5, 1].map((t) => (
          <g key={t}>
            <text x={x(t)} y={PLOT.bottom + 11} className="tick" textAnchor="middle">
              {t}
            </text>
            <text x={PLOT.left - 4} y={y(t) + 3} className="tick" textAnchor="end">
              {t}
            </text>
          </g>
        ))}
        <text
          x={(PLOT.left + PLOT.right) / 2}
          y={PLOT.bottom + 23}
          className="tick"
          textAnchor="middle"
        >
          confidence
        </text>
        <text
          x={8}
          y={(PLOT.top + PLOT.bottom) / 2}
          className="tick"
          textAnchor="middle"
          transform={`rotate(-90 8 ${(PLOT.top + PLOT.bottom) / 2})`}
        >
          accuracy
        </text>
      </svg>
    </figure>
  );
}

const SETTING_FIELDS = [
  ["retrain_after", "Train again after new manual labels", "0: never", 1],
  ["audit_share", "Audit share of served predictions", "0 to 1", "any"],
  ["alpha", "Significance of the paired test", "e.g. 0.05", "any"],
  ["recall_margin", "Largest recall drop a promotion allows", "0 to 1", "any"],
  ["test_fraction", "Test split fraction", "before the first draw", "any"],
] as const;

type NumericSetting = (typeof SETTING_FIELDS)[number][0];

function SettingsPanel({
  project,
  task,
  settings,
}: {
  project: Project;
  task: Task;
  settings: ModelSettings;
}) {
  const [draft, setDraft] = useState<Record<NumericSetting, string>>(() => ({
    retrain_after: String(settings.retrain_after),
    audit_share: String(settings.audit_share),
    alpha: String(settings.alpha),
    recall_margin: String(settings.recall_margin),
    test_fraction: String(settings.test_fraction),
  }));
  const [metric, setMetric] = useState<ModelSettings["metric"]>(settings.metric);
  const update = useUpdateModelSettings(project.name, task.name);
  const changes: Partial<ModelSettings> = {};
  for (const [name] of SETTING_FIELDS) {
    const value = Number(draft[name]);
    if (draft[name].trim() !== "" && Number.isFinite(value) && value !== settings[name]) {
      changes[name] = value;
    }
  }
  if (metric !== settings.metric) changes.metric = metric;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate(changes);
  };
  return (
    <section className="panel" aria-labelledby="model-settings-heading">
      <h2 id="model-settings-heading">Settings</h2>
      <form className="form-row model-settings" onSubmit={submit}>
        {SETTING_FIELDS.map(([name, text, hint, step]) => (
          <label key={name} title={hint}>
            {text}
            <input
              type="number"
              step={step}
              min={0}
              name={name}
              value={draft[name]}
              onChange={(event) => setDraft((old) => ({ ...old, [name]: event.target.value }))}
            />
          </label>
        ))}
        <label>
          Promotion metric
          <select
            value={metric}
            onChange={(event) => setMetric(event.target.value as ModelSettings["metric"])}
          >
            <Options choices={METRICS} />
          </select>
        </label>
        <button
          type="submit"
          className="primary"
          disabled={Object.keys(changes).length === 0 || update.isPending}
        >
          Save settings
        </button>
      </form>
      <InlineError error={update.error} />
    </section>
  );
}
