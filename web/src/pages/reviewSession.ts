// The review queue's keys and label choices as pure functions of the item shown and the
// review's state: the page applies the step they return, and the unit tests check them.
import type { Task } from "../api/client";
import type { ReviewAction } from "../api/models";
import { hotkeyLabel } from "./labelingSession";

/** Where the review of the item shown stands. */
export interface ReviewState {
  /** an audit item: its suggestion is hidden and a label answers it */
  audit: boolean;
  /** `c` was pressed: a label corrects the suggestion */
  correcting: boolean;
  /** multi-label: the labels chosen so far (Enter sends them) */
  picked: string[];
}

/** What a key or a choice does: send a review, start or cancel a correction, change the
 * labels chosen; null: nothing (the key is not the queue's). */
export type ReviewStep =
  | { send: { action: ReviewAction; label?: string | string[] } }
  | { correcting: boolean }
  | { picked: string[] }
  | null;

export const START: ReviewState = { audit: false, correcting: false, picked: [] };

/** True while a label answers: an audit item, or a correction under way. */
export function answering(state: ReviewState): boolean {
  return state.audit || state.correcting;
}

/** A label chosen (its key or its button): a classification sends it at once; a multi-label
 * task adds it to the labels chosen, or takes it out. */
export function chooseLabel(task: Task, state: ReviewState, label: string): ReviewStep {
  if (!answering(state)) return null;
  if (task.type !== "multi-label") return { send: { action: "correct", label } };
  const picked = state.picked.includes(label)
    ? state.picked.filter((name) => name !== label)
    : [...state.picked, label];
  return { picked };
}

/** Multi-label: sends the labels chosen (none chosen: nothing). */
export function sendPicked(task: Task, state: ReviewState): ReviewStep {
  if (!answering(state) || task.type !== "multi-label" || state.picked.length === 0) return null;
  return { send: { action: "correct", label: state.picked } };
}

/** A key pressed: `a` accepts, `r` rejects, `c` starts a correction; then (or on an audit
 * item) a label's hotkey chooses it, Enter sends a multi-label choice, Escape cancels. */
export function reviewKey(task: Task, state: ReviewState, key: string): ReviewStep {
  const pressed = key.toLowerCase();
  if (answering(state)) {
    const label = hotkeyLabel(task, key);
    if (label) return chooseLabel(task, state, label.name);
    if (pressed === "enter") return sendPicked(task, state);
    if (pressed === "escape" && state.correcting) return { correcting: false };
    return null;
  }
  if (pressed === "a") return { send: { action: "accept" } };
  if (pressed === "r") return { send: { action: "reject" } };
  if (pressed === "c") return { correcting: true };
  return null;
}
