// Python code in the UI: the editor (CodeMirror, loaded on demand) and what running code on a
// few records gave — the heuristic editor's "Run on 10" and the calculated attributes' "Test on
// 10" show the same table, failures and printed output.
import { lazy, Suspense, type ComponentProps } from "react";
import { useParams } from "react-router-dom";
import type { Project, Schemas } from "../api/client";
import { useProject } from "../api/projects";
import { useRecord } from "../api/records";
import { recordName } from "../format";
import { Loading } from "./States";
import "./Code.css";

const CodeEditor = lazy(() => import("./CodeEditor"));

/** The code editor; CodeMirror lives in a chunk of its own, loaded when first shown. */
export function Code(props: ComponentProps<typeof CodeEditor>) {
  return (
    <Suspense fallback={<Loading what="Loading the editor" />}>
      <CodeEditor {...props} />
    </Suspense>
  );
}

/** A try's answer: a heuristic's (`HeuristicTryResult`) or a calculated attribute's. */
export interface Tried {
  error: string | null;
  failures: Schemas["TryFailure"][];
  results: {
    record_id: number;
    /** its position in the project (what names it without a primary key) */
    position?: number | null;
    data: Record<string, unknown>;
    value: unknown;
    output: string;
    /** why the value does not fit (calculated attributes) */
    error?: string | null;
  }[];
}

/** The record a failure happened on, by its key (its data is not in the failure). */
function FailedRecord({ project, record }: { project?: Project; record: number }) {
  const name = project?.name ?? "";
  const found = useRecord(name, record, { enabled: !!project });
  return <>{project && found.data ? recordName(project, found.data) : "a record"}</>;
}

/** What code gave on some records (nothing stored): a row per record with its value and
 * printed output, and the failures with their tracebacks. */
export function TryResults({
  result,
  title,
  column,
  none,
  errors = false,
}: {
  result: Tried;
  /** "Run on" or "Test on", before the number of records */
  title: string;
  /** the values' column ("Result", "Value") and how a null value reads ("abstains", "null") */
  column: string;
  none: string;
  /** with a column for each value's error */
  errors?: boolean;
}) {
  const records = result.results.length + result.failures.filter((f) => f.record_id !== null).length;
  // Records are shown as users know them (their key), never by internal id.
  const { project: name = "" } = useParams();
  const project = useProject(name).data;
  return (
    <div className="try-results" data-testid="try-results">
      <h3>
        {title} {records} records (nothing stored)
      </h3>
      {result.error && (
        <p className="inline-error" role="alert">
          {result.error}
        </p>
      )}
      {result.failures.map((failure, i) => (
        <div key={`f${i}`} className="try-record try-failure">
          <div className="muted">
            {failure.record_id === null ? (
              "the run"
            ) : (
              <FailedRecord project={project} record={failure.record_id} />
            )}
          </div>
          {/* A traceback ends with the error; without one, the error says it. */}
          {failure.traceback ? (
            <pre className="traceback">{failure.traceback}</pre>
          ) : (
            <p className="inline-error">{failure.error}</p>
          )}
          {failure.output && <pre className="output">{failure.output}</pre>}
        </div>
      ))}
      {result.results.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Record</th>
              <th>{column}</th>
              <th>Printed output</th>
              {errors && <th>Error</th>}
            </tr>
          </thead>
          <tbody>
            {result.results.map((r) => (
              <tr key={r.record_id} data-record={r.record_id} data-error={r.error ? "1" : undefined}>
                <td className="cell">
                  {Object.entries(r.data)
                    .filter(([, value]) => typeof value === "string")
                    .map(([key, value]) => (
                      <div key={key} dir="auto">
                        {String(value)}
                      </div>
                    ))}
                  <div className="muted" data-testid="try-record">
                    {project ? recordName(project, r) : ""}
                  </div>
                </td>
                <td className="mono" data-testid="try-value">
                  {r.value === null ? <span className="muted">{none}</span> : JSON.stringify(r.value)}
                </td>
                <td>{r.output && <pre className="output">{r.output}</pre>}</td>
                {errors && (
                  <td className="inline-error" data-testid="try-error">
                    {r.error}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
