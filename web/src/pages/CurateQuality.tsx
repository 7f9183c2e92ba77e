// Curate → Label quality: check a task's labels (a job), then its ranked lists, one tab each:
// suspected label errors, manual labels the weak label contradicts with confidence, and
// records annotators disagree on. Each list is a static slice in its rank order; "Review in
// labeling" opens the labeling session on it, where `k` keeps a label and a label's key
// changes it. The URL holds the task (`task`) and the list (`list`).
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { Project, Task } from "../api/client";
import {
  PAGE_SIZE,
  QUALITY_LISTS,
  useCheckQuality,
  useQualityFindings,
  type QualityList,
  type QualityPage,
} from "../api/curation";
import { modelTasks } from "../api/models";
import { useJobs } from "../components/Jobs";
import { InlineError, Loading } from "../components/States";
import { NoTasks, TaskSelect } from "../components/Tasks";
import { formatNumber, formatTime, recordName } from "../format";
import { projectPath, selectionParams, sliceOrder } from "../routes";
import { FIRST_PAGE, nextPage, previousPage, snippet } from "./curate";
import { EmbeddingSelect, LabelValue, Pager, ResultError } from "./CurateParts";
import { rememberHotkeyTask } from "./labelingSession";

const ABOUT: Record<QualityList, string> = {
  label_error:
    "Manual labels that the out-of-fold probabilities and the embedding's neighbours both " +
    "doubt, most suspect first; the suggestion is the label they point to.",
  weak_disagreement:
    "Manual labels that the weak-supervision label contradicts with high confidence; the " +
    "suggestion is the weak label, the score its confidence.",
  annotator_disagreement:
    "Records whose annotators gave different labels; the given label is the reference (none " +
    "while they conflict).",
};

function readList(raw: string | null): QualityList {
  return QUALITY_LISTS.find(([list]) => list === raw)?.[0] ?? "label_error";
}

export function CurateQuality({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const tasks = modelTasks(project);
  const first = tasks[0];
  if (!first) {
    return (
      <NoTasks
        project={project}
        why="Label quality is checked for a classification task, and this project has none."
      />
    );
  }
  const task = tasks.find((t) => t.name === params.get("task")) ?? first;
  const list = readList(params.get("list"));
  const open = (next: { task?: string; list?: QualityList }) =>
    setParams(
      new URLSearchParams({
        view: "quality",
        task: next.task ?? task.name,
        list: next.list ?? list,
      }),
    );
  return (
    <>
      <CheckForm
        key={task.name}
        project={project}
        tasks={tasks}
        task={task}
        onTask={(name) => open({ task: name })}
      />
      <Lists
        key={`${task.name} ${list}`}
        project={project}
        task={task}
        list={list}
        onList={(next) => open({ list: next })}
      />
    </>
  );
}

function CheckForm({
  project,
  tasks,
  task,
  onTask,
}: {
  project: Project;
  tasks: Task[];
  task: Task;
  onTask: (name: string) => void;
}) {
  const [embedding, setEmbedding] = useState("");
  const [folds, setFolds] = useState("5");
  const [neighbours, setNeighbours] = useState("10");
  const [weak, setWeak] = useState("0.8");
  const { track } = useJobs();
  const check = useCheckQuality(project.name, task.name, (job) =>
    track(job, `Check the labels of ${task.name}`),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    check.mutate({
      embedding: embedding || null,
      folds: Number(folds) || 5,
      neighbours: Number(neighbours) || 10,
      weak_threshold: Number(weak) || 0.8,
    });
  };
  return (
    <section className="panel" aria-labelledby="quality-heading">
      <h2 id="quality-heading">Label quality</h2>
      <p className="muted">
        Ranks the manual labels most likely wrong, from a classifier's out-of-fold probabilities
        on the embedding and the labels of each record's neighbours; and where weak and manual
        labels, or annotators, disagree.
      </p>
      <form className="form-row" onSubmit={submit} aria-label="Check labels">
        <label>
          Task
          <TaskSelect tasks={tasks} value={task.name} onChange={onTask} />
        </label>
        <EmbeddingSelect project={project.name} value={embedding} onChange={setEmbedding} />
        <label title="Folds of the out-of-fold probabilities">
          Folds
          <input
            type="number"
            min={2}
            max={20}
            className="short"
            value={folds}
            onChange={(event) => setFolds(event.target.value)}
          />
        </label>
        <label title="Neighbours whose labels the kNN agreement reads">
          Neighbours
          <input
            type="number"
            min={1}
            max={100}
            className="short"
            value={neighbours}
            onChange={(event) => setNeighbours(event.target.value)}
          />
        </label>
        <label title="Manual vs weak: the least weak-label confidence that counts">
          Weak confidence
          <input
            type="number"
            min={0}
            max={1}
            step="any"
            className="short"
            value={weak}
            onChange={(event) => setWeak(event.target.value)}
          />
        </label>
        <button type="submit" className="primary" disabled={check.isPending}>
          Run check
        </button>
      </form>
      <InlineError error={check.error} />
    </section>
  );
}

function Lists({
  project,
  task,
  list,
  onList,
}: {
  project: Project;
  task: Task;
  list: QualityList;
  onList: (list: QualityList) => void;
}) {
  const [pages, setPages] = useState(FIRST_PAGE);
  const found = useQualityFindings(project.name, task.name, list, pages.cursor);
  // The first page of each list, for the counts on the tabs (the one shown is among them).
  const counts = {
    label_error: useQualityFindings(project.name, task.name, "label_error", null).data?.total,
    weak_disagreement: useQualityFindings(project.name, task.name, "weak_disagreement", null)
      .data?.total,
    annotator_disagreement: useQualityFindings(
      project.name,
      task.name,
      "annotator_disagreement",
      null,
    ).data?.total,
  };
  if (found.isPending) return <Loading what="Loading the findings" />;
  if (found.isError) {
    return (
      <ResultError
        error={found.error}
        title={`No check of ${task.name} yet`}
        why="Run the check above; its ranked lists show here."
        retry={() => void found.refetch()}
      />
    );
  }
  const page = found.data;
  return (
    <section className="panel" aria-label="Findings" data-testid="quality-lists">
      <div className="curate-list-tabs" role="tablist" aria-label="Lists">
        {QUALITY_LISTS.map(([name, text]) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={name === list}
            className={name === list ? "tab active" : "tab"}
            onClick={() => onList(name)}
          >
            {text}
            {counts[name] !== undefined && (
              <span className="badge" data-testid={`count-${name}`}>
                {formatNumber(counts[name])}
              </span>
            )}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={QUALITY_LISTS.find(([name]) => name === list)?.[1]}>
        <div className="section-head">
          <p className="muted">{ABOUT[list]}</p>
          <ReviewLink project={project} task={task} page={page} />
        </div>
        <p className="muted">
          Checked {page.run.finished_at ? formatTime(page.run.finished_at) : "—"}
          {page.run.reused && " (the stored result: the labels had not changed)"}
        </p>
        {page.total === 0 ? (
          <p data-testid="no-findings">Nothing in this list: no record to review here.</p>
        ) : (
          <>
            <Findings project={project} task={task} page={page} first={pages.before.length} />
            <Pager
              pages={pages}
              shown={page.findings.length}
              total={page.total}
              size={PAGE_SIZE}
              next={page.next_cursor}
              what="findings"
              onPrevious={() => setPages(previousPage)}
              onNext={(cursor) => setPages((old) => nextPage(old, cursor))}
            />
          </>
        )}
      </div>
    </section>
  );
}

function ReviewLink({ project, task, page }: { project: Project; task: Task; page: QualityPage }) {
  if (page.total === 0) return null;
  const session = projectPath(
    project.name,
    "labeling",
    selectionParams({ slice: page.slice, order: sliceOrder(page.slice) }),
  );
  return (
    <Link
      className="button primary"
      to={session}
      onClick={() => rememberHotkeyTask(window.localStorage, project.name, task.name)}
      title="k keeps a label and moves on; a label's key changes it"
    >
      Review in labeling
    </Link>
  );
}

function Findings({
  project,
  task,
  page,
  first,
}: {
  project: Project;
  task: Task;
  page: QualityPage;
  first: number;
}) {
  return (
    <div className="table-scroll">
      <table className="table" data-testid="findings">
        <thead>
          <tr>
            <th className="num">Rank</th>
            <th>Record</th>
            <th>Text</th>
            <th>Given</th>
            <th>Suggested</th>
            <th className="num">Score</th>
          </tr>
        </thead>
        <tbody>
          {page.findings.map((finding) => (
            <tr key={`${first} ${finding.id}`} data-record={finding.id}>
              <td className="num">{formatNumber(finding.rank)}</td>
              <td className="nowrap">{recordName(project, finding)}</td>
              <td className="cell" dir="auto">
                {snippet(project, finding.data)}
              </td>
              <td data-stat="given">
                <LabelValue value={finding.given} task={task} />
              </td>
              <td data-stat="suggested">
                <LabelValue value={finding.suggested} task={task} />
              </td>
              <td className="num">{finding.score.toFixed(3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
