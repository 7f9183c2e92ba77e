// The annotator's name: chosen once, kept in this browser (users and login come later).
import { useCallback, useSyncExternalStore } from "react";

const KEY = "assay.annotator";
const listeners = new Set<() => void>();

function read(): string {
  return window.localStorage.getItem(KEY) ?? "";
}

export function useAnnotator(): [string, (name: string) => void] {
  const name = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    read,
  );
  const set = useCallback((next: string) => {
    window.localStorage.setItem(KEY, next);
    listeners.forEach((listener) => listener());
  }, []);
  return [name, set];
}
