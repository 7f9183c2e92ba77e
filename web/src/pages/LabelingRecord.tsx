// The record in the labeling page: its attributes in their order (hidden ones left out), a
// text with the extraction spans drawn on it and its words selectable.
import { useCallback, useMemo } from "react";
import type { Attribute, Project, RecordDetail, Task } from "../api/client";
import { SpanText, type TokenRange } from "../components/SpanText";
import { recordName } from "../format";
import { textSpans, type LabelingSettings, type Pending } from "./labelingSession";

export function RecordView({
  record,
  project,
  settings,
  annotator,
  gold,
  selection,
  highlight,
  onSelect,
}: {
  record: RecordDetail;
  project: Project;
  settings: LabelingSettings;
  annotator: string;
  gold: boolean;
  selection: Pending | null;
  highlight: string | null;
  onSelect: (attribute: string, range: TokenRange | null) => void;
}) {
  const shown = [...project.attributes]
    .sort((a, b) => a.position - b.position)
    .filter((attribute) => !settings.hidden.includes(attribute.name));
  return (
    <section className="panel lab-record" aria-label="Record" data-testid="record">
      <div className="muted lab-record-id" data-testid="record-name">
        {recordName(project, record)}
      </div>
      {shown.length === 0 && (
        <p className="muted">Every attribute is hidden: show some in the settings.</p>
      )}
      <dl className="lab-attributes">
        {shown.map((attribute) => (
          <div key={attribute.name} className="lab-attribute">
            <dt>{attribute.name}</dt>
            <dd>
              <AttributeValue
                attribute={attribute}
                record={record}
                tasks={project.tasks}
                otherSpans={settings.otherSpans}
                annotator={annotator}
                gold={gold}
                selection={selection?.attribute === attribute.name ? selection.range : null}
                highlight={highlight}
                onSelect={onSelect}
              />
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function AttributeValue({
  attribute,
  record,
  tasks,
  otherSpans,
  annotator,
  gold,
  selection,
  highlight,
  onSelect,
}: {
  attribute: Attribute;
  record: RecordDetail;
  tasks: Task[];
  otherSpans: boolean;
  annotator: string;
  gold: boolean;
  selection: TokenRange | null;
  highlight: string | null;
  onSelect: (attribute: string, range: TokenRange | null) => void;
}) {
  const value: unknown = record.data[attribute.name];
  const tokens = record.tokens[attribute.name];
  const extraction = useMemo(
    () => tasks.filter((task) => task.type === "extraction" && task.attribute === attribute.name),
    [tasks, attribute.name],
  );
  const built = useMemo(
    () => textSpans(record, extraction, { annotator, gold, otherSpans }),
    [record, annotator, gold, otherSpans, extraction],
  );
  // The same spans keep their identity (a classification label leaves a long text as it is).
  const same = JSON.stringify(built);
  const spans = useMemo(() => built, [same]);
  const name = attribute.name;
  const select = useCallback((range: TokenRange | null) => onSelect(name, range), [onSelect, name]);
  if (value === null || value === undefined || value === "") {
    return <span className="muted">(empty)</span>;
  }
  if (typeof value === "string" && tokens && extraction.length > 0) {
    return (
      <div className="lab-text lab-scroll">
        <SpanText
          text={value}
          tokens={tokens}
          spans={spans}
          selection={selection}
          highlight={highlight}
          onSelect={select}
          name={`Text of ${name}`}
        />
      </div>
    );
  }
  if (typeof value === "string") {
    return (
      <div className="lab-text lab-scroll" dir="auto">
        {value}
      </div>
    );
  }
  return (
    <span className="lab-value" dir="auto">
      {typeof value === "object" ? JSON.stringify(value) : String(value)}
    </span>
  );
}
