// The record IDE: run a Python snippet against one record (in the sandbox) and see what it
// prints, its value and its traceback; previous/next record. `?record=ID` in the URL.
import { useEffect, useState, type KeyboardEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useProject } from "../api/projects";
import { useRunSnippet, type SnippetResult } from "../api/recordIde";
import { useCancelKey } from "../api/tryRuns";
import { Code } from "../components/Code";
import { InlineError } from "../components/States";
import { recordName } from "../format";
import { projectPath } from "../routes";
import "./Heuristics.css";
import "./Calculated.css";

const STARTER = `# \`record\` is the record: text attributes are spaCy Docs.
# Define ide(record) to see its return value too.
for name, value in record.items():
    print(name, "=", value)
`;
// The snippet stays while the user moves between records (and across visits).
const STORED = "assay.ide.code";

export function RecordIde() {
  const { project = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const record = params.get("record") ?? "1";
  const [code, setCode] = useState(() => localStorage.getItem(STORED) ?? STARTER);
  const [ran, setRan] = useState<SnippetResult | null>(null);
  const found = useProject(project);

  const cancelKey = useCancelKey();
  const runner = useRunSnippet(project, setRan);
  const run = () => runner.mutate({ record, code, cancel_key: cancelKey.next() });
  useEffect(() => localStorage.setItem(STORED, code), [code]);
  // Each record shows its result at once, with the current snippet.
  useEffect(() => {
    run();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rerun on a new record only
  }, [record]);

  const go = (id: number | null | undefined) => {
    if (id != null) setParams({ record: String(id) });
  };
  const onKey = (event: KeyboardEvent) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  };

  return (
    <div className="heuristics record-ide" onKeyDown={onKey}>
      <div className="page-head">
        <h1>Record IDE</h1>
        <span className="muted" data-testid="record-name">
          {ran && found.data ? recordName(found.data, ran) : ""}
        </span>
        <Link className="link small" to={projectPath(project, "labeling")}>
          Labeling
        </Link>
      </div>
      <section className="panel" aria-label="Snippet">
        <Code value={code} onChange={setCode} label="Snippet" />
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={runner.isPending}
            onClick={() => run()}
            title="Ctrl+Enter"
          >
            {runner.isPending ? "Running…" : "Run"}
          </button>
          {runner.isPending && (
            <button type="button" onClick={cancelKey.cancel}>
              Cancel
            </button>
          )}
          <button type="button" disabled={ran?.previous_id == null} onClick={() => go(ran?.previous_id)}>
            ← Previous record
          </button>
          <button type="button" disabled={ran?.next_id == null} onClick={() => go(ran?.next_id)}>
            Next record →
          </button>
          <span className="muted">Ctrl+Enter runs. Nothing is stored.</span>
        </div>
        <InlineError error={runner.error} />
      </section>
      {ran && (
        <section className="panel" aria-label="Output" data-testid="ide-output">
          <h2>Output</h2>
          {ran.output ? (
            <pre className="output" data-testid="ide-printed">
              {ran.output}
            </pre>
          ) : (
            <p className="muted">Nothing printed.</p>
          )}
          {ran.value !== null && (
            <p>
              <code>ide(record)</code> returned{" "}
              <code className="mono" data-testid="ide-value">
                {ran.value}
              </code>
            </p>
          )}
          {ran.error && (
            <>
              <p className="inline-error" role="alert">
                {ran.error}
              </p>
              {ran.traceback && <pre className="traceback">{ran.traceback}</pre>}
            </>
          )}
          <h3>Record data</h3>
          <pre className="output">{JSON.stringify(ran.data, null, 2)}</pre>
        </section>
      )}
    </div>
  );
}
