// The data browser's filter panel as rows, and the JSON filter tree (docs/queries.md) they
// stand for. The URL holds the tree; the panel reads it back into rows, so a reload shows the
// same panel. Parts of a tree the rows cannot express (nested or/not, ids, slices) are kept as
// they are, as "other conditions".
import type { Attribute, Task } from "../api/client";
import { ANNOTATION_SOURCES, type FILTER_OPERATORS } from "../api/values";

/** An attribute condition's operator (the API's filter operators). */
export type AttributeOp = (typeof FILTER_OPERATORS)[number];

export const OP_NAMES: Record<AttributeOp, string> = {
  eq: "equals",
  ne: "does not equal",
  lt: "less than",
  le: "at most",
  gt: "greater than",
  ge: "at least",
  contains: "contains",
  begins_with: "begins with",
  ends_with: "ends with",
  in: "is one of",
  between: "between",
  is_null: "is empty",
};

const TEXT_OPS: AttributeOp[] = ["contains", "begins_with", "ends_with"];
const ORDER_OPS: AttributeOp[] = ["lt", "le", "gt", "ge", "between"];

/** The ops the API accepts for an attribute type, the most useful first. */
export function opsFor(dataType: Attribute["data_type"]): AttributeOp[] {
  if (dataType === "text" || dataType === "category") {
    return ["contains", "eq", "ne", "begins_with", "ends_with", "in", ...ORDER_OPS, "is_null"];
  }
  if (dataType === "boolean") return ["eq", "ne", "is_null"];
  return ["eq", "ne", ...ORDER_OPS, "in", "is_null"];
}

export type Source = (typeof ANNOTATION_SOURCES)[number];
export const SOURCE_NAMES: Record<Source, string> = {
  manual: "manual",
  heuristic: "heuristic",
  weak_supervision: "weak supervision",
  model: "model",
};

export type LabelState = "" | "none" | "labeled" | "gold" | "agreed" | "conflict";
/** States per source: gold and agreed exist for manual labels only; conflict means annotators
 * disagree (manual) or the source's heuristics or models voted differently (the others). */
export function statesFor(source: Source): LabelState[] {
  const states: LabelState[] = ["", "none", "labeled"];
  return source === "manual" ? [...states, "gold", "agreed", "conflict"] : [...states, "conflict"];
}

export interface AttributeRow {
  kind: "attribute";
  key: number;
  attribute: string;
  op: AttributeOp;
  /** Inputs as typed; `value2` is the upper bound of `between`; `in` takes a comma list. */
  value: string;
  value2: string;
  caseSensitive: boolean;
  negate: boolean;
}

export interface LabelRow {
  kind: "label";
  key: number;
  task: string;
  source: Source;
  labels: string[];
  state: LabelState;
  minConfidence: string;
  maxConfidence: string;
  negate: boolean;
}

export type Row = AttributeRow | LabelRow;
export type Node = Record<string, unknown>;

export interface FilterState {
  rows: Row[];
  combine: "and" | "or";
  search: string;
  /** Conditions the rows cannot show, kept and ANDed as they are. */
  others: Node[];
}

let nextKey = 1;
const newKey = () => nextKey++;

export function attributeRow(attribute: Attribute): AttributeRow {
  return {
    kind: "attribute",
    key: newKey(),
    attribute: attribute.name,
    op: opsFor(attribute.data_type)[0]!,
    value: attribute.data_type === "boolean" ? "true" : "",
    value2: "",
    caseSensitive: false,
    negate: false,
  };
}

export function labelRow(task: Task): LabelRow {
  return {
    kind: "label",
    key: newKey(),
    task: task.name,
    source: "manual",
    labels: [],
    state: "",
    minConfidence: "",
    maxConfidence: "",
    negate: false,
  };
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// --- rows -> tree ---------------------------------------------------------------------------

/** A typed value from an input, or an error message for the row. */
function typed(text: string, dataType: string, what: string): unknown {
  const raw = text.trim();
  if (dataType === "integer" || dataType === "float") {
    const n = Number(raw);
    if (raw === "" || !Number.isFinite(n)) throw new Error(`${what} must be a number`);
    if (dataType === "integer" && !Number.isInteger(n)) {
      throw new Error(`${what} must be a whole number`);
    }
    return n;
  }
  if (dataType === "boolean") return raw === "true";
  return text;
}

function attributeNode(row: AttributeRow, attributes: Attribute[]): Node {
  const attribute = attributes.find((a) => a.name === row.attribute);
  if (!attribute) throw new Error(`unknown attribute ${row.attribute}`);
  const type = attribute.data_type;
  const node: Node = { attribute: row.attribute, op: row.op };
  if (row.op === "between") {
    node.value = [
      typed(row.value, type, "the low bound"),
      typed(row.value2, type, "the high bound"),
    ];
  } else if (row.op === "in") {
    const items = row.value.split(",").map((item) => item.trim()).filter((item) => item !== "");
    if (items.length === 0) throw new Error("give one or more values, separated by commas");
    node.value = items.map((item) => typed(item, type, "each value"));
  } else if (row.op !== "is_null") {
    if ((type === "text" || type === "category") && row.value === "" && TEXT_OPS.includes(row.op)) {
      throw new Error("type the text to look for");
    }
    node.value = typed(row.value, type, "the value");
  }
  if (type === "text" || type === "category") node.case_sensitive = row.caseSensitive;
  if (row.negate) node.negate = true;
  return node;
}

function confidence(text: string, what: string): number | undefined {
  if (text.trim() === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${what} must be between 0 and 1`);
  return n;
}

function labelNode(row: LabelRow): Node {
  const node: Node = { task: row.task };
  if (row.source !== "manual") node.source = row.source;
  if (row.state) {
    node.state = row.state;
  } else {
    if (row.labels.length === 1) node.label = row.labels[0];
    else if (row.labels.length > 1) node.labels = row.labels;
    const low = confidence(row.minConfidence, "the lowest confidence");
    const high = confidence(row.maxConfidence, "the highest confidence");
    if (low !== undefined) node.min_confidence = low;
    if (high !== undefined) node.max_confidence = high;
  }
  if (row.negate) node.negate = true;
  return node;
}

/** The tree of a panel, or the problems of its rows (by row key). */
export function buildWhere(
  state: FilterState,
  attributes: Attribute[],
): { where: Node | undefined; problems: Map<number, string> } {
  const problems = new Map<number, string>();
  const conditions: Node[] = [];
  for (const row of state.rows) {
    try {
      conditions.push(row.kind === "attribute" ? attributeNode(row, attributes) : labelNode(row));
    } catch (error) {
      problems.set(row.key, error instanceof Error ? error.message : String(error));
    }
  }
  const parts: Node[] = [];
  if (state.search.trim()) parts.push({ search: state.search.trim() });
  parts.push(...state.others);
  if (state.combine === "or" && conditions.length > 1) parts.push({ or: conditions });
  else parts.push(...conditions);
  const where = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { and: parts };
  return { where, problems };
}

// --- tree -> rows ---------------------------------------------------------------------------

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

function parseCondition(node: Node, attributes: Attribute[], tasks: Task[]): Row | null {
  let negate = node.negate === true;
  let inner = node;
  if (isNode(node.not) && Object.keys(node).length === 1) {
    inner = node.not;
    negate = !(inner.negate === true);
  }
  if (typeof inner.attribute === "string") {
    const attribute = attributes.find((a) => a.name === inner.attribute);
    const op = (inner.op ?? "eq") as AttributeOp;
    if (!attribute || !opsFor(attribute.data_type).includes(op)) return null;
    const value = inner.value;
    let first = "";
    let second = "";
    if (op === "between") {
      if (!Array.isArray(value) || value.length !== 2) return null;
      first = text(value[0]);
      second = text(value[1]);
    } else if (op === "in") {
      if (!Array.isArray(value)) return null;
      first = value.map(text).join(", ");
    } else {
      first = text(value);
    }
    return {
      kind: "attribute",
      key: newKey(),
      attribute: attribute.name,
      op,
      value: first,
      value2: second,
      caseSensitive:
        typeof inner.case_sensitive === "boolean" ? inner.case_sensitive : !TEXT_OPS.includes(op),
      negate,
    };
  }
  if (typeof inner.task === "string") {
    if (!tasks.some((t) => t.name === inner.task)) return null;
    const source = (inner.source ?? "manual") as Source;
    if (!ANNOTATION_SOURCES.includes(source)) return null;
    const state = (inner.state ?? "") as LabelState;
    if (!statesFor(source).includes(state)) return null;
    const labels = Array.isArray(inner.labels)
      ? inner.labels.map(text)
      : typeof inner.label === "string"
        ? [inner.label]
        : [];
    return {
      kind: "label",
      key: newKey(),
      task: inner.task,
      source,
      labels,
      state,
      minConfidence: text(inner.min_confidence),
      maxConfidence: text(inner.max_confidence),
      negate,
    };
  }
  return null;
}

/** The panel of a tree: search, rows, and what the rows cannot show. */
export function parseWhere(
  where: Node | undefined,
  attributes: Attribute[],
  tasks: Task[],
): FilterState {
  const state: FilterState = { rows: [], combine: "and", search: "", others: [] };
  if (!where || Object.keys(where).length === 0) return state;
  const onlyAnd = Array.isArray(where.and) && Object.keys(where).length === 1;
  const parts: unknown[] = onlyAnd ? (where.and as unknown[]) : [where];
  const conditions: Node[] = [];
  for (const part of parts) {
    if (!isNode(part)) {
      state.others.push({ and: [part] });
    } else if (typeof part.search === "string" && Object.keys(part).length === 1 && !state.search) {
      state.search = part.search;
    } else {
      conditions.push(part);
    }
  }
  let candidates = conditions;
  const only = conditions.length === 1 ? conditions[0] : undefined;
  if (only && Array.isArray(only.or) && Object.keys(only).length === 1 && only.or.every(isNode)) {
    const rows = only.or.map((node) => parseCondition(node, attributes, tasks));
    if (rows.length > 1 && rows.every((row) => row !== null)) {
      state.rows = rows as Row[];
      state.combine = "or";
      return state;
    }
    candidates = [only];
  }
  for (const node of candidates) {
    const row = parseCondition(node, attributes, tasks);
    if (row) state.rows.push(row);
    else state.others.push(node);
  }
  return state;
}
