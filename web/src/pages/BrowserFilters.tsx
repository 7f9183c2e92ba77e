// The data browser's controls: full-text search, ordering, and the filter panel that edits the
// filter tree as rows (browserFilter.ts) or as JSON.
import { useState, type FormEvent } from "react";
import type { Attribute, Project, Task } from "../api/client";
import { useSlices } from "../api/slices";
import { ANNOTATION_SOURCES } from "../api/values";
import { SLICE_ORDER, sliceOrder, type Selection } from "../routes";
import {
  attributeRow,
  buildWhere,
  labelRow,
  OP_NAMES,
  opsFor,
  parseWhere,
  SOURCE_NAMES,
  statesFor,
  type AttributeOp,
  type AttributeRow,
  type FilterState,
  type LabelRow,
  type LabelState,
  type Node,
  type Row,
  type Source,
} from "./browserFilter";

export function SearchBox({
  search,
  onSearch,
}: {
  search: string;
  onSearch: (search: string) => void;
}) {
  const [text, setText] = useState(search);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSearch(text);
  };
  return (
    <form className="search-box" role="search" onSubmit={submit}>
      <input
        type="search"
        aria-label="Search the records"
        placeholder="Search all text (every word must occur)"
        value={text}
        dir="auto"
        onChange={(event) => setText(event.target.value)}
      />
      <button type="submit">Search</button>
      {search && (
        <button
          type="button"
          onClick={() => {
            setText("");
            onSearch("");
          }}
        >
          Clear search
        </button>
      )}
    </form>
  );
}

export function OrderControls({
  project,
  selection,
  fixed,
  onChange,
}: {
  project: Project;
  selection: Selection;
  /** why the order cannot be chosen (the results come in their own order), if it cannot */
  fixed?: string;
  /** called with the part of the selection that changed */
  onChange: (patch: Partial<Selection>, replace?: boolean) => void;
}) {
  const order = selection.order ?? "id";
  const slices = useSlices(project.name);
  // A static slice's own order (an outlier slice's ranking), when one is open or chosen.
  const open = slices.data?.find((slice) => slice.name === selection.slice);
  const sliceOrders = new Set<string>();
  if (open?.kind === "static") sliceOrders.add(sliceOrder(open.name));
  if (order.startsWith(SLICE_ORDER)) sliceOrders.add(order);
  return (
    <div className="order-controls" title={fixed}>
      <label>
        Order by
        <select
          value={order}
          disabled={fixed !== undefined}
          title={fixed}
          onChange={(event) => onChange({ order: event.target.value })}
        >
          <option value="id">import order (id)</option>
          <option value="random">random</option>
          {[...sliceOrders].map((value) => (
            <option key={value} value={value}>
              order of the slice {value.slice(SLICE_ORDER.length)}
            </option>
          ))}
          {project.attributes.map((attribute) => (
            <option key={attribute.name} value={attribute.name}>
              {attribute.name}
            </option>
          ))}
        </select>
      </label>
      <label className="inline-check">
        <input
          type="checkbox"
          disabled={fixed !== undefined}
          checked={selection.desc ?? false}
          onChange={(event) => onChange({ desc: event.target.checked })}
        />
        Descending
      </label>
      {order === "random" && fixed === undefined && (
        <>
          <label>
            Seed
            <input
              type="number"
              step={1}
              className="seed"
              value={selection.seed ?? 0}
              onChange={(event) =>
                onChange({ seed: Math.trunc(Number(event.target.value)) || 0 }, true)
              }
            />
          </label>
          <button
            type="button"
            onClick={() =>
              onChange({ seed: Math.floor(Math.random() * 1_000_000) + 1 })
            }
          >
            Shuffle
          </button>
        </>
      )}
    </div>
  );
}

/** The filter panel: rows edited as a draft, applied to the URL at once. */
export function FilterPanel({
  project,
  where,
  onApply,
}: {
  project: Project;
  where: Node | undefined;
  onApply: (where: Node | undefined) => void;
}) {
  const [draft, setDraft] = useState<FilterState>(() =>
    parseWhere(where, project.attributes, project.tasks),
  );
  const [changed, setChanged] = useState(false);
  const [json, setJson] = useState(false);
  const { problems } = buildWhere(draft, project.attributes);

  const edit = (next: Partial<FilterState>) => {
    setDraft({ ...draft, ...next });
    setChanged(true);
  };
  const editRow = (key: number, change: Partial<AttributeRow> | Partial<LabelRow>) =>
    edit({
      rows: draft.rows.map((row) => (row.key === key ? ({ ...row, ...change } as Row) : row)),
    });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    if (problems.size === 0) onApply(buildWhere(draft, project.attributes).where);
  };
  const firstTask = project.tasks[0];
  const firstAttribute = project.attributes[0];

  return (
    <section className="panel filter-panel" aria-label="Filter" data-testid="filter-panel">
      <div className="filter-head">
        <h2>Filter</h2>
        <button type="button" className="link" aria-pressed={json} onClick={() => setJson(!json)}>
          {json ? "Edit as rows" : "Edit as JSON"}
        </button>
      </div>
      {json ? (
        <JsonFilter where={where} onApply={onApply} />
      ) : (
        <form onSubmit={apply}>
          {draft.rows.length === 0 && draft.others.length === 0 && (
            <p className="muted">No condition: every record is shown. Add a condition below.</p>
          )}
          {draft.rows.length > 1 && (
            <label className="combine">
              Records must match
              <select
                value={draft.combine}
                onChange={(event) => edit({ combine: event.target.value as "and" | "or" })}
              >
                <option value="and">all conditions (AND)</option>
                <option value="or">any condition (OR)</option>
              </select>
            </label>
          )}
          <ol className="filter-rows">
            {draft.rows.map((row, index) => (
              <li key={row.key} className="filter-row" data-testid="filter-row">
                {row.kind === "attribute" ? (
                  <AttributeCondition
                    row={row}
                    n={index + 1}
                    attributes={project.attributes}
                    onChange={(change) => editRow(row.key, change)}
                  />
                ) : (
                  <LabelCondition
                    row={row}
                    n={index + 1}
                    tasks={project.tasks}
                    onChange={(change) => editRow(row.key, change)}
                  />
                )}
                <div className="filter-row-foot">
                  <label className="inline-check">
                    <input
                      type="checkbox"
                      checked={row.negate}
                      onChange={(event) => editRow(row.key, { negate: event.target.checked })}
                    />
                    Negate
                  </label>
                  <button
                    type="button"
                    className="link danger"
                    onClick={() => edit({ rows: draft.rows.filter((r) => r.key !== row.key) })}
                  >
                    Remove condition {index + 1}
                  </button>
                </div>
                {problems.has(row.key) && (
                  <p className="inline-error" role="alert">
                    {problems.get(row.key)}
                  </p>
                )}
              </li>
            ))}
          </ol>
          {draft.others.length > 0 && (
            <div className="filter-others">
              <p className="muted">Other conditions (from the URL or JSON), kept as they are:</p>
              {draft.others.map((node, index) => (
                <div key={index} className="filter-other">
                  <code>{JSON.stringify(node)}</code>
                  <button
                    type="button"
                    className="link danger"
                    onClick={() => edit({ others: draft.others.filter((_, i) => i !== index) })}
                  >
                    Remove
                  </button>
                </div>
              ))}
            </div>
          )}
          <div className="filter-add">
            <button
              type="button"
              disabled={!firstAttribute}
              onClick={() =>
                firstAttribute && edit({ rows: [...draft.rows, attributeRow(firstAttribute)] })
              }
            >
              + Attribute condition
            </button>
            <button
              type="button"
              disabled={!firstTask}
              title={firstTask ? undefined : "The project has no labeling task"}
              onClick={() => firstTask && edit({ rows: [...draft.rows, labelRow(firstTask)] })}
            >
              + Label condition
            </button>
          </div>
          <div className="filter-apply">
            <button type="submit" className="primary" disabled={!changed || problems.size > 0}>
              Apply filter
            </button>
            {(draft.rows.length > 0 || draft.others.length > 0) && (
              <button type="button" onClick={() => edit({ rows: [], others: [] })}>
                Remove all conditions
              </button>
            )}
            {changed && <span className="muted">Not applied yet</span>}
          </div>
        </form>
      )}
    </section>
  );
}

function AttributeCondition({
  row,
  n,
  attributes,
  onChange,
}: {
  row: AttributeRow;
  n: number;
  attributes: Attribute[];
  onChange: (change: Partial<AttributeRow>) => void;
}) {
  const attribute = attributes.find((a) => a.name === row.attribute);
  const type = attribute?.data_type ?? "text";
  const ops = opsFor(type);
  const isString = type === "text" || type === "category";
  const input = (value: string, set: (value: string) => void, label: string) => {
    if (type === "boolean") {
      return (
        <select aria-label={label} value={value} onChange={(event) => set(event.target.value)}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      );
    }
    const numeric = (type === "integer" || type === "float") && row.op !== "in";
    return (
      <input
        aria-label={label}
        type={numeric ? "number" : "text"}
        step={type === "integer" ? 1 : "any"}
        dir="auto"
        placeholder={row.op === "in" ? "values, separated by commas" : type}
        value={value}
        onChange={(event) => set(event.target.value)}
      />
    );
  };
  return (
    <div className="condition">
      <select
        aria-label={`Attribute of condition ${n}`}
        value={row.attribute}
        onChange={(event) => {
          const next = attributes.find((a) => a.name === event.target.value);
          if (!next) return;
          const nextOps = opsFor(next.data_type);
          // Another kind of value starts from that kind's first op (contains for text).
          const sameKind = nextOps.join() === ops.join();
          onChange({
            attribute: next.name,
            op: sameKind ? row.op : nextOps[0]!,
            value: next.data_type === "boolean" ? "true" : next.data_type === type ? row.value : "",
            value2: "",
          });
        }}
      >
        {attributes.map((a) => (
          <option key={a.name} value={a.name}>
            {a.name} ({a.data_type})
          </option>
        ))}
      </select>
      <select
        aria-label={`Operator of condition ${n}`}
        value={row.op}
        onChange={(event) => onChange({ op: event.target.value as AttributeOp })}
      >
        {ops.map((op) => (
          <option key={op} value={op}>
            {OP_NAMES[op]}
          </option>
        ))}
      </select>
      {row.op !== "is_null" &&
        input(row.value, (value) => onChange({ value }), `Value of condition ${n}`)}
      {row.op === "between" &&
        input(row.value2, (value2) => onChange({ value2 }), `Upper bound of condition ${n}`)}
      {isString && row.op !== "is_null" && (
        <label className="inline-check">
          <input
            type="checkbox"
            checked={row.caseSensitive}
            onChange={(event) => onChange({ caseSensitive: event.target.checked })}
          />
          Match case
        </label>
      )}
    </div>
  );
}

function LabelCondition({
  row,
  n,
  tasks,
  onChange,
}: {
  row: LabelRow;
  n: number;
  tasks: Task[];
  onChange: (change: Partial<LabelRow>) => void;
}) {
  const task = tasks.find((t) => t.name === row.task);
  const states = statesFor(row.source);
  return (
    <div className="condition">
      <select
        aria-label={`Task of condition ${n}`}
        value={row.task}
        onChange={(event) => onChange({ task: event.target.value, labels: [] })}
      >
        {tasks.map((t) => (
          <option key={t.name} value={t.name}>
            {t.name}
          </option>
        ))}
      </select>
      <select
        aria-label={`Source of condition ${n}`}
        value={row.source}
        onChange={(event) => {
          const source = event.target.value as Source;
          onChange({ source, state: statesFor(source).includes(row.state) ? row.state : "" });
        }}
      >
        {ANNOTATION_SOURCES.map((source) => (
          <option key={source} value={source}>
            {SOURCE_NAMES[source]}
          </option>
        ))}
      </select>
      <select
        aria-label={`State of condition ${n}`}
        value={row.state}
        onChange={(event) => onChange({ state: event.target.value as LabelState })}
      >
        {states.map((state) => (
          <option key={state} value={state}>
            {state === "conflict" && row.source !== "manual"
              ? DISAGREE[row.source]
              : STATE_NAMES[state]}
          </option>
        ))}
      </select>
      {row.state === "" && task && (
        <fieldset className="condition-labels">
          <legend className="muted">Labels (none checked: any label)</legend>
          {task.labels.map((label) => (
            <label key={label.name} className="inline-check">
              <input
                type="checkbox"
                checked={row.labels.includes(label.name)}
                onChange={(event) =>
                  onChange({
                    labels: event.target.checked
                      ? [...row.labels, label.name]
                      : row.labels.filter((name) => name !== label.name),
                  })
                }
              />
              {label.name}
            </label>
          ))}
        </fieldset>
      )}
      {row.state === "" && row.source !== "manual" && (
        <div className="condition-confidence">
          <label>
            Confidence from
            <input
              type="number"
              min={0}
              max={1}
              step="any"
              value={row.minConfidence}
              placeholder="0"
              onChange={(event) => onChange({ minConfidence: event.target.value })}
            />
          </label>
          <label>
            to
            <input
              type="number"
              min={0}
              max={1}
              step="any"
              value={row.maxConfidence}
              placeholder="1"
              onChange={(event) => onChange({ maxConfidence: event.target.value })}
            />
          </label>
        </div>
      )}
    </div>
  );
}

const STATE_NAMES: Record<LabelState, string> = {
  "": "has a label",
  none: "has no label",
  labeled: "is labeled (state)",
  gold: "gold decides",
  agreed: "annotators agree",
  conflict: "annotators disagree",
};
/** The conflict state of the other sources: their heuristics (or models) voted differently. */
const DISAGREE: Record<Exclude<Source, "manual">, string> = {
  heuristic: "heuristics disagree",
  weak_supervision: "label models disagree",
  model: "models disagree",
};

/** The whole tree as JSON, for what the rows cannot say (nested or/not, ids, slices). */
function JsonFilter({
  where,
  onApply,
}: {
  where: Node | undefined;
  onApply: (where: Node | undefined) => void;
}) {
  const [text, setText] = useState(() => JSON.stringify(where ?? {}, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text || "{}");
    } catch (error) {
      setProblem(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setProblem("the filter must be a JSON object, e.g. {\"search\": \"words\"}");
      return;
    }
    setProblem(null);
    onApply(Object.keys(parsed).length ? (parsed as Node) : undefined);
  };
  return (
    <form onSubmit={apply}>
      <label className="json-filter">
        Filter tree (see the query documentation)
        <textarea
          rows={10}
          spellCheck={false}
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
      </label>
      {problem && (
        <p className="inline-error" role="alert">
          {problem}
        </p>
      )}
      <div className="filter-apply">
        <button type="submit" className="primary">
          Apply filter
        </button>
      </div>
    </form>
  );
}
