// Settings of heuristics that learn from an embedding, shared by the form that creates one and
// the editor of one: the minimum confidence to vote, and a description per label (zero-shot).
import type { Task } from "../api/client";

export function MinConfidence({
  value,
  onChange,
  placeholder,
}: {
  value: number | string;
  onChange: (value: string) => void;
  /** what an empty field means */
  placeholder?: string;
}) {
  return (
    <label>
      Minimum confidence
      <input
        type="number"
        min={0}
        max={1}
        step={0.05}
        value={value}
        placeholder={placeholder}
        onChange={(event) => onChange(event.target.value)}
      />
    </label>
  );
}

/** A description per label of the task (an empty one is left out). */
export function LabelDescriptions({
  task,
  legend,
  descriptions,
  onChange,
  hints = false,
}: {
  task: Task;
  legend: string;
  descriptions: Record<string, string>;
  onChange: (descriptions: Record<string, string>) => void;
  /** placeholders that say what to write */
  hints?: boolean;
}) {
  return (
    <fieldset className="label-descriptions">
      <legend>{legend}</legend>
      {task.labels.map((label) => (
        <label key={label.name}>
          {label.name}
          <input
            aria-label={`Description of ${label.name}`}
            value={descriptions[label.name] ?? ""}
            placeholder={hints ? `what a “${label.name}” record is about` : undefined}
            onChange={(event) => {
              const next = { ...descriptions, [label.name]: event.target.value };
              if (!event.target.value) delete next[label.name];
              onChange(next);
            }}
          />
        </label>
      ))}
    </fieldset>
  );
}
