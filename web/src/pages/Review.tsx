// The review queue of one task (?task=): the live model's pending predictions, oldest first,
// one at a time, by keyboard. `a` accepts the suggestion, `r` rejects it, `c` then a label's
// hotkey corrects it; an audit item hides the suggestion and a label's hotkey answers it
// blind. Accepted and corrected labels become the reviewer's manual labels.
import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type { Project, Task } from "../api/client";
import { useAnnotator } from "../annotator";
import {
  modelTasks,
  usePendingPredictions,
  useReviewPrediction,
  type Prediction,
  type Review as ReviewChange,
} from "../api/models";
import { useProject } from "../api/projects";
import { Empty, InlineError, Loading, QueryView } from "../components/States";
import { NoTasks, TaskSelect } from "../components/Tasks";
import { formatNumber, formatTime } from "../format";
import { useShortcuts } from "../keys";
import { projectPath } from "../routes";
import { LabelButtons, LabelChip } from "./LabelingPanels";
import {
  answering,
  chooseLabel,
  reviewKey,
  sendPicked,
  type ReviewState,
  type ReviewStep,
} from "./reviewSession";
import { AnnotatorPrompt } from "./LabelingViews";
import "./Labeling.css";
import "./Models.css";

export function Review() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <ReviewView project={data} />}
    </QueryView>
  );
}

function ReviewView({ project }: { project: Project }) {
  const [params, setParams] = useSearchParams();
  const [rawAnnotator] = useAnnotator();
  const reviewer = rawAnnotator.trim();
  const tasks = modelTasks(project);
  const first = tasks[0];
  if (!first) {
    return (
      <div className="review">
        <h1>Review</h1>
        <NoTasks
          project={project}
          why="Predictions come from a classification or multi-label task's model, and this project has none."
        />
      </div>
    );
  }
  const task = tasks.find((t) => t.name === params.get("task")) ?? first;
  return (
    <div className="review">
      <div className="page-head">
        <h1>Review</h1>
        <label className="inline-choice">
          Task
          <TaskSelect
            tasks={tasks}
            value={task.name}
            onChange={(name) => setParams(new URLSearchParams({ task: name }))}
          />
        </label>
        <Link
          className="button"
          to={`${projectPath(project.name, "models")}?task=${encodeURIComponent(task.name)}`}
        >
          Models
        </Link>
      </div>
      {!reviewer && <AnnotatorPrompt />}
      <Queue key={task.name} project={project} task={task} reviewer={reviewer} />
    </div>
  );
}

/** The last review given here, and whether the server has stored it yet. */
interface Last {
  id: string;
  action: string;
  label: string | string[] | null;
  saved: boolean;
}

function Queue({ project, task, reviewer }: { project: Project; task: Task; reviewer: string }) {
  const queue = usePendingPredictions(project.name, task.name);
  // Reviewed here and not yet gone from the page read last: skipped, so the next shows at once.
  const [sent, setSent] = useState<Set<string>>(new Set());
  const [correcting, setCorrecting] = useState(false);
  const [picked, setPicked] = useState<string[]>([]);
  const [last, setLast] = useState<Last | null>(null);
  const review = useReviewPrediction(project.name, task.name, reviewer);
  const page = queue.data;
  const items = page?.predictions.filter((p) => !sent.has(p.id)) ?? [];
  const current = items[0];
  const pending = page ? Math.max(0, page.total - (page.predictions.length - items.length)) : 0;
  const state: ReviewState = { audit: !!current?.audit, correcting, picked };

  const send = (change: Omit<ReviewChange, "prediction">) => {
    if (!current) return;
    const id = current.id;
    setSent((old) => new Set(old).add(id));
    setCorrecting(false);
    setPicked([]);
    setLast({ id, action: change.action, label: change.label ?? current.label, saved: false });
    review.mutateAsync({ prediction: id, ...change }).then(
      () => setLast((old) => (old && old.id === id ? { ...old, saved: true } : old)),
      () => {
        // Not stored: back in the queue, with the error shown.
        setLast((old) => (old && old.id === id ? null : old));
        setSent((old) => {
          const next = new Set(old);
          next.delete(id);
          return next;
        });
      },
    );
  };
  /** Does what a key or a button asks (reviewSession.ts); false: nothing to do. */
  const apply = (step: ReviewStep): boolean => {
    if (!step || !current || !reviewer) return false;
    if ("send" in step) {
      send(step.send);
    } else if ("correcting" in step) {
      setCorrecting(step.correcting);
      setPicked([]);
    } else {
      setPicked(step.picked);
    }
    return true;
  };
  useShortcuts((event) => apply(reviewKey(task, state, event.key)));

  if (queue.isPending) return <Loading what="Loading the review queue" />;
  if (queue.isError) return <InlineError error={queue.error} />;
  return (
    <>
      <p className="review-count" data-testid="pending-count">
        {formatNumber(pending)} pending
        {last && (
          <span className="muted" data-testid="last-review">
            {" "}
            · last: {last.action}
            {last.label !== null && ` (${[last.label].flat().join(", ")})`}
            {last.saved ? ", saved" : ", saving…"}
          </span>
        )}
      </p>
      <InlineError error={review.error} />
      {current ? (
        <Item
          key={current.id}
          task={task}
          prediction={current}
          state={state}
          disabled={!reviewer}
          onStep={apply}
        />
      ) : pending > 0 ? (
        <Loading what="Loading the next predictions" />
      ) : (
        <Empty
          title="Nothing to review"
          why={`No prediction of ${task.name} is waiting. Predictions stored with the inputs (predict with store: true) and the audit share of served ones queue here.`}
        >
          <Link to={`${projectPath(project.name, "models")}?task=${encodeURIComponent(task.name)}`}>
            See the models
          </Link>
        </Empty>
      )}
    </>
  );
}

function Item({
  task,
  prediction: p,
  state,
  disabled,
  onStep,
}: {
  task: Task;
  prediction: Prediction;
  state: ReviewState;
  disabled: boolean;
  onStep: (step: ReviewStep) => void;
}) {
  const multi = task.type === "multi-label";
  const suggested = p.label === null ? [] : [p.label].flat();
  const { correcting, picked } = state;
  return (
    <section
      className={`panel review-card${p.audit ? " review-audit" : ""}`}
      aria-label="Prediction to review"
      data-testid="review-item"
      data-prediction={p.id}
      data-audit={p.audit ? "1" : "0"}
    >
      <div className="review-meta muted">
        <span>model version {p.model_version}</span>
        <span>{formatTime(p.created_at)}</span>
        {p.audit && <span className="badge badge-warn">audit</span>}
      </div>
      <div className="lab-text" dir="auto" data-testid="review-text">
        {p.text}
      </div>
      {p.audit ? (
        <p className="muted">
          Audit item: the model's answer is hidden. Pick the right label
          {multi ? "s (their keys, then Enter)" : " (its key)"}; your answers measure the live
          model's accuracy.
        </p>
      ) : (
        <div className="review-suggestion" data-testid="suggestion">
          <span className="muted">Model says</span>
          {suggested.length ? (
            suggested.map((label) => <LabelChip key={label} label={label} task={task} />)
          ) : (
            <span className="muted">no label</span>
          )}
          {p.confidence !== null && (
            <span className="muted">confidence {(100 * p.confidence).toFixed(1)}%</span>
          )}
        </div>
      )}
      {!p.audit && (
        <div className="review-actions">
          <button
            type="button"
            className="primary"
            disabled={disabled}
            onClick={() => onStep({ send: { action: "accept" } })}
          >
            Accept<kbd aria-hidden="true">a</kbd>
          </button>
          <button
            type="button"
            disabled={disabled}
            onClick={() => onStep({ send: { action: "reject" } })}
          >
            Reject<kbd aria-hidden="true">r</kbd>
          </button>
          <button
            type="button"
            aria-pressed={correcting}
            disabled={disabled}
            onClick={() => onStep({ correcting: !correcting })}
          >
            Correct<kbd aria-hidden="true">c</kbd>
          </button>
        </div>
      )}
      <p className="muted lab-keys">
        {p.audit ? (
          <>
            a label's key answers
            {multi && (
              <>
                , <kbd>Enter</kbd> saves the labels
              </>
            )}
          </>
        ) : (
          <>
            <kbd>a</kbd> accept · <kbd>r</kbd> reject · <kbd>c</kbd> then a label's key: correct
            {multi && (
              <>
                {" "}
                (<kbd>Enter</kbd> saves the labels)
              </>
            )}{" "}
            · <kbd>Esc</kbd> cancels
          </>
        )}
      </p>
      {answering(state) && (
        <div aria-label="Labels" role="group">
          <p className="muted">
            {p.audit ? "The right label:" : "The right label (Escape: cancel):"}
          </p>
          <LabelButtons
            task={task}
            disabled={disabled}
            pressed={(label) => picked.includes(label)}
            onChoose={(label) => onStep(chooseLabel(task, state, label))}
          />
          {multi && (
            <button
              type="button"
              className="primary"
              disabled={disabled || picked.length === 0}
              onClick={() => onStep(sendPicked(task, state))}
            >
              Save {picked.length} label(s)<kbd aria-hidden="true">Enter</kbd>
            </button>
          )}
        </div>
      )}
    </section>
  );
}
