// The weak-supervision run of a task: a label model combines the selected heuristics' votes
// (none selected: all that ran) into one label per record, as a job. It sits under the
// heuristics list because it works on that list's selection; the overview shows its result.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { Project, Task } from "../api/client";
import { useLastWeakSupervision, useRunWeakSupervision } from "../api/weakSupervision";
import { useJobs } from "../components/Jobs";
import { Options } from "../components/Fields";
import { InlineError } from "../components/States";
import { formatNumber, formatTime } from "../format";
import { projectPath } from "../routes";

const MODELS = [
  ["generative", "generative (learns each heuristic's accuracy; default)"],
  ["dawid-skene", "Dawid-Skene (EM, models abstains)"],
  ["weighted", "weighted vote (by estimated precision)"],
  ["majority", "majority vote"],
] as const;

export function WeakSupervision({
  project,
  task,
  selected,
  ran,
}: {
  project: Project;
  task: Task;
  selected: string[];
  ran: boolean;
}) {
  const [model, setModel] = useState<string>("generative");
  const [c, setC] = useState("7");
  const [k, setK] = useState("3");
  // The last run (null before the first); a finished job refreshes every query, this one too.
  const last = useLastWeakSupervision(project.name, task.name);
  const { track } = useJobs();
  const run = useRunWeakSupervision(project.name, task.name, (job) =>
    track(job, `Weak supervision of ${task.name}`),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    run.mutate({
      model,
      heuristics: selected.length ? selected : null,
      params: model === "weighted" ? { c: Number(c), k: Number(k) } : null,
    });
  };
  return (
    <section className="panel weak-supervision" aria-labelledby="ws-heading">
      <h2 id="ws-heading">Weak supervision</h2>
      <p className="muted">
        A label model combines the votes of{" "}
        {selected.length
          ? `the ${selected.length} selected heuristic(s)`
          : "every heuristic of the task that ran (select some above to combine only those)"}{" "}
        into one label per record, with a confidence.
      </p>
      <form className="form-row" onSubmit={submit}>
        <label>
          Label model
          <select value={model} onChange={(event) => setModel(event.target.value)}>
            <Options choices={MODELS} />
          </select>
        </label>
        {model === "weighted" && (
          <>
            <CurveParameter name="c" what="Steepness" value={c} onChange={setC} />
            <CurveParameter name="k" what="Shift" value={k} onChange={setK} />
          </>
        )}
        <button type="submit" className="primary" disabled={run.isPending || !ran}>
          Run weak supervision
        </button>
      </form>
      {!ran && <p className="muted">Run heuristics first: the label model combines their votes.</p>}
      <InlineError error={run.error} />
      <InlineError error={last.error} />
      {last.data && (
        <div data-testid="ws-last-run">
          <p>
            Last run {formatTime(last.data.finished_at)}: {last.data.model} over{" "}
            {last.data.heuristics.join(", ")}; {formatNumber(last.data.labeled)} of{" "}
            {formatNumber(last.data.records_with_votes)} records with votes labeled
            {last.data.ties > 0 && ` (${formatNumber(last.data.ties)} ties left unlabeled)`}.{" "}
            <Link to={`${projectPath(project.name)}?task=${encodeURIComponent(task.name)}`}>
              See the overview
            </Link>
          </p>
          {last.data.stale && (
            <p>
              <span className="badge badge-warn">stale</span> {last.data.stale_reasons.join("; ")}:
              run weak supervision again.
            </p>
          )}
        </div>
      )}
      {ran && last.data === null && <p className="muted">Not run yet for {task.name}.</p>}
    </section>
  );
}

/** A parameter of the weighted vote's confidence curve. */
function CurveParameter({
  name,
  what,
  value,
  onChange,
}: {
  name: string;
  what: string;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label title={`${what} of the confidence curve 1/(1+exp(-c·margin+k))`}>
      {name}
      <input
        type="number"
        step="any"
        className="short"
        value={value}
        onChange={(event) => onChange(event.target.value)}
      />
    </label>
  );
}
