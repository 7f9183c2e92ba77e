// The labeling session's rules, apart from React: the position in the URL, what the session
// shows, which change a label choice or a hotkey makes, the spans drawn on a text, and the
// settings kept in this browser. Pure functions; the hooks (labelingHooks.ts) and the views
// (LabelingViews.tsx) use them.
import type { AnnotationChange } from "../api/annotations";
import type { Annotation, Label, RecordDetail, Task } from "../api/client";
import type { TextSpan, TokenRange } from "../components/SpanText";
import { formatNumber } from "../format";
import { SLICE_ORDER, type Selection } from "../routes";

/** The position `i` of the URL: a whole number from 0 (anything else reads as 0). */
export function position(raw: string | null): number {
  const value = Number(raw ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** What the session lists, in words. */
export function describe(selection: Selection, similarName?: string): string {
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
        : selection.order === SLICE_ORDER + selection.slice
          ? `in the slice's order${selection.desc ? ", reversed" : ""}`
          : `ordered by ${selection.order}${selection.desc ? ", descending" : ""}`;
  return `${which}, ${order}`;
}

/** The manual annotations the buttons edit: the annotator's own, or the gold ones. */
export function isMine(annotation: Annotation, annotator: string, gold: boolean): boolean {
  if (annotation.source !== "manual") return false;
  return gold ? annotation.gold : !annotation.gold && annotation.annotator === annotator;
}

/** Words selected in a text, waiting for their label. */
export interface Pending {
  record: number;
  attribute: string;
  range: TokenRange;
}

/** A label change made in the session. */
export interface SessionChange extends AnnotationChange {
  /** the session's position it was made at */
  index: number;
  /** move on after it is stored */
  next?: boolean;
}

/** Who labels, and how: the annotator (or the gold labels), moving on after a class. */
export interface Labeler {
  annotator: string;
  gold: boolean;
  autoNext: boolean;
}

/** The change that choosing `label` of `task` makes on the record at `index`, or why it
 * cannot be made yet: extraction labels the selected words, a multi-label choice toggles,
 * a classification label replaces the annotator's and may move on. */
export function choiceChange(
  task: Task,
  label: string,
  record: RecordDetail,
  index: number,
  selected: Pending | null,
  labeler: Labeler,
): SessionChange | { notice: string } {
  const base = { record: record.id, index, task: task.name, label, gold: labeler.gold };
  if (task.type === "extraction") {
    if (!selected || selected.attribute !== task.attribute) {
      return {
        notice: `Select words in ${task.attribute ?? "the text"} first, then choose the label.`,
      };
    }
    return { ...base, kind: "add", span: selected.range };
  }
  if (task.type === "multi-label") {
    const mine = (record.labels[task.name]?.annotations ?? []).filter((a) =>
      isMine(a, labeler.annotator, labeler.gold),
    );
    return { ...base, kind: mine.some((a) => a.label === label) ? "remove" : "add" };
  }
  return { ...base, kind: "add", next: labeler.autoNext };
}

/** The change that takes back an annotation (none: the annotator's label of the task). */
export function removalChange(
  task: Task,
  annotation: Annotation | null,
  record: number,
  index: number,
  gold: boolean,
): SessionChange {
  const spanned =
    annotation && annotation.start_token !== null && annotation.end_token !== null
      ? { start: annotation.start_token, end: annotation.end_token }
      : null;
  return {
    kind: "remove",
    record,
    index,
    task: task.name,
    label: annotation?.label ?? null,
    gold: annotation ? annotation.gold : gold,
    span: spanned,
  };
}

/** The label whose hotkey is `key` (either case), if any. */
export function hotkeyLabel(task: Task, key: string): Label | undefined {
  const pressed = key.toLowerCase();
  return task.labels.find((label) => !!label.hotkey && label.hotkey.toLowerCase() === pressed);
}

/** The key that keeps the record's manual label of the hotkeys' task and moves on (reviewing
 * a quality list); a label whose hotkey is the same wins. */
export const KEEP_KEY = "k";

/** What keeping the record's current manual label of `task` means: the label kept (the
 * reference, else the annotator's own while annotators disagree), in words; or why there is
 * none to keep. Nothing is stored: the label stays as it is and the session moves on. */
export function keepChoice(
  task: Task,
  record: RecordDetail,
  labeler: { annotator: string; gold: boolean },
): { keep: string } | { notice: string } {
  const labels = record.labels[task.name];
  const reference: unknown = labels?.reference.value;
  const described = describeKept(reference);
  if (described) return { keep: described };
  const mine = (labels?.annotations ?? []).filter((a) =>
    isMine(a, labeler.annotator, labeler.gold),
  );
  if (mine.length) return { keep: [...new Set(mine.map((a) => a.label))].join(", ") };
  if ((labels?.annotations ?? []).some((a) => a.source === "manual")) {
    return { notice: `The annotators disagree on ${task.name} here: choose a label with its key.` };
  }
  return { notice: `No manual label of ${task.name} to keep: choose one with its key.` };
}

/** A reference value in words: a label, labels, or spans; "" for none. */
function describeKept(value: unknown): string {
  if (typeof value === "string") return value;
  if (!Array.isArray(value) || value.length === 0) return "";
  if (value.every((item) => typeof item === "string")) return value.join(", ");
  return `${value.length} span${value.length === 1 ? "" : "s"}`;
}

/** The task the hotkeys should address once words of `attribute` are selected: an extraction
 * task on it, unless the active task already is one. */
export function taskForSelection(
  tasks: Task[],
  active: Task,
  attribute: string,
): Task | undefined {
  const extracts = (task: Task) => task.type === "extraction" && task.attribute === attribute;
  return extracts(active) ? undefined : tasks.find(extracts);
}

/** The spans drawn on a text: the extraction tasks' annotations on it, the annotator's own
 * (or gold) ones solid, the others dashed and only with `otherSpans`. */
export function textSpans(
  record: RecordDetail,
  extraction: Task[],
  labeler: { annotator: string; gold: boolean; otherSpans: boolean },
): TextSpan[] {
  const out: TextSpan[] = [];
  for (const task of extraction) {
    for (const annotation of record.labels[task.name]?.annotations ?? []) {
      if (annotation.start_token === null || annotation.end_token === null) continue;
      const mine = isMine(annotation, labeler.annotator, labeler.gold);
      if (!mine && !labeler.otherSpans) continue;
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
}

/** Where the session stands, in words. */
export function positionText(index: number, total: number | undefined): string {
  if (total === undefined) return "…";
  if (total === 0) return "no record";
  if (index >= total) return `end of ${formatNumber(total)} records`;
  return `record ${formatNumber(index + 1)} of ${formatNumber(total)}`;
}

// --- kept in this browser -----------------------------------------------------------------------

export interface LabelingSettings {
  /** move to the next record after a classification label */
  autoNext: boolean;
  /** draw other annotators' and sources' spans on the text too (dashed) */
  otherSpans: boolean;
  /** attributes not shown */
  hidden: string[];
  /** the task the label hotkeys address */
  task: string | null;
}

export const DEFAULT_SETTINGS: LabelingSettings = {
  autoNext: true,
  otherSpans: false,
  hidden: [],
  task: null,
};

/** A JSON object kept under `key`; anything else (absent, hand-edited, old) reads as {}. */
export function readStored<T>(storage: Pick<Storage, "getItem">, key: string): Partial<T> {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(key) ?? "{}");
    return parsed && typeof parsed === "object" ? (parsed as Partial<T>) : {};
  } catch {
    return {}; // a hand-edited or old value: start from the defaults
  }
}

export const settingsKey = (project: string) => `assay.labeling.${project}`;
export const doneKey = (project: string, session: string) =>
  `assay.labeling.done.${project}?${session}`;

/** The records done in a session, as kept. */
export function readDone(storage: Pick<Storage, "getItem">, key: string): Set<number> {
  const stored = readStored<{ ids: number[] }>(storage, key).ids;
  return new Set(Array.isArray(stored) ? stored : []);
}

/** Makes `task` the one the labeling hotkeys address in `project` (kept like the other
 * settings): a review opened for a task labels that task. */
export function rememberHotkeyTask(
  storage: Pick<Storage, "getItem" | "setItem">,
  project: string,
  task: string,
): void {
  const key = settingsKey(project);
  storage.setItem(key, JSON.stringify({ ...readStored<LabelingSettings>(storage, key), task }));
}
