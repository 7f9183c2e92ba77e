// Overview: one labeling task's numbers over the project or a slice (task and slice in the URL
// as ?task=&slice=): manual progress, label distribution (manual vs weakly supervised),
// confidences, the confusion matrix, annotators, their agreement and the conflicts to resolve.
// Every chart that has nothing to show says why and what to do.
import type { ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type { Project, Schemas, Task } from "../api/client";
import { useProject } from "../api/projects";
import { useSlices } from "../api/slices";
import { useStatistics } from "../api/statistics";
import { BarChart, Heatmap, Histogram, StackedBar } from "../components/Charts";
import { Empty, InlineError, QueryView } from "../components/States";
import { NoTasks, TaskSelect } from "../components/Tasks";
import { formatNumber, percent } from "../format";
import { projectPath, selectionParams, type Selection } from "../routes";
import "./Overview.css";

type Statistics = Schemas["TaskStatistics"];

const MANUAL_COLOR = "#2f5d8a";
const WEAK_COLOR = "#f28e2b";
const STATE_COLORS = { gold: "#c9a227", agreed: "#59a14f", conflict: "#e15759", none: "#dde1e6" };
const SOURCE_NAMES: Partial<Record<Schemas["ConfidenceHistogram"]["source"], string>> = {
  heuristic: "heuristics",
  weak_supervision: "weak supervision",
  model: "models",
};

export function Overview() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <OverviewView project={data} />}
    </QueryView>
  );
}

function OverviewView({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const first = project.tasks[0];
  if (!first) {
    return (
      <div className="overview">
        <div className="page-head">
          <h1>Overview</h1>
        </div>
        <NoTasks
          project={project}
          why="The overview shows label statistics per labeling task, and this project has none. Add a task (classification, multi-label or extraction) in the settings."
        />
      </div>
    );
  }
  // A hand-edited URL naming no task of the project shows the first one.
  const task = project.tasks.find((t) => t.name === params.get("task")) ?? first;
  const slice = params.get("slice") || undefined;
  const choose = (next: { task?: string; slice?: string }) => {
    const search = new URLSearchParams();
    search.set("task", next.task ?? task.name);
    const nextSlice = "slice" in next ? next.slice : slice;
    if (nextSlice) search.set("slice", nextSlice);
    setParams(search);
  };
  return (
    <div className="overview">
      <div className="page-head">
        <h1>Overview</h1>
        <Scope project={project} task={task} slice={slice} choose={choose} />
      </div>
      <TaskOverview project={project.name} task={task} slice={slice} />
    </div>
  );
}

function Scope({
  project,
  task,
  slice,
  choose,
}: {
  project: Project;
  task: Task;
  slice: string | undefined;
  choose: (next: { task?: string; slice?: string }) => void;
}) {
  const slices = useSlices(project.name);
  const known = slices.data?.some((s) => s.name === slice) ?? false;
  return (
    <div className="overview-scope">
      <label>
        Task
        <TaskSelect
          tasks={project.tasks}
          value={task.name}
          onChange={(name) => choose({ task: name })}
        />
      </label>
      <label>
        Slice
        <select
          value={slice ?? ""}
          onChange={(event) => choose({ slice: event.target.value || undefined })}
        >
          <option value="">All records</option>
          {slices.data?.map((s) => (
            <option key={s.id} value={s.name}>
              {s.name} ({formatNumber(s.records)})
            </option>
          ))}
          {slice && !known && <option value={slice}>{slice}</option>}
        </select>
      </label>
      <InlineError error={slices.error} />
    </div>
  );
}

function TaskOverview({ project, task, slice }: { project: string; task: Task; slice: string | undefined }) {
  const statistics = useStatistics(project, task.name, slice);
  return (
    <QueryView query={statistics} what="Counting labels">
      {(stats) => <Charts project={project} task={task} slice={slice} stats={stats} />}
    </QueryView>
  );
}

/** Links into the labeling suite and the data browser, on this slice. */
function linksFor(project: string, slice: string | undefined) {
  const at = (page: "labeling" | "browser", where?: Selection["where"]) =>
    projectPath(project, page, selectionParams({ where, slice }));
  return {
    labeling: (where?: Selection["where"]) => at("labeling", where),
    browser: (where?: Selection["where"]) => at("browser", where),
  };
}

function Charts({
  project,
  task,
  slice,
  stats,
}: {
  project: string;
  task: Task;
  slice: string | undefined;
  stats: Statistics;
}) {
  const links = linksFor(project, slice);
  const scope = slice ? `slice “${slice}”` : "this project";
  if (stats.records === 0) {
    return (
      <Empty
        title="No records here"
        why={
          slice
            ? `The slice “${slice}” holds no records now, so there is nothing to count.`
            : "This project has no records yet: import a file to add some."
        }
      >
        <Link to={links.browser()}>Open the data browser</Link>
      </Empty>
    );
  }
  const unlabeled = { task: task.name, state: "none" };
  const noManual = stats.progress.gold + stats.progress.agreed + stats.progress.conflict === 0;
  const weakColumn = `${task.attribute ?? ""}__${task.name}__WEAK_SUPERVISION`;
  const noWeak = (
    <Empty
      title="No weak supervision yet"
      why={
        <>
          No record of {scope} has a weakly supervised label for this task. Weak supervision
          combines the votes of heuristics into one label with a confidence per record; run it
          once heuristics exist, or import a <code>{weakColumn}</code> column with its{" "}
          <code>__confidence</code>.
        </>
      }
    />
  );
  const noManualLabels = (
    <Empty
      title="No manual labels yet"
      why={`Nobody has labeled a record of ${scope} for “${task.name}”. Label records in the labeling suite: each record's reference label counts here.`}
    >
      <Link to={links.labeling(unlabeled)}>Open the labeling suite</Link>
    </Empty>
  );
  return (
    <>
      <Summary stats={stats} links={links} />
      <div className="overview-grid">
        <Panel id="progress" title="Manual labeling progress">
          {noManual ? (
            noManualLabels
          ) : (
            <>
              <StackedBar
                title={`Reference label state of ${formatNumber(stats.records)} records`}
                parts={[
                  { name: "gold", value: stats.progress.gold, color: STATE_COLORS.gold },
                  { name: "agreed", value: stats.progress.agreed, color: STATE_COLORS.agreed },
                  { name: "conflict", value: stats.progress.conflict, color: STATE_COLORS.conflict },
                  { name: "no manual label", value: stats.progress.none, color: STATE_COLORS.none },
                ]}
              />
              <p className="muted">
                {formatNumber(stats.progress.labeled)} of {formatNumber(stats.records)} records
                have a reference label ({percent(stats.progress.labeled, stats.records)}).{" "}
                {stats.progress.none > 0 && <Link to={links.labeling(unlabeled)}>Label the rest</Link>}
              </p>
            </>
          )}
        </Panel>
        <Panel id="distribution" title="Label distribution">
          <Distribution task={task} stats={stats} scope={scope} links={links} />
        </Panel>
        <Panel id="confidence" title="Confidence of weak supervision">
          <Confidences stats={stats} noWeak={noWeak} />
        </Panel>
        <Panel id="confusion" title="Manual vs weakly supervised">
          <Confusion task={task} stats={stats} links={links} />
        </Panel>
        <Panel id="annotators" title="Annotators">
          {stats.annotators.length === 0 ? (
            noManual ? (
              <Missing manual weak={false} stats={stats} links={links} task={task} />
            ) : (
              <Empty
                title="Only gold labels"
                why="Every manual label here is a gold label, and gold labels are nobody's vote."
              />
            )
          ) : (
            <BarChart
              title="Records labeled per annotator"
              rows={stats.annotators.map((a) => ({ label: a.annotator, values: [a.records] }))}
              series={[{ name: "records", color: MANUAL_COLOR }]}
            />
          )}
        </Panel>
        <Panel id="agreement" title="Agreement between annotators">
          <AgreementView stats={stats} links={links} task={task} />
        </Panel>
      </div>
    </>
  );
}

function Panel({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="panel overview-panel" aria-labelledby={`panel-${id}-title`} data-testid={`panel-${id}`}>
      <h2 id={`panel-${id}-title`}>{title}</h2>
      {children}
    </section>
  );
}

function Summary({ stats, links }: { stats: Statistics; links: ReturnType<typeof linksFor> }) {
  const conflicts = stats.conflicts.count;
  return (
    <div className="overview-summary" data-testid="summary">
      <span>
        <strong>{formatNumber(stats.records)}</strong> records
      </span>
      <span>
        <strong>{formatNumber(stats.progress.labeled)}</strong> with a manual label
      </span>
      <span>
        <strong>{formatNumber(stats.weakly_supervised)}</strong> weakly supervised
      </span>
      {conflicts > 0 ? (
        <Link className="overview-conflicts" data-testid="conflicts" to={links.labeling(stats.conflicts.where)}>
          {formatNumber(conflicts)} {conflicts === 1 ? "conflict" : "conflicts"} to resolve
        </Link>
      ) : (
        <span className="muted">no conflicts</span>
      )}
    </div>
  );
}

/** Why a chart is empty and what to do: no manual reference label (none given, or all in
 * conflict), no weak supervision, or both. */
function Missing({
  manual,
  weak,
  stats,
  links,
  task,
}: {
  manual: boolean;
  weak: boolean;
  stats: Statistics;
  links: ReturnType<typeof linksFor>;
  task: Task;
}) {
  const conflicts = stats.progress.conflict;
  const manualTitle = conflicts > 0 ? "No reference labels yet" : "No manual labels yet";
  const title = manual && weak ? "No labels yet" : manual ? manualTitle : "No weak supervision yet";
  const manualWhy =
    conflicts > 0
      ? `${manualTitle}: the ${formatNumber(conflicts)} records labeled by hand are in conflict (annotators disagree and no gold label decides); resolve them in the labeling suite.`
      : `${manualTitle}: label records in the labeling suite.`;
  const weakWhy = "No weak supervision yet: this fills once records have weakly supervised labels.";
  const why = manual && weak ? `${manualWhy} ${weakWhy}` : manual ? manualWhy : weakWhy;
  return (
    <Empty title={title} why={why}>
      {manual &&
        (conflicts > 0 ? (
          <Link to={links.labeling(stats.conflicts.where)}>Resolve the conflicts</Link>
        ) : (
          <Link to={links.labeling({ task: task.name, state: "none" })}>Open the labeling suite</Link>
        ))}
    </Empty>
  );
}

function Distribution({
  task,
  stats,
  scope,
  links,
}: {
  task: Task;
  stats: Statistics;
  scope: string;
  links: ReturnType<typeof linksFor>;
}) {
  const manual = stats.distribution.reduce((sum, row) => sum + row.manual, 0);
  const weak = stats.distribution.reduce((sum, row) => sum + row.weak_supervision, 0);
  if (stats.distribution.length === 0) {
    return (
      <Empty
        title="No labels defined"
        why={`The task “${task.name}” has no labels yet: add some in the settings.`}
      />
    );
  }
  if (manual === 0 && weak === 0) {
    return <Missing manual weak stats={stats} links={links} task={task} />;
  }
  const unit = stats.distribution_unit;
  return (
    <>
      <BarChart
        title={`${unit === "spans" ? "Spans" : "Records"} per label of ${scope}`}
        rows={stats.distribution.map((row) => ({
          label: row.label,
          values: [row.manual, row.weak_supervision],
        }))}
        series={[
          { name: "manual", color: MANUAL_COLOR },
          { name: "weakly supervised", color: WEAK_COLOR },
        ]}
      />
      <p className="muted">
        Counts {unit === "spans" ? "spans" : "records"}; manual counts the reference label only
        (records in conflict count nowhere).
        {manual === 0 &&
          (stats.progress.conflict > 0
            ? " No reference labels yet: the records labeled by hand are in conflict."
            : " No manual labels yet.")}
        {weak === 0 && " No weak supervision yet."}
      </p>
    </>
  );
}

function Confidences({ stats, noWeak }: { stats: Statistics; noWeak: ReactNode }) {
  const histograms = stats.confidence.filter(
    (h) => h.source === "weak_supervision" || h.bins.some((n) => n > 0),
  );
  return (
    <>
      {histograms.map((h) => {
        const total = h.bins.reduce((a, b) => a + b, 0);
        const name = SOURCE_NAMES[h.source] ?? h.source;
        if (total === 0) {
          return h.without_confidence > 0 ? (
            <Empty
              key={h.source}
              title="No confidences"
              why={`${formatNumber(h.without_confidence)} labels from ${name} carry no confidence, so there is nothing to plot.`}
            />
          ) : (
            <div key={h.source}>{noWeak}</div>
          );
        }
        return (
          <div key={h.source} className="overview-histogram">
            {histograms.length > 1 && <h3>{name}</h3>}
            <Histogram
              title={`Confidence of labels from ${name}`}
              bins={h.bins}
              color={h.source === "weak_supervision" ? WEAK_COLOR : "#76b7b2"}
              unit="labels"
            />
            {h.without_confidence > 0 && (
              <p className="muted">{formatNumber(h.without_confidence)} more without a confidence.</p>
            )}
          </div>
        );
      })}
    </>
  );
}

function Confusion({
  task,
  stats,
  links,
}: {
  task: Task;
  stats: Statistics;
  links: ReturnType<typeof linksFor>;
}) {
  const matrix = stats.confusion;
  if (!matrix) {
    return (
      <Empty
        title="Not available for this task"
        why={`“${task.name}” is a ${task.type} task: its values are sets (of labels or spans), so a record has no single cell in a matrix. The label distribution compares manual and weakly supervised labels per label instead.`}
      />
    );
  }
  if (matrix.records === 0) {
    const manual = stats.progress.labeled === 0;
    const weak = stats.weakly_supervised === 0;
    if (manual || weak) {
      return <Missing manual={manual} weak={weak} stats={stats} links={links} task={task} />;
    }
    return (
      <Empty
        title="Nothing to compare yet"
        why="No record has both a manual reference label and a weakly supervised one: label some of the weakly supervised records."
      />
    );
  }
  const agree = matrix.counts.reduce((sum, row, i) => sum + (row[i] ?? 0), 0);
  return (
    <>
      <Heatmap
        title="Records by manual and weakly supervised label"
        labels={matrix.labels}
        counts={matrix.counts}
        rowsName="manual"
        columnsName="weakly supervised"
      />
      <p className="muted">
        {formatNumber(matrix.records)} records have both; they agree on {formatNumber(agree)} (
        {percent(agree, matrix.records)}).
      </p>
    </>
  );
}

function fraction(value: number): string {
  return `${(100 * value).toFixed(1)}%`;
}

function AgreementView({
  stats,
  links,
  task,
}: {
  stats: Statistics;
  links: ReturnType<typeof linksFor>;
  task: Task;
}) {
  const agreement = stats.agreement;
  if (stats.annotators.length < 2) {
    return (
      <Empty
        title="Needs two annotators"
        why={`Agreement compares annotators who labeled the same records; ${
          stats.annotators.length === 0 ? "nobody has" : "only one annotator has"
        } labeled here so far. Have a second person label some of the same records (the annotator name is at the top right).`}
      >
        <Link to={links.labeling({ task: task.name, state: "labeled" })}>Label records others labeled</Link>
      </Empty>
    );
  }
  if (agreement.items === 0) {
    return (
      <Empty
        title="No records in common"
        why={`${formatNumber(stats.annotators.length)} annotators have labeled, but never the same record. Agreement needs records labeled by at least two of them.`}
      >
        <Link to={links.labeling({ task: task.name, state: "labeled" })}>Label records others labeled</Link>
      </Empty>
    );
  }
  return (
    <>
      <p className="overview-alpha" data-testid="alpha">
        Krippendorff's alpha:{" "}
        <strong>{agreement.alpha === null ? "undefined" : agreement.alpha.toFixed(3)}</strong>{" "}
        <span className="muted">
          over {formatNumber(agreement.items)} records labeled by two or more of{" "}
          {formatNumber(agreement.annotators.length)} annotators
          {agreement.alpha === null && " (every value is the same, so there is no chance disagreement to compare with)"}
        </span>
      </p>
      <div className="table-scroll">
        <table className="table" data-testid="agreement-pairs">
          <caption className="visually-hidden">Agreement per pair of annotators</caption>
          <thead>
            <tr>
              <th scope="col">Annotators</th>
              <th scope="col" className="num">
                Records in common
              </th>
              <th scope="col" className="num">
                Agreement
              </th>
              <th scope="col" className="num">
                Cohen's kappa
              </th>
            </tr>
          </thead>
          <tbody>
            {agreement.pairs.map((pair) => (
              <tr key={`${pair.annotator_a}\u0000${pair.annotator_b}`}>
                <th scope="row" className="cell">
                  <span dir="auto">{pair.annotator_a}</span> &amp; <span dir="auto">{pair.annotator_b}</span>
                </th>
                <td className="num">{formatNumber(pair.items)}</td>
                <td className="num agreement-cell">
                  <span className="agreement-meter" aria-hidden="true">
                    <span style={{ width: fraction(pair.percent_agreement) }} />
                  </span>
                  {fraction(pair.percent_agreement)}
                </td>
                <td className="num" title={pair.kappa === null ? "undefined: both gave one and the same value throughout" : undefined}>
                  {pair.kappa === null ? "undefined" : pair.kappa.toFixed(2)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted">
        Gold labels are not counted: they resolve disagreements. Kappa and alpha discount the
        agreement expected by chance (1: perfect, 0: chance level).
      </p>
    </>
  );
}
