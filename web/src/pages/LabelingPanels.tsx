// The parts of the labeling page: a task's label buttons, and the record's labels from every
// source shown beside.
import { useState, type CSSProperties } from "react";
import type { Annotation, Label, RecordDetail, Task, TaskLabels } from "../api/client";
import { safeColor, type Token, type TokenRange } from "../components/SpanText";
import { isMine } from "./labelingSession";

/** Above this many labels a task gets a filter box. */
const FILTER_FROM = 12;

export function spanText(text: unknown, tokens: Token[] | undefined, start: number, end: number) {
  if (typeof text !== "string" || !tokens || start < 0 || end > tokens.length || end <= start) {
    return `tokens ${start}–${end}`;
  }
  return text.slice(tokens[start]!.start, tokens[end - 1]!.end);
}

function where(annotation: Annotation): string {
  return `${annotation.start_token ?? ""}-${annotation.end_token ?? ""}`;
}

function colorStyle(label: Label | undefined): CSSProperties {
  return { "--label-color": safeColor(label?.color ?? "") } as CSSProperties;
}

export function LabelChip({ label, task }: { label: string; task: Task }) {
  const found = task.labels.find((candidate) => candidate.name === label);
  return (
    <span className="label-chip" style={colorStyle(found)}>
      <span className="label-swatch" style={{ background: safeColor(found?.color ?? "") }} />
      {label}
    </span>
  );
}

export function LabelButtons({
  task,
  pressed,
  disabled,
  onChoose,
}: {
  task: Task;
  pressed: (label: string) => boolean;
  disabled?: boolean;
  onChoose: (label: string) => void;
}) {
  const [filter, setFilter] = useState("");
  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? task.labels.filter((label) => label.name.toLowerCase().includes(needle))
    : task.labels;
  return (
    <div className="lab-labels">
      {task.labels.length > FILTER_FROM && (
        <input
          type="search"
          className="lab-label-filter"
          placeholder={`Filter ${task.labels.length} labels`}
          aria-label={`Filter the labels of ${task.name}`}
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
        />
      )}
      <div className="lab-label-buttons">
        {shown.map((label) => (
          <button
            key={label.id}
            type="button"
            className="lab-label"
            style={colorStyle(label)}
            aria-pressed={pressed(label.name)}
            aria-keyshortcuts={label.hotkey ?? undefined}
            disabled={disabled}
            onClick={() => onChoose(label.name)}
          >
            <span className="label-swatch" style={{ background: safeColor(label.color) }} />
            <span className="lab-label-name">{label.name}</span>
            {label.hotkey && (
              <kbd aria-hidden="true" title={`hotkey ${label.hotkey}`}>
                {label.hotkey}
              </kbd>
            )}
          </button>
        ))}
        {shown.length === 0 && <span className="muted">No label matches “{filter}”.</span>}
      </div>
    </div>
  );
}

const STATE_TEXT: Record<string, string> = {
  gold: "gold",
  agreed: "agreed",
  conflict: "conflict",
  none: "no manual label",
};

const SOURCE_TEXT: Record<string, string> = {
  manual: "manual",
  heuristic: "heuristic",
  weak_supervision: "weak supervision",
  model: "model",
};

function who(annotation: Annotation, annotator: string): string {
  if (annotation.source === "manual") {
    const name =
      annotation.annotator === annotator ? `${annotation.annotator} (you)` : annotation.annotator;
    return annotation.gold ? `gold, by ${name}` : name;
  }
  const parts = [SOURCE_TEXT[annotation.source] ?? annotation.source];
  // A heuristic by its name: its id is internal.
  const source = annotation.source_name ?? annotation.source_id;
  if (source) parts.push(source);
  return parts.join(" · ");
}

function confidence(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function ReferenceValue({
  task,
  labels,
  record,
}: {
  task: Task;
  labels: TaskLabels;
  record: RecordDetail;
}) {
  const value: unknown = labels.reference.value;
  if (value === null || value === undefined) return null;
  if (typeof value === "string") {
    return (
      <div className="lab-reference">
        <span className="muted">reference</span> <LabelChip label={value} task={task} />
      </div>
    );
  }
  if (!Array.isArray(value)) return null;
  return (
    <div className="lab-reference">
      <span className="muted">reference</span>
      <span className="lab-chips">
      {value.map((item: unknown, index) => {
        if (typeof item === "string") return <LabelChip key={item} label={item} task={task} />;
        const span = item as { label: string; start_token: number; end_token: number };
        return (
          <span key={index} className="lab-span-item">
            <LabelChip label={span.label} task={task} />
            <q dir="auto">
              {spanText(
                record.data[task.attribute ?? ""],
                record.tokens[task.attribute ?? ""],
                span.start_token,
                span.end_token,
              )}
            </q>
          </span>
        );
      })}
      </span>
    </div>
  );
}

/** Every label of the record per task: the reference, then each source's labels. */
export function LabelsBeside({
  record,
  tasks,
  annotator,
  highlight,
}: {
  record: RecordDetail;
  tasks: Task[];
  annotator: string;
  highlight: (key: string | null) => void;
}) {
  return (
    <aside className="lab-beside panel" aria-label="Labels of this record" data-testid="beside">
      <h2>Labels of this record</h2>
      {tasks.map((task) => {
        const labels = record.labels[task.name];
        if (!labels) return null;
        const attribute = task.attribute ?? "";
        return (
          <section key={task.id} className="lab-beside-task" aria-label={`Labels of ${task.name}`}>
            <h3>
              <span className="lab-task-name">{task.name}</span>{" "}
              <span className={`lab-state lab-state-${labels.reference.state}`}>
                {STATE_TEXT[labels.reference.state] ?? labels.reference.state}
              </span>
            </h3>
            <ReferenceValue task={task} labels={labels} record={record} />
            {labels.annotations.length === 0 ? (
              <p className="muted">No label from any source yet.</p>
            ) : (
              <ul className="lab-annotations">
                {labels.annotations.map((annotation) => {
                  const spanned = annotation.start_token !== null && annotation.end_token !== null;
                  const key = `${task.name}:${annotation.id}`;
                  return (
                    <li
                      key={annotation.id}
                      data-source={annotation.source}
                      onMouseEnter={spanned ? () => highlight(key) : undefined}
                      onMouseLeave={spanned ? () => highlight(null) : undefined}
                    >
                      <LabelChip label={annotation.label} task={task} />
                      {spanned && (
                        <q dir="auto">
                          {spanText(
                            record.data[attribute],
                            record.tokens[attribute],
                            annotation.start_token!,
                            annotation.end_token!,
                          )}
                        </q>
                      )}
                      <span className="muted lab-who">
                        {annotation.gold && <span aria-hidden="true">★ </span>}
                        {who(annotation, annotator)}
                        {annotation.confidence !== null &&
                          ` · ${confidence(annotation.confidence)}`}
                      </span>
                    </li>
                  );
                })}
              </ul>
            )}
          </section>
        );
      })}
    </aside>
  );
}

const TYPE_TEXT: Record<string, string> = {
  classification: "one label",
  "multi-label": "any number of labels",
  extraction: "spans",
};

/** One task of the record: its label buttons and the annotator's own labels. */
export function TaskPanel({
  task,
  labels,
  record,
  annotator,
  gold,
  active,
  canLabel,
  selection,
  attributeHidden,
  onActivate,
  onChoose,
  onRemove,
  onClearSelection,
  highlight,
}: {
  task: Task;
  labels: TaskLabels | undefined;
  record: RecordDetail;
  annotator: string;
  gold: boolean;
  active: boolean;
  canLabel: boolean;
  /** the pending text selection on this task's attribute */
  selection: TokenRange | null;
  attributeHidden: boolean;
  onActivate: () => void;
  onChoose: (label: string) => void;
  /** remove one of the annotator's labels, or (null) all of them for this task */
  onRemove: (annotation: Annotation | null) => void;
  onClearSelection: () => void;
  highlight: (key: string | null) => void;
}) {
  const mine = (labels?.annotations ?? []).filter((a) => isMine(a, annotator, gold));
  const names = new Set(mine.map((a) => a.label));
  const extraction = task.type === "extraction";
  const attribute = task.attribute ?? "";
  const whose = gold ? "gold" : "my";
  return (
    <section
      className={`lab-task panel${active ? " active" : ""}`}
      aria-label={`Task ${task.name}`}
      onClick={onActivate}
      onFocus={onActivate}
    >
      <header className="lab-task-head">
        <h3 className="lab-task-name">{task.name}</h3>
        <span className="muted">
          {TYPE_TEXT[task.type] ?? task.type}
          {task.attribute ? ` in ${task.attribute}` : ""}
        </span>
        {active && <span className="lab-hotkeys-badge">hotkeys</span>}
      </header>
      {extraction && (
        <p className="lab-extraction-hint" aria-live="polite">
          {attributeHidden ? (
            <>{attribute} is hidden: show it in the settings to label spans.</>
          ) : selection ? (
            <>
              Selected:{" "}
              <q dir="auto">
                {spanText(
                  record.data[attribute],
                  record.tokens[attribute],
                  selection.start,
                  selection.end,
                )}
              </q>{" "}
              — choose a label.{" "}
              <button type="button" className="link" onClick={onClearSelection}>
                Clear
              </button>
            </>
          ) : (
            <>Select words in {attribute} with the mouse, then choose a label.</>
          )}
        </p>
      )}
      {task.labels.length === 0 ? (
        <p className="muted">This task has no labels yet: add them in the project settings.</p>
      ) : (
        <LabelButtons
          task={task}
          pressed={(label) => !extraction && names.has(label)}
          disabled={!canLabel || (extraction && !selection)}
          onChoose={onChoose}
        />
      )}
      {!extraction && mine.length > 0 && (
        <button type="button" className="link danger" onClick={() => onRemove(null)}>
          Remove {whose} label{task.type === "multi-label" && mine.length > 1 ? "s" : ""}
        </button>
      )}
      {extraction && mine.length > 0 && (
        <ul className="lab-my-spans" aria-label={`${gold ? "Gold" : "My"} spans of ${task.name}`}>
          {mine.map((annotation) => (
            <li
              key={annotation.id}
              onMouseEnter={() => highlight(`${task.name}:${annotation.id}`)}
              onMouseLeave={() => highlight(null)}
            >
              <LabelChip label={annotation.label} task={task} />
              <q dir="auto">
                {spanText(
                  record.data[attribute],
                  record.tokens[attribute],
                  annotation.start_token ?? 0,
                  annotation.end_token ?? 0,
                )}
              </q>
              <button
                type="button"
                className="icon"
                aria-label={`Remove span ${annotation.label} ${where(annotation)}`}
                title="Remove this span"
                onClick={() => onRemove(annotation)}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
