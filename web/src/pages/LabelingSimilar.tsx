// "Similar records" in the labeling suite: the records most similar to the one being labeled,
// narrowed by the session's filter and slice, with their scores and the threshold; "Label
// these" opens a session on them, best first.
import { useState } from "react";
import { Link } from "react-router-dom";
import type { Project } from "../api/client";
import { useSimilar } from "../api/search";
import { ClosingHead } from "../components/Panel";
import { Score, SimilarControls } from "../components/Similar";
import { ErrorState, Loading } from "../components/States";
import { formatNumber } from "../format";
import { projectPath, selectionParams, type Selection, type Similar } from "../routes";

export function LabelingSimilar({
  project,
  selection,
  record,
  name,
  onClose,
}: {
  project: Project;
  selection: Selection;
  record: number;
  /** how users know the record (its key) */
  name: string;
  onClose: () => void;
}) {
  // The search's settings start from the session's (a similar session keeps its embedding
  // and threshold) and change here.
  const [similar, setSimilar] = useState<Similar>({ ...selection.similar, record });
  const current = { ...similar, record };
  const base = { ...selection, similar: undefined, outliers: undefined };
  const found = useSimilar(project.name, base, current);
  const params = selectionParams({ ...base, similar: current });
  params.set("i", "0");
  const text = project.attributes.find((a) => a.data_type === "text")?.name;
  return (
    <section className="panel lab-similar" aria-label="Similar records" data-testid="similar">
      <ClosingHead
        title={`Records similar to ${name}`}
        close="Close similar records"
        onClose={onClose}
      />
      <SimilarControls
        project={project.name}
        similar={current}
        threshold={found.data?.threshold}
        onChange={setSimilar}
      />
      {found.isPending ? (
        <Loading what="Searching similar records" />
      ) : found.isError ? (
        <ErrorState error={found.error} />
      ) : (
        <>
          <div className="section-head">
            <p className="muted">
              {formatNumber(found.data.records.length)} records at or above{" "}
              {found.data.threshold.toFixed(2)} with {found.data.embedding}
              {selection.where || selection.slice ? ", within this session's filter" : ""}.
            </p>
            {found.data.records.length > 0 && (
              <Link className="button primary" to={projectPath(project.name, "labeling", params)}>
                Label these {formatNumber(found.data.records.length)}
              </Link>
            )}
          </div>
          <ol className="lab-similar-list">
            {found.data.records.slice(0, 10).map((result) => {
              const value = text ? result.data[text] : undefined;
              return (
                <li key={result.id} data-record={result.id}>
                  <Score score={result.score} />
                  <span dir="auto" className="lab-similar-text">
                    {typeof value === "string" ? value : JSON.stringify(result.data)}
                  </span>
                </li>
              );
            })}
          </ol>
          {found.data.records.length > 10 && (
            <p className="muted">
              and {formatNumber(found.data.records.length - 10)} more in the session.
            </p>
          )}
        </>
      )}
    </section>
  );
}
