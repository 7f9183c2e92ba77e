// A page's keyboard shortcuts: keys pressed on the page, outside text fields, without Ctrl,
// Meta or Alt (the labeling session's hotkeys, the review queue's a/r/c).
import { useEffect, useLayoutEffect, useRef } from "react";

/** True while the user types in a field: hotkeys and arrows are the field's then. */
export function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["checkbox", "button", "submit", "reset"].includes(target.type);
  }
  return false;
}

/** Listens to the page's keys while the component is mounted. `onKey` may be a new function
 * each render (the latest answers); it returns true when it used the key, whose default
 * action is then prevented. */
export function useShortcuts(onKey: (event: KeyboardEvent) => boolean) {
  const handler = useRef(onKey);
  useLayoutEffect(() => {
    handler.current = onKey;
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) return;
      if (handler.current(event)) event.preventDefault();
    };
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);
}
