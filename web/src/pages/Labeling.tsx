// Labeling suite: a session is the ordered list of records of a selection (filter, slice,
// order; see routes.ts), walked with the arrows; `i` in the URL is the position. Labels are
// given by click or hotkey (classification, multi-label) or by selecting text (extraction);
// the record's labels from every source are shown beside.
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type FormEvent,
} from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useAnnotate, type AnnotationChange } from "../api/annotations";
import type { Annotation, Attribute, Project, RecordDetail, Task } from "../api/client";
import { useProject } from "../api/projects";
import { useRecord } from "../api/records";
import { useSessionRecord } from "../api/session";
import { useAnnotator } from "../annotator";
import { SpanText, type TextSpan, type TokenRange } from "../components/SpanText";
import { Empty, ErrorState, InlineError, Loading, QueryView } from "../components/States";
import { formatNumber, recordName } from "../format";
import { projectPath, readSelection, selectionParams, type Selection } from "../routes";
import { LabelsBeside, TaskPanel, isMine } from "./LabelingPanels";
import { LabelingSimilar } from "./LabelingSimilar";
import { useDone, useLabelingSettings, type LabelingSettings } from "./labelingSession";
import "./Labeling.css";

export function Labeling() {
  const { project = "" } = useParams();
  const found = useProject(project);
  const [params] = useSearchParams();
  const session = selectionParams(readSelection(params)).toString();
  return (
    <QueryView query={found} what="Loading the project">
      {(data) =>
        data.tasks.length === 0 ? (
          <Empty
            title="Nothing to label yet"
            why={
              `${data.name} has no labeling task. Add a task (classification, multi-label or ` +
              "extraction) with its labels first."
            }
          >
            <Link to={projectPath(data.name, "settings")}>Add a task in the settings</Link>
          </Empty>
        ) : (
          <Session key={session} project={data} session={session} />
        )
      }
    </QueryView>
  );
}

function position(raw: string | null): number {
  const value = Number(raw ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** The index in the address bar now: ahead of the render's while the router renders a move
 * (as a transition). */
function addressIndex(): number {
  return position(new URLSearchParams(window.location.search).get("i"));
}

function describe(selection: Selection, similarName?: string): string {
  if (selection.outliers) {
    return `Outliers of the embedding ${selection.outliers}, most unusual first`;
  }
  if (selection.similar) {
    const narrowed = selection.where || selection.slice ? ", within the filter" : "";
    return `Records most similar to ${similarName ?? "…"}${narrowed}, best first`;
  }
  const which = selection.slice
    ? `Slice “${selection.slice}”${selection.where ? ", filtered" : ""}`
    : selection.where
      ? "Filtered records"
      : "Every record";
  const order =
    !selection.order || selection.order === "id"
      ? `in id order${selection.desc ? ", descending" : ""}`
      : selection.order === "random"
        ? `in random order (seed ${selection.seed ?? 0})`
        : `ordered by ${selection.order}${selection.desc ? ", descending" : ""}`;
  return `${which}, ${order}`;
}

/** True while the user types in a field: hotkeys and arrows are the field's then. */
function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["checkbox", "button", "submit", "reset"].includes(target.type);
  }
  return false;
}

interface Pending {
  record: number;
  attribute: string;
  range: TokenRange;
}

interface Change extends AnnotationChange {
  /** the session's position it was made at */
  index: number;
  /** move on after it is stored */
  next?: boolean;
}

function Session({ project, session }: { project: Project; session: string }) {
  const name = project.name;
  const [params, setParams] = useSearchParams();
  const selection = useMemo(() => readSelection(new URLSearchParams(session)), [session]);
  const index = position(params.get("i"));
  const [rawAnnotator] = useAnnotator();
  const annotator = rawAnnotator.trim();
  const [settings, updateSettings] = useLabelingSettings(name);
  const [gold, setGold] = useState(false);
  const [done, markDone] = useDone(name, session);
  const [showSettings, setShowSettings] = useState(false);
  const [showSimilar, setShowSimilar] = useState(false);
  const { page, id, detail, total } = useSessionRecord(name, selection, index);
  const record = detail.data?.id === id ? detail.data : undefined;
  // The record a "similar" session started from, as users know it (its key), not its id.
  const similarRecord = useRecord(name, selection.similar?.record ?? 0, {
    enabled: selection.similar !== undefined,
    staleTime: 60_000,
  });
  const similarTo = similarRecord.data ? recordName(project, similarRecord.data) : undefined;

  const tasks = project.tasks;
  const activeTask = tasks.find((task) => task.name === settings.task) ?? tasks[0]!;
  // A pending text selection and a notice belong to one record; moving on drops them.
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<{ record: number; text: string } | null>(null);
  const [highlight, setHighlight] = useState<string | null>(null);
  const selected = pending && pending.record === id ? pending : null;

  const go = useCallback(
    (to: number) =>
      setParams((old) => {
        const next = new URLSearchParams(old);
        next.set("i", String(Math.max(0, to)));
        return next;
      }),
    [setParams],
  );

  /** Moves by `delta` from the index in the address bar, not this render's `index`: a key
   * pressed right after a move (or after a label that moved on) may come before the render
   * with the new index. */
  const step = (delta: number) => {
    const to = addressIndex() + delta;
    if (to >= 0 && (total === undefined || to <= total)) go(to);
  };

  const here = useRef(index);
  useLayoutEffect(() => {
    here.current = index;
  });
  const change = useAnnotate<Change>(name, annotator, (c) => {
    if (c.kind === "add") markDone(c.record);
    if (c.next && here.current === c.index) go(c.index + 1);
  });
  const lastError = change.error && change.variables?.record === id ? change.error : null;

  const canLabel = annotator !== "" && record !== undefined;

  const choose = (task: Task, label: string) => {
    if (!record || !annotator) return;
    const labels = record.labels[task.name];
    const mine = (labels?.annotations ?? []).filter((a) => isMine(a, annotator, gold));
    const base = { record: record.id, index, task: task.name, label, gold };
    if (task.type === "extraction") {
      if (!selected || selected.attribute !== task.attribute) {
        setNotice({
          record: record.id,
          text: `Select words in ${task.attribute ?? "the text"} first, then choose the label.`,
        });
        return;
      }
      change.mutate({ ...base, kind: "add", span: selected.range });
      setPending(null);
    } else if (task.type === "multi-label") {
      const has = mine.some((a) => a.label === label);
      change.mutate({ ...base, kind: has ? "remove" : "add" });
    } else {
      change.mutate({ ...base, kind: "add", next: settings.autoNext });
    }
    setNotice(null);
  };

  const remove = (task: Task, annotation: Annotation | null) => {
    if (!record) return;
    change.mutate({
      kind: "remove",
      record: record.id,
      index,
      task: task.name,
      label: annotation?.label ?? null,
      gold: annotation ? annotation.gold : gold,
      span:
        annotation && annotation.start_token !== null && annotation.end_token !== null
          ? { start: annotation.start_token, end: annotation.end_token }
          : null,
    });
  };

  const select = (attribute: string, range: TokenRange | null) => {
    if (id === undefined) return;
    setPending(range ? { record: id, attribute, range } : null);
    setNotice(null);
    // The hotkeys go to an extraction task on the selected text.
    if (range && !(activeTask.type === "extraction" && activeTask.attribute === attribute)) {
      const target = tasks.find((t) => t.type === "extraction" && t.attribute === attribute);
      if (target) updateSettings({ task: target.name });
    }
  };
  // One callback for the page's life: a long text is not drawn again for a new callback.
  const selectHandler = useRef(select);
  const onSelect = useCallback(
    (attribute: string, range: TokenRange | null) => selectHandler.current(attribute, range),
    [],
  );

  // Hotkeys: arrows move, a label's hotkey labels for the task chosen for hotkeys.
  const keyHandler = useRef<(event: KeyboardEvent) => void>(() => undefined);
  const onKey = (event: KeyboardEvent) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    if (event.key === "ArrowRight" && total !== undefined) {
      step(1);
    } else if (event.key === "ArrowLeft") {
      step(-1);
    } else if (event.key === "Escape" && selected) {
      setPending(null);
    } else {
      const label = activeTask.labels.find(
        (candidate) =>
          candidate.hotkey !== null &&
          candidate.hotkey !== "" &&
          candidate.hotkey.toLowerCase() === event.key.toLowerCase(),
      );
      if (!label || !canLabel) return;
      // The address bar has moved on and this render's record is about to go: a label now
      // would land on the record the user has left.
      if (addressIndex() !== index) return;
      choose(activeTask, label.name);
    }
    event.preventDefault();
  };
  useLayoutEffect(() => {
    keyHandler.current = onKey;
    selectHandler.current = select;
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => keyHandler.current(event);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);

  const atEnd = total !== undefined && index >= total;
  return (
    <div className="labeling">
      <div className="page-head lab-head">
        <div className="lab-title">
          <h1>Labeling</h1>
          <span className="muted">
            {describe(selection, similarTo)} ·{" "}
            <Link to={projectPath(name, "browser", selectionParams(selection))}>
              open in the data browser
            </Link>
            {id !== undefined && (
              <>
                {" · "}
                <Link to={projectPath(name, "ide", new URLSearchParams({ record: String(id) }))}>
                  Record IDE
                </Link>
                {" · "}
                <button
                  type="button"
                  className="link"
                  aria-expanded={showSimilar}
                  onClick={() => setShowSimilar((open) => !open)}
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
            <span data-testid="position">
              {total === undefined
                ? "…"
                : total === 0
                  ? "no record"
                  : atEnd
                    ? `end of ${formatNumber(total)} records`
                    : `record ${formatNumber(index + 1)} of ${formatNumber(total)}`}
            </span>
            <progress
              max={Math.max(total ?? 1, 1)}
              value={total ? Math.min(index + 1, total) : 0}
              aria-label="Position in the session"
            />
            <span className="muted" data-testid="done">
              {formatNumber(done.size)} labeled in this session
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
            onClick={() => setShowSettings((open) => !open)}
          >
            Settings
          </button>
        </nav>
      </div>
      {!annotator && <AnnotatorPrompt />}
      {showSettings && (
        <SettingsPanel project={project} settings={settings} update={updateSettings} />
      )}
      {showSimilar && record !== undefined && (
        <LabelingSimilar
          project={project}
          selection={selection}
          record={record.id}
          name={recordName(project, record)}
          onClose={() => setShowSimilar(false)}
        />
      )}
      {page.isPending ? (
        <Loading what="Finding the records of this session" />
      ) : page.isError ? (
        <ErrorState error={page.error} retry={() => void page.refetch()} />
      ) : total === 0 ? (
        <Empty
          title="No record in this selection"
          why="The filter or slice of this session matches no record: there is nothing to label."
        >
          <Link to={projectPath(name, "browser", selectionParams(selection))}>
            Change the selection in the data browser
          </Link>
          <Link to={projectPath(name, "labeling")}>Label every record</Link>
        </Empty>
      ) : atEnd ? (
        <Empty
          title="End of the session"
          why={
            `You went through all ${formatNumber(total ?? 0)} records of this session; ` +
            `${formatNumber(done.size)} of them were labeled here.`
          }
        >
          <button type="button" onClick={() => go((total ?? 1) - 1)}>
            Back to the last record
          </button>
          <button type="button" onClick={() => go(0)}>
            Start over
          </button>
          <Link to={projectPath(name, "browser", selectionParams(selection))}>
            Go to the data browser
          </Link>
        </Empty>
      ) : detail.isError ? (
        <ErrorState error={detail.error} retry={() => void detail.refetch()} />
      ) : !record ? (
        <Loading what="Loading the record" />
      ) : (
        <div className="lab-grid">
          <div className="lab-main">
            <RecordView
              record={record}
              project={project}
              settings={settings}
              annotator={annotator}
              gold={gold}
              selection={selected}
              highlight={highlight}
              onSelect={onSelect}
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
                  onChange={(event) => setGold(event.target.checked)}
                />
                Gold
              </label>
            </div>
            {notice && notice.record === record.id && (
              <p className="lab-notice" role="status">
                {notice.text}
              </p>
            )}
            <InlineError error={lastError} />
            {tasks.map((task) => (
              <TaskPanel
                key={task.id}
                task={task}
                labels={record.labels[task.name]}
                record={record}
                annotator={annotator}
                gold={gold}
                active={task.id === activeTask.id}
                canLabel={canLabel}
                selection={selected?.attribute === task.attribute ? selected.range : null}
                attributeHidden={!!task.attribute && settings.hidden.includes(task.attribute)}
                onActivate={() => {
                  if (task.id !== activeTask.id) updateSettings({ task: task.name });
                }}
                onChoose={(label) => choose(task, label)}
                onRemove={(annotation) => remove(task, annotation)}
                onClearSelection={() => setPending(null)}
                highlight={setHighlight}
              />
            ))}
            <p className="muted lab-keys">
              <kbd>←</kbd> <kbd>→</kbd> move · a label's key labels the task chosen for hotkeys ·
              in a text: select words with the mouse, or focus it and use <kbd>Shift</kbd>+
              <kbd>→</kbd> · <kbd>Esc</kbd> clears the selection
            </p>
          </div>
          <LabelsBeside
            record={record}
            tasks={tasks}
            annotator={annotator}
            highlight={setHighlight}
          />
        </div>
      )}
    </div>
  );
}

function AnnotatorPrompt() {
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

function SettingsPanel({
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

function RecordView({
  record,
  project,
  settings,
  annotator,
  gold,
  selection,
  highlight,
  onSelect,
}: {
  record: RecordDetail;
  project: Project;
  settings: LabelingSettings;
  annotator: string;
  gold: boolean;
  selection: Pending | null;
  highlight: string | null;
  onSelect: (attribute: string, range: TokenRange | null) => void;
}) {
  const shown = [...project.attributes]
    .sort((a, b) => a.position - b.position)
    .filter((attribute) => !settings.hidden.includes(attribute.name));
  return (
    <section className="panel lab-record" aria-label="Record" data-testid="record">
      <div className="muted lab-record-id" data-testid="record-name">
        {recordName(project, record)}
      </div>
      {shown.length === 0 && (
        <p className="muted">Every attribute is hidden: show some in the settings.</p>
      )}
      <dl className="lab-attributes">
        {shown.map((attribute) => (
          <div key={attribute.name} className="lab-attribute">
            <dt>{attribute.name}</dt>
            <dd>
              <AttributeValue
                attribute={attribute}
                record={record}
                tasks={project.tasks}
                otherSpans={settings.otherSpans}
                annotator={annotator}
                gold={gold}
                selection={selection?.attribute === attribute.name ? selection.range : null}
                highlight={highlight}
                onSelect={onSelect}
              />
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function AttributeValue({
  attribute,
  record,
  tasks,
  otherSpans,
  annotator,
  gold,
  selection,
  highlight,
  onSelect,
}: {
  attribute: Attribute;
  record: RecordDetail;
  tasks: Task[];
  otherSpans: boolean;
  annotator: string;
  gold: boolean;
  selection: TokenRange | null;
  highlight: string | null;
  onSelect: (attribute: string, range: TokenRange | null) => void;
}) {
  const value: unknown = record.data[attribute.name];
  const tokens = record.tokens[attribute.name];
  const extraction = useMemo(
    () => tasks.filter((task) => task.type === "extraction" && task.attribute === attribute.name),
    [tasks, attribute.name],
  );
  const built = useMemo(() => {
    const out: TextSpan[] = [];
    for (const task of extraction) {
      for (const annotation of record.labels[task.name]?.annotations ?? []) {
        if (annotation.start_token === null || annotation.end_token === null) continue;
        const mine = isMine(annotation, annotator, gold);
        if (!mine && !otherSpans) continue;
        out.push({
          key: `${task.name}:${annotation.id}`,
          label: annotation.label,
          color: task.labels.find((label) => label.name === annotation.label)?.color ?? "",
          start: annotation.start_token,
          end: annotation.end_token,
          dashed: !mine,
          by:
            annotation.source === "manual"
              ? annotation.gold
                ? "gold"
                : annotation.annotator
              : [annotation.source, annotation.source_id].filter(Boolean).join(" "),
        });
      }
    }
    return out;
  }, [record, annotator, gold, otherSpans, extraction]);
  // The same spans keep their identity (a classification label leaves a long text as it is).
  const same = JSON.stringify(built);
  const spans = useMemo(() => built, [same]);
  const name = attribute.name;
  const select = useCallback((range: TokenRange | null) => onSelect(name, range), [onSelect, name]);
  if (value === null || value === undefined || value === "") {
    return <span className="muted">(empty)</span>;
  }
  if (typeof value === "string" && tokens && extraction.length > 0) {
    return (
      <div className="lab-text lab-scroll">
        <SpanText
          text={value}
          tokens={tokens}
          spans={spans}
          selection={selection}
          highlight={highlight}
          onSelect={select}
          name={`Text of ${name}`}
        />
      </div>
    );
  }
  if (typeof value === "string") {
    return (
      <div className="lab-text lab-scroll" dir="auto">
        {value}
      </div>
    );
  }
  return (
    <span className="lab-value" dir="auto">
      {typeof value === "object" ? JSON.stringify(value) : String(value)}
    </span>
  );
}
