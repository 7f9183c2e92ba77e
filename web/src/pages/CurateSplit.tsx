// Curate → Split: split a task's labeled records into named sets (fractions or counts; label-
// and cluster-stratified, near-duplicates kept together, seeded) as a job, and the report of
// the project's current split: the sets with their label shares, each set's embedding distance
// to the pool next to random sets of its size, and duplicates across sets.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { Project } from "../api/client";
import { parseSets, useSplit, useSplitReport, type SplitReport } from "../api/curation";
import { modelTasks } from "../api/models";
import { useJobs } from "../components/Jobs";
import { InlineError, Loading } from "../components/States";
import { NoTasks } from "../components/Tasks";
import { formatNumber, formatTime } from "../format";
import { projectPath, selectionParams } from "../routes";
import { distanceVerdict } from "./curate";
import { EmbeddingSelect, ResultError } from "./CurateParts";

export const DEFAULT_SETS = "train=0.8,validation=0.1,test=0.1";

export function CurateSplit({ project }: { project: Project }) {
  const tasks = modelTasks(project);
  if (tasks.length === 0) {
    return (
      <NoTasks
        project={project}
        why="A split divides a classification or multi-label task's labeled records, and this project has none."
      />
    );
  }
  return (
    <>
      <SplitForm project={project} />
      <Report project={project} />
    </>
  );
}

function SplitForm({ project }: { project: Project }) {
  const tasks = modelTasks(project);
  const [sets, setSets] = useState(DEFAULT_SETS);
  const [task, setTask] = useState(tasks[0]!.name);
  const [embedding, setEmbedding] = useState("");
  const [seed, setSeed] = useState("0");
  const { track } = useJobs();
  const split = useSplit(project.name, (job) => track(job, "Split the labeled records"));
  const parsed = parseSets(sets);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if ("error" in parsed) return;
    split.mutate({
      sets: parsed,
      task,
      embedding: embedding || null,
      seed: Number(seed) || 0,
    });
  };
  return (
    <section className="panel" aria-labelledby="split-heading">
      <h2 id="split-heading">Split</h2>
      <p className="muted">
        Divides the task's labeled records into named sets, stratified on the labels and on
        clusters of the embedding, with near-duplicates kept in one set. A new split replaces the
        project's split; training scores models on its set named <span className="mono">test</span>.
      </p>
      <form className="form-row" onSubmit={submit} aria-label="New split">
        <label className="grow" title="Fractions (adding up to 1) or counts of records">
          Sets
          <input value={sets} onChange={(event) => setSets(event.target.value)} />
        </label>
        <label>
          Task
          <select value={task} onChange={(event) => setTask(event.target.value)}>
            {tasks.map((t) => (
              <option key={t.id} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <EmbeddingSelect project={project.name} value={embedding} onChange={setEmbedding} />
        <label title="The same seed, the same split">
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
        <button
          type="submit"
          className="primary"
          disabled={split.isPending || "error" in parsed}
        >
          Split
        </button>
      </form>
      {"error" in parsed && <p className="inline-error">{parsed.error}</p>}
      <InlineError error={split.error} />
    </section>
  );
}

function Report({ project }: { project: Project }) {
  const report = useSplitReport(project.name);
  if (report.isPending) return <Loading what="Loading the split" />;
  if (report.isError) {
    return (
      <ResultError
        error={report.error}
        title="No split yet"
        why="Split the labeled records above; the report of the split shows here."
        retry={() => void report.refetch()}
      />
    );
  }
  return <ReportView project={project} report={report.data} />;
}

function ReportView({ project, report }: { project: Project; report: SplitReport }) {
  const labels = [...new Set(report.sets.flatMap((set) => Object.keys(set.labels)))].sort();
  const task = project.tasks.find((t) => t.name === report.task);
  return (
    <section className="panel" aria-labelledby="report-heading" data-testid="split-report">
      <h2 id="report-heading">The split of {report.task}</h2>
      <p className="muted">
        {formatNumber(report.records)} labeled records, seed {report.seed}
        {report.embedding ? <>, stratified on clusters of {report.embedding}</> : ", labels only"}
        {report.run.finished_at && <> · made {formatTime(report.run.finished_at)}</>}
      </p>
      <div className="table-scroll">
        <table className="table" data-testid="split-sets">
          <thead>
            <tr>
              <th>Set</th>
              <th className="num">Records</th>
              <th className="num">Share</th>
              {labels.map((label) => (
                <th key={label} className="num" dir="auto">
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.sets.map((set) => (
              <tr key={set.name} data-set={set.name}>
                <td>
                  <Link
                    to={projectPath(
                      project.name,
                      "browser",
                      selectionParams({ where: { set: set.name } }),
                    )}
                    title={`Browse the records of ${set.name}`}
                  >
                    {set.name}
                  </Link>
                </td>
                <td className="num" data-stat="records">
                  {formatNumber(set.records)}
                </td>
                <td className="num">{(100 * set.share).toFixed(1)}%</td>
                {labels.map((label) => (
                  <td key={label} className="num" data-label={label}>
                    {formatNumber(set.labels[label] ?? 0)}{" "}
                    <span className="muted">
                      ({(100 * (set.label_shares[label] ?? 0)).toFixed(1)}%)
                    </span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {task === undefined && <p className="muted">The task {report.task} no longer exists.</p>}
      <h3>Distance to the pool</h3>
      {report.distances.length === 0 ? (
        <p className="muted" data-testid="no-distances">
          No embedding: the sets' distances to the pool need one (Settings → Embeddings).
        </p>
      ) : (
        <>
          <p className="muted">
            Squared MMD between each set's vectors and all the labeled records', next to{" "}
            {formatNumber(report.random_splits)} random sets of the same size: a representative
            set is as close as a random one, or closer.
          </p>
          <table className="table" data-testid="split-distances">
            <thead>
              <tr>
                <th>Set</th>
                <th className="num">MMD</th>
                <th className="num">Random: median</th>
                <th className="num">Random: 95th percentile</th>
                <th>Compared with random sets</th>
              </tr>
            </thead>
            <tbody>
              {report.distances.map((d) => (
                <tr key={d.name} data-set={d.name}>
                  <td>{d.name}</td>
                  <td className="num">{d.mmd.toExponential(2)}</td>
                  <td className="num">{d.random_median.toExponential(2)}</td>
                  <td className="num">{d.random_p95.toExponential(2)}</td>
                  <td>{distanceVerdict(d.percentile)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h3>Duplicates</h3>
      <p data-testid="split-duplicates">
        {formatNumber(report.duplicate_groups)} near-duplicate groups kept in one set;{" "}
        <strong className={report.duplicates_across_sets > 0 ? "curate-warn" : undefined}>
          {formatNumber(report.duplicates_across_sets)} across sets
        </strong>
        .
      </p>
    </section>
  );
}
