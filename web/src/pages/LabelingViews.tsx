// The labeling page's view parts: the session's head (what it lists, where it stands, moves),
// the end and empty states, the record with its task panels, the annotator prompt and the
// settings panel (the record itself: LabelingRecord.tsx). State and actions come from
// labelingHooks.ts.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { Project, RecordDetail } from "../api/client";
import { useAnnotator } from "../annotator";
import { Empty, InlineError } from "../components/States";
import { formatNumber } from "../format";
import { projectPath, selectionParams, type Selection } from "../routes";
import { LabelsBeside, TaskPanel } from "./LabelingPanels";
import { RecordView } from "./LabelingRecord";
import type { Labeling } from "./labelingHooks";
import { describe, positionText, type LabelingSettings } from "./labelingSession";

/** The session's title (what it lists, with links) and its navigation. */
export function SessionHead({
  project,
  selection,
  similarTo,
  id,
  index,
  total,
  done,
  step,
  showSimilar,
  onSimilar,
  showSettings,
  onSettings,
}: {
  project: string;
  selection: Selection;
  similarTo: string | undefined;
  id: number | undefined;
  index: number;
  total: number | undefined;
  done: number;
  step: (delta: number) => void;
  showSimilar: boolean;
  onSimilar: () => void;
  showSettings: boolean;
  onSettings: () => void;
}) {
  const atEnd = total !== undefined && index >= total;
  return (
    <div className="page-head lab-head">
      <div className="lab-title">
        <h1>Labeling</h1>
        <span className="muted">
          {describe(selection, similarTo)} ·{" "}
          <Link to={projectPath(project, "browser", selectionParams(selection))}>
            open in the data browser
          </Link>
          {id !== undefined && (
            <>
              {" · "}
              <Link to={projectPath(project, "ide", new URLSearchParams({ record: String(id) }))}>
                Record IDE
              </Link>
              {" · "}
              <button
                type="button"
                className="link"
                aria-expanded={showSimilar}
                onClick={onSimilar}
              >
                Similar records
              </button>
            </>
          )}
        </span>
      </div>
      <nav className="lab-nav" aria-label="Session">
        <button
          type="button"
          onClick={() => step(-1)}
          disabled={index === 0}
          aria-keyshortcuts="ArrowLeft"
        >
          ← Previous
        </button>
        <div className="lab-progress">
          <span data-testid="position">{positionText(index, total)}</span>
          <progress
            max={Math.max(total ?? 1, 1)}
            value={total ? Math.min(index + 1, total) : 0}
            aria-label="Position in the session"
          />
          <span className="muted" data-testid="done">
            {formatNumber(done)} labeled in this session
          </span>
        </div>
        <button
          type="button"
          onClick={() => step(1)}
          disabled={total === undefined || atEnd}
          aria-keyshortcuts="ArrowRight"
        >
          Next →
        </button>
        <button
          type="button"
          aria-expanded={showSettings}
          aria-controls="labeling-settings"
          onClick={onSettings}
        >
          Settings
        </button>
      </nav>
    </div>
  );
}

export function NoRecords({ project, selection }: { project: string; selection: Selection }) {
  return (
    <Empty
      title="No record in this selection"
      why="The filter or slice of this session matches no record: there is nothing to label."
    >
      <Link to={projectPath(project, "browser", selectionParams(selection))}>
        Change the selection in the data browser
      </Link>
      <Link to={projectPath(project, "labeling")}>Label every record</Link>
    </Empty>
  );
}

export function SessionEnd({
  project,
  selection,
  total,
  done,
  go,
}: {
  project: string;
  selection: Selection;
  total: number;
  done: number;
  go: (index: number) => void;
}) {
  return (
    <Empty
      title="End of the session"
      why={
        `You went through all ${formatNumber(total)} records of this session; ` +
        `${formatNumber(done)} of them were labeled here.`
      }
    >
      <button type="button" onClick={() => go(total - 1)}>
        Back to the last record
      </button>
      <button type="button" onClick={() => go(0)}>
        Start over
      </button>
      <Link to={projectPath(project, "browser", selectionParams(selection))}>
        Go to the data browser
      </Link>
    </Empty>
  );
}

/** The record with its text selection, the hotkeys' task and gold choice, the task panels and
 * the labels of every source beside. */
export function RecordPane({
  project,
  record,
  labeling,
  annotator,
  gold,
  onGold,
  settings,
  updateSettings,
}: {
  project: Project;
  record: RecordDetail;
  labeling: Labeling;
  annotator: string;
  gold: boolean;
  onGold: (gold: boolean) => void;
  settings: LabelingSettings;
  updateSettings: (change: Partial<LabelingSettings>) => void;
}) {
  const { activeTask, selected } = labeling;
  const tasks = project.tasks;
  return (
    <div className="lab-grid">
      <div className="lab-main">
        <RecordView
          record={record}
          project={project}
          settings={settings}
          annotator={annotator}
          gold={gold}
          selection={selected}
          highlight={labeling.highlight}
          onSelect={labeling.onSelect}
        />
        <div className="lab-toolbar">
          <div className="lab-task-choice" role="group" aria-label="Hotkeys label the task">
            <span className="muted">Hotkeys label</span>
            {tasks.map((task) => (
              <button
                key={task.id}
                type="button"
                aria-pressed={task.id === activeTask.id}
                onClick={() => updateSettings({ task: task.name })}
              >
                {task.name}
              </button>
            ))}
          </div>
          <label className="lab-gold" title="Labels given now are the gold labels">
            <input
              type="checkbox"
              checked={gold}
              onChange={(event) => onGold(event.target.checked)}
            />
            Gold
          </label>
        </div>
        {labeling.notice && (
          <p className="lab-notice" role="status">
            {labeling.notice}
          </p>
        )}
        <InlineError error={labeling.lastError} />
        {tasks.map((task) => (
          <TaskPanel
            key={task.id}
            task={task}
            labels={record.labels[task.name]}
            record={record}
            annotator={annotator}
            gold={gold}
            active={task.id === activeTask.id}
            canLabel={labeling.canLabel}
            selection={selected?.attribute === task.attribute ? selected.range : null}
            attributeHidden={!!task.attribute && settings.hidden.includes(task.attribute)}
            onActivate={() => {
              if (task.id !== activeTask.id) updateSettings({ task: task.name });
            }}
            onChoose={(label) => labeling.choose(task, label)}
            onRemove={(annotation) => labeling.remove(task, annotation)}
            onClearSelection={labeling.clearSelection}
            highlight={labeling.setHighlight}
          />
        ))}
        <p className="muted lab-keys">
          <kbd>←</kbd> <kbd>→</kbd> move · a label's key labels the task chosen for hotkeys ·
          <kbd>k</kbd> keeps its manual label and moves on ·
          in a text: select words with the mouse, or focus it and use <kbd>Shift</kbd>+
          <kbd>→</kbd> · <kbd>Esc</kbd> clears the selection
        </p>
      </div>
      <LabelsBeside
        record={record}
        tasks={tasks}
        annotator={annotator}
        highlight={labeling.setHighlight}
      />
    </div>
  );
}

export function AnnotatorPrompt() {
  const [, setAnnotator] = useAnnotator();
  const [draft, setDraft] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft.trim()) setAnnotator(draft.trim());
  };
  return (
    <form className="panel lab-annotator" aria-label="Annotator" onSubmit={submit}>
      <p>
        <strong>Who is labeling?</strong> Labels are stored with the annotator's name. It is asked
        once and kept in this browser (change it in the top bar).
      </p>
      <div className="form-row">
        <label>
          Your name
          <input value={draft} onChange={(event) => setDraft(event.target.value)} autoFocus />
        </label>
        <button type="submit" className="primary" disabled={!draft.trim()}>
          Start labeling
        </button>
      </div>
    </form>
  );
}

export function SettingsPanel({
  project,
  settings,
  update,
}: {
  project: Project;
  settings: LabelingSettings;
  update: (change: Partial<LabelingSettings>) => void;
}) {
  const toggle = (attribute: string, shown: boolean) =>
    update({
      hidden: shown
        ? settings.hidden.filter((name) => name !== attribute)
        : [...settings.hidden, attribute],
    });
  return (
    <section id="labeling-settings" className="panel lab-settings" aria-label="Labeling settings">
      <h2>Settings</h2>
      <p className="muted">Kept in this browser.</p>
      <label className="lab-check">
        <input
          type="checkbox"
          checked={settings.autoNext}
          onChange={(event) => update({ autoNext: event.target.checked })}
        />
        Move to the next record after a classification label
      </label>
      <label className="lab-check">
        <input
          type="checkbox"
          checked={settings.otherSpans}
          onChange={(event) => update({ otherSpans: event.target.checked })}
        />
        Draw other annotators' and sources' spans on the text (dashed)
      </label>
      <fieldset className="lab-shown">
        <legend>Attributes shown</legend>
        {project.attributes.map((attribute) => (
          <label key={attribute.name} className="lab-check">
            <input
              type="checkbox"
              checked={!settings.hidden.includes(attribute.name)}
              onChange={(event) => toggle(attribute.name, event.target.checked)}
            />
            {attribute.name}
          </label>
        ))}
      </fieldset>
    </section>
  );
}
