import { describe, expect, it } from "vitest";
import type { Attribute, Task } from "../api/client";
import {
  attributeRow,
  buildWhere,
  labelRow,
  opsFor,
  parseWhere,
  statesFor,
  type AttributeRow,
  type FilterState,
  type LabelRow,
} from "./browserFilter";

const attribute = (name: string, type: Attribute["data_type"], position = 0): Attribute => ({
  name,
  data_type: type,
  position,
  primary_key: false,
  calculated: false,
});
const ATTRIBUTES = [attribute("headline", "text"), attribute("year", "integer", 1)];
const TASKS: Task[] = [
  { id: 1, name: "clickbait", type: "classification", attribute: null, labels: [] },
];

const text = (patch: Partial<AttributeRow> = {}): AttributeRow => ({
  ...attributeRow(ATTRIBUTES[0]!),
  ...patch,
});
const year = (patch: Partial<AttributeRow> = {}): AttributeRow => ({
  ...attributeRow(ATTRIBUTES[1]!),
  ...patch,
});
const label = (patch: Partial<LabelRow> = {}): LabelRow => ({ ...labelRow(TASKS[0]!), ...patch });
const panel = (patch: Partial<FilterState>): FilterState => ({
  rows: [],
  combine: "and",
  search: "",
  others: [],
  ...patch,
});

describe("opsFor and statesFor", () => {
  it("offers the ops of each type, the most useful first", () => {
    expect(opsFor("text")[0]).toBe("contains");
    expect(opsFor("integer")[0]).toBe("eq");
    expect(opsFor("boolean")).toEqual(["eq", "ne", "is_null"]);
    expect(opsFor("float")).not.toContain("contains");
  });

  it("has gold and agreement for manual labels only", () => {
    expect(statesFor("manual")).toEqual(["", "none", "labeled", "gold", "agreed", "conflict"]);
    expect(statesFor("heuristic")).toEqual(["", "none", "labeled", "conflict"]);
  });
});

describe("buildWhere", () => {
  it("is no filter for an empty panel", () => {
    expect(buildWhere(panel({}), ATTRIBUTES)).toEqual({ where: undefined, problems: new Map() });
  });

  it("types the values of each row and ANDs the conditions after the search", () => {
    const state = panel({
      search: "  election ",
      rows: [text({ value: "War" }), year({ op: "between", value: "1990", value2: " 2000" })],
    });
    expect(buildWhere(state, ATTRIBUTES).where).toEqual({
      and: [
        { search: "election" },
        { attribute: "headline", op: "contains", value: "War", case_sensitive: false },
        { attribute: "year", op: "between", value: [1990, 2000] },
      ],
    });
  });

  it("ORs the rows as one group, after the kept conditions", () => {
    const state = panel({
      combine: "or",
      others: [{ ids: [1, 2] }],
      rows: [year({ op: "in", value: "1, 2,, 3" }), label({ labels: ["yes"], negate: true })],
    });
    expect(buildWhere(state, ATTRIBUTES).where).toEqual({
      and: [
        { ids: [1, 2] },
        {
          or: [
            { attribute: "year", op: "in", value: [1, 2, 3] },
            { task: "clickbait", label: "yes", negate: true },
          ],
        },
      ],
    });
  });

  it("writes a label row's source, labels and confidences, or only its state", () => {
    const weak = label({
      source: "weak_supervision",
      labels: ["yes", "no"],
      minConfidence: "0.5",
      maxConfidence: "",
    });
    expect(buildWhere(panel({ rows: [weak] }), ATTRIBUTES).where).toEqual({
      task: "clickbait",
      source: "weak_supervision",
      labels: ["yes", "no"],
      min_confidence: 0.5,
    });
    const conflict = label({ state: "conflict", labels: ["yes"], minConfidence: "0.9" });
    expect(buildWhere(panel({ rows: [conflict] }), ATTRIBUTES).where).toEqual({
      task: "clickbait",
      state: "conflict",
    });
  });

  it("names the problem of each row that cannot become a condition", () => {
    const rows = [
      year({ key: 1, value: "2.5" }),
      year({ key: 2, value: "" }),
      text({ key: 3, value: "" }),
      label({ key: 4, minConfidence: "2" }),
      text({ key: 5, op: "in", value: " , " }),
      text({ key: 6, value: "ok" }),
    ];
    const { where, problems } = buildWhere(panel({ rows }), ATTRIBUTES);
    expect(Object.fromEntries(problems)).toEqual({
      1: "the value must be a whole number",
      2: "the value must be a number",
      3: "type the text to look for",
      4: "the lowest confidence must be between 0 and 1",
      5: "give one or more values, separated by commas",
    });
    expect(where).toEqual({
      attribute: "headline",
      op: "contains",
      value: "ok",
      case_sensitive: false,
    });
  });
});

describe("parseWhere", () => {
  const shape = (state: FilterState) => ({
    ...state,
    rows: state.rows.map(({ key: _key, ...row }) => row),
  });

  it("reads the search, the rows, and keeps what rows cannot show", () => {
    const where = {
      and: [
        { search: "war" },
        { attribute: "year", op: "gt", value: 1990 },
        { not: { task: "clickbait", label: "yes" } },
        { ids: [4, 5] },
        { attribute: "year", op: "contains", value: "x" },
      ],
    };
    expect(shape(parseWhere(where, ATTRIBUTES, TASKS))).toEqual({
      search: "war",
      combine: "and",
      rows: [
        {
          kind: "attribute",
          attribute: "year",
          op: "gt",
          value: "1990",
          value2: "",
          caseSensitive: true,
          negate: false,
        },
        {
          kind: "label",
          task: "clickbait",
          source: "manual",
          labels: ["yes"],
          state: "",
          minConfidence: "",
          maxConfidence: "",
          negate: true,
        },
      ],
      others: [{ ids: [4, 5] }, { attribute: "year", op: "contains", value: "x" }],
    });
  });

  it("reads an OR group of rows back as an OR panel", () => {
    const where = {
      or: [
        { attribute: "headline", op: "in", value: ["a", "b"], case_sensitive: false },
        { task: "clickbait", source: "heuristic", state: "conflict" },
      ],
    };
    const state = parseWhere(where, ATTRIBUTES, TASKS);
    expect(state.combine).toBe("or");
    expect(state.rows.map((row) => (row.kind === "attribute" ? row.value : row.state))).toEqual([
      "a, b",
      "conflict",
    ]);
    expect(buildWhere(state, ATTRIBUTES).where).toEqual(where);
  });

  it("keeps an OR group with a condition the rows cannot show as it is", () => {
    const where = { or: [{ attribute: "year", op: "eq", value: 1 }, { ids: [1] }] };
    expect(parseWhere(where, ATTRIBUTES, TASKS)).toEqual(panel({ others: [where] }));
  });

  it("keeps a label condition of an unknown task or state", () => {
    const unknown = { task: "gone", label: "x" };
    const goldHeuristic = { task: "clickbait", source: "heuristic", state: "gold" };
    expect(parseWhere({ and: [unknown, goldHeuristic] }, ATTRIBUTES, TASKS).others).toEqual([
      unknown,
      goldHeuristic,
    ]);
  });
});
