// The labeling session's hooks: the settings and the records done (kept in this browser), the
// position in the URL, the label actions with the text selection they use, and the keyboard.
import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { useAnnotate } from "../api/annotations";
import type { Annotation, Project, RecordDetail, Task } from "../api/client";
import type { TokenRange } from "../components/SpanText";
import { useShortcuts } from "../keys";
import {
  choiceChange,
  DEFAULT_SETTINGS,
  doneKey,
  hotkeyLabel,
  KEEP_KEY,
  keepChoice,
  position,
  readDone,
  readStored,
  removalChange,
  settingsKey,
  taskForSelection,
  type LabelingSettings,
  type Pending,
  type SessionChange,
} from "./labelingSession";

/** The labeling settings of a project, kept in localStorage. */
export function useLabelingSettings(
  project: string,
): [LabelingSettings, (change: Partial<LabelingSettings>) => void] {
  const key = settingsKey(project);
  const [settings, setSettings] = useState<LabelingSettings>(() => ({
    ...DEFAULT_SETTINGS,
    ...readStored<LabelingSettings>(window.localStorage, key),
  }));
  const update = useCallback(
    (change: Partial<LabelingSettings>) =>
      setSettings((old) => {
        const next = { ...old, ...change };
        window.localStorage.setItem(key, JSON.stringify(next));
        return next;
      }),
    [key],
  );
  return [settings, update];
}

/** Records labeled in this session (kept for the tab's life, so a reload keeps the count). */
export function useDone(project: string, session: string): [Set<number>, (id: number) => void] {
  const key = doneKey(project, session);
  const [done, setDone] = useState<Set<number>>(() => readDone(window.sessionStorage, key));
  const add = useCallback(
    (id: number) =>
      setDone((old) => {
        if (old.has(id)) return old;
        const next = new Set(old).add(id);
        window.sessionStorage.setItem(key, JSON.stringify({ ids: [...next] }));
        return next;
      }),
    [key],
  );
  return [done, add];
}

/** The index in the address bar now: ahead of the render's while the router renders a move
 * (as a transition). */
export function addressIndex(): number {
  return position(new URLSearchParams(window.location.search).get("i"));
}

/** The session's position (`i` in the URL), and moves. */
export function useSessionIndex() {
  const [params, setParams] = useSearchParams();
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
  const step = (delta: number, total: number | undefined) => {
    const to = addressIndex() + delta;
    if (to >= 0 && (total === undefined || to <= total)) go(to);
  };
  return { index: position(params.get("i")), go, step };
}

interface LabelingArgs {
  project: Project;
  /** the record shown (undefined while it loads), its id and position */
  record: RecordDetail | undefined;
  id: number | undefined;
  index: number;
  annotator: string;
  gold: boolean;
  settings: LabelingSettings;
  updateSettings: (change: Partial<LabelingSettings>) => void;
  /** a label was stored on the record */
  onLabeled: (record: number) => void;
  go: (index: number) => void;
}

/** The label actions on the record shown, with what belongs to that record alone: the words
 * selected, a notice, the label highlighted. Moving on drops them. */
export function useLabeling(args: LabelingArgs) {
  const { project, record, id, index, annotator, gold, settings, updateSettings } = args;
  const tasks = project.tasks;
  const activeTask = tasks.find((task) => task.name === settings.task) ?? tasks[0]!;
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<{ record: number; text: string } | null>(null);
  const [highlight, setHighlight] = useState<string | null>(null);
  const selected = pending && pending.record === id ? pending : null;

  const here = useRef(index);
  useLayoutEffect(() => {
    here.current = index;
  });
  const change = useAnnotate<SessionChange>(project.name, annotator, (c) => {
    if (c.kind === "add") args.onLabeled(c.record);
    if (c.next && here.current === c.index) args.go(c.index + 1);
  });

  const choose = (task: Task, label: string) => {
    if (!record || !annotator) return;
    const labeler = { annotator, gold, autoNext: settings.autoNext };
    const made = choiceChange(task, label, record, index, selected, labeler);
    if ("notice" in made) {
      setNotice({ record: record.id, text: made.notice });
      return;
    }
    change.mutate(made);
    if (made.span) setPending(null);
    setNotice(null);
  };

  const remove = (task: Task, annotation: Annotation | null) => {
    if (record) change.mutate(removalChange(task, annotation, record.id, index, gold));
  };

  /** Keeps the record's manual label of the hotkeys' task as it is and moves on. */
  const keep = () => {
    if (!record) return;
    const made = keepChoice(activeTask, record, { annotator, gold });
    if ("notice" in made) {
      setNotice({ record: record.id, text: made.notice });
      return;
    }
    setNotice(null);
    args.onLabeled(record.id);
    args.go(index + 1);
  };

  const select = (attribute: string, range: TokenRange | null) => {
    if (id === undefined) return;
    setPending(range ? { record: id, attribute, range } : null);
    setNotice(null);
    // The hotkeys go to an extraction task on the selected text.
    const target = range ? taskForSelection(tasks, activeTask, attribute) : undefined;
    if (target) updateSettings({ task: target.name });
  };
  // One callback for the page's life: a long text is not drawn again for a new callback.
  const selectHandler = useRef(select);
  useLayoutEffect(() => {
    selectHandler.current = select;
  });
  const onSelect = useCallback(
    (attribute: string, range: TokenRange | null) => selectHandler.current(attribute, range),
    [],
  );

  return {
    activeTask,
    selected,
    notice: notice && notice.record === record?.id ? notice.text : null,
    highlight,
    setHighlight,
    clearSelection: () => setPending(null),
    canLabel: annotator !== "" && record !== undefined,
    /** the record is shown: `k` may keep its label */
    canKeep: record !== undefined,
    lastError: change.error && change.variables?.record === id ? change.error : null,
    choose,
    keep,
    remove,
    onSelect,
  };
}

export type Labeling = ReturnType<typeof useLabeling>;

/** The keyboard: arrows move, Escape drops the selected words, a label's hotkey labels for
 * the task chosen for hotkeys, `k` keeps the record's label of that task and moves on. */
export function useLabelingKeys({
  labeling,
  index,
  total,
  step,
}: {
  labeling: Labeling;
  index: number;
  total: number | undefined;
  step: (delta: number, total: number | undefined) => void;
}) {
  useShortcuts((event) => {
    if (event.key === "ArrowRight" && total !== undefined) {
      step(1, total);
    } else if (event.key === "ArrowLeft") {
      step(-1, total);
    } else if (event.key === "Escape" && labeling.selected) {
      labeling.clearSelection();
    } else {
      const label = hotkeyLabel(labeling.activeTask, event.key);
      const keep = !label && event.key.toLowerCase() === KEEP_KEY;
      if (!label && !keep) return false;
      // The address bar has moved on and this render's record is about to go: a label now
      // would land on the record the user has left (and a keep would skip the next one).
      if (addressIndex() !== index) return false;
      if (keep) {
        if (!labeling.canKeep) return false;
        labeling.keep();
      } else {
        if (!label || !labeling.canLabel) return false;
        labeling.choose(labeling.activeTask, label.name);
      }
    }
    return true;
  });
}
