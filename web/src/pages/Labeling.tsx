// Labeling suite: a session is the ordered list of records of a selection (filter, slice,
// order; see routes.ts), walked with the arrows; `i` in the URL is the position. Labels are
// given by click or hotkey (classification, multi-label) or by selecting text (extraction);
// the record's labels from every source are shown beside.
import { useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type { Project } from "../api/client";
import { useProject } from "../api/projects";
import { useRecord } from "../api/records";
import { useSessionRecord } from "../api/session";
import { useAnnotator } from "../annotator";
import { Empty, ErrorState, Loading, QueryView } from "../components/States";
import { recordName } from "../format";
import { projectPath, readSelection, selectionParams } from "../routes";
import {
  useDone,
  useLabeling,
  useLabelingKeys,
  useLabelingSettings,
  useSessionIndex,
} from "./labelingHooks";
import { LabelingSimilar } from "./LabelingSimilar";
import {
  AnnotatorPrompt,
  NoRecords,
  RecordPane,
  SessionEnd,
  SessionHead,
  SettingsPanel,
} from "./LabelingViews";
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

/** A session: the head, then the record at the URL's position with its task panels (or why
 * there is none). */
function Session({ project, session }: { project: Project; session: string }) {
  const name = project.name;
  const selection = useMemo(() => readSelection(new URLSearchParams(session)), [session]);
  const { index, go, step } = useSessionIndex();
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
  const labeling = useLabeling({
    project,
    record,
    id,
    index,
    annotator,
    gold,
    settings,
    updateSettings,
    onLabeled: markDone,
    go,
  });
  useLabelingKeys({ labeling, index, total, step });

  return (
    <div className="labeling">
      <SessionHead
        project={name}
        selection={selection}
        similarTo={similarTo}
        id={id}
        index={index}
        total={total}
        done={done.size}
        step={(delta) => step(delta, total)}
        showSimilar={showSimilar}
        onSimilar={() => setShowSimilar((open) => !open)}
        showSettings={showSettings}
        onSettings={() => setShowSettings((open) => !open)}
      />
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
        <NoRecords project={name} selection={selection} />
      ) : total !== undefined && index >= total ? (
        <SessionEnd project={name} selection={selection} total={total} done={done.size} go={go} />
      ) : detail.isError ? (
        <ErrorState error={detail.error} retry={() => void detail.refetch()} />
      ) : !record ? (
        <Loading what="Loading the record" />
      ) : (
        <RecordPane
          project={project}
          record={record}
          labeling={labeling}
          annotator={annotator}
          gold={gold}
          onGold={setGold}
          settings={settings}
          updateSettings={updateSettings}
        />
      )}
    </div>
  );
}
