// Live job notifications: a job's progress arrives as server-sent events and shows in a
// corner of every page; nothing waits for it. When it ends, the data it touched refreshes.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";
import type { Job } from "../api/client";
import { jobEvents, useRefreshAll } from "../api/jobs";

interface Tracked {
  job: Job;
  title: string;
}

interface JobsContext {
  /** Follow a job's progress; ``onDone`` runs once when it finishes successfully. */
  track: (job: Job, title: string, onDone?: (job: Job) => void) => void;
}

const Context = createContext<JobsContext>({ track: () => undefined });

export function useJobs(): JobsContext {
  return useContext(Context);
}

export function JobsProvider({ children }: { children: ReactNode }) {
  const [tracked, setTracked] = useState<Record<number, Tracked>>({});
  const sources = useRef<Map<number, EventSource>>(new Map());
  const callbacks = useRef<Map<number, (job: Job) => void>>(new Map());
  const refreshAll = useRefreshAll();

  const update = useCallback((job: Job) => {
    setTracked((all) => {
      const entry = all[job.id];
      return entry ? { ...all, [job.id]: { ...entry, job } } : all;
    });
  }, []);

  const track = useCallback(
    (job: Job, title: string, onDone?: (job: Job) => void) => {
      setTracked((all) => ({ ...all, [job.id]: { job, title } }));
      if (onDone) callbacks.current.set(job.id, onDone);
      if (sources.current.has(job.id)) return;
      const stop = () => {
        source.close();
        sources.current.delete(job.id);
      };
      const source = jobEvents(job.id, {
        progress: update,
        end: (ended) => {
          stop();
          update(ended);
          void refreshAll();
          const onDone = callbacks.current.get(ended.id);
          callbacks.current.delete(ended.id);
          if (ended.status === "done") onDone?.(ended);
        },
        // The stream broke (server restart): stop; the job's state stays on the server.
        broken: stop,
      });
      sources.current.set(job.id, source);
    },
    [refreshAll, update],
  );

  useEffect(() => {
    const open = sources.current;
    return () => open.forEach((source) => source.close());
  }, []);

  const dismiss = (id: number) =>
    setTracked((all) => {
      const rest = { ...all };
      delete rest[id];
      return rest;
    });
  const value = useMemo(() => ({ track }), [track]);
  const entries = Object.values(tracked).sort((a, b) => b.job.id - a.job.id);

  return (
    <Context.Provider value={value}>
      {children}
      <div className="toasts" aria-live="polite" data-testid="jobs">
        {entries.map(({ job, title }) => (
          <div key={job.id} className={`toast toast-${job.status}`} data-status={job.status}>
            <div className="toast-head">
              <strong>{title}</strong>
              <button
                type="button"
                className="icon"
                aria-label="Dismiss"
                onClick={() => dismiss(job.id)}
              >
                ×
              </button>
            </div>
            <progress max={1} value={job.progress} />
            <div className="toast-message">
              {job.status === "failed" ? job.error?.split("\n")[0] : job.message || job.status}
            </div>
          </div>
        ))}
      </div>
    </Context.Provider>
  );
}
