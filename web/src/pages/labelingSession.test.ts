import { describe, expect, it } from "vitest";
import type { Annotation, RecordDetail, Task } from "../api/client";
import {
  choiceChange,
  describe as describeSelection,
  hotkeyLabel,
  isMine,
  KEEP_KEY,
  keepChoice,
  position,
  positionText,
  readDone,
  readStored,
  removalChange,
  rememberHotkeyTask,
  settingsKey,
  taskForSelection,
  textSpans,
  type Pending,
} from "./labelingSession";

const label = (name: string, hotkey: string | null = null, color = "#111111") => ({
  id: 0,
  name,
  hotkey,
  color,
});
const task = (
  name: string,
  type: Task["type"],
  attribute: string | null = null,
  labels = [label("yes", "y"), label("no", "N")],
): Task => ({ id: name.length, name, type, attribute, labels });

const CLASS = task("clickbait", "classification");
const MULTI = task("topics", "multi-label");
const SPANS = task("entities", "extraction", "headline", [label("person", "p", "#ff0000")]);
const OTHER_SPANS = task("places", "extraction", "body", [label("city")]);

const annotation = (patch: Partial<Annotation>): Annotation => ({
  id: 1,
  label: "yes",
  source: "manual",
  source_id: "",
  source_name: null,
  annotator: "ann",
  gold: false,
  confidence: null,
  start_token: null,
  end_token: null,
  created_at: "2026-01-01T00:00:00",
  ...patch,
});

const record = (labels: Record<string, Annotation[]>): RecordDetail =>
  ({
    id: 42,
    data: {},
    tokens: {},
    labels: Object.fromEntries(
      Object.entries(labels).map(([name, annotations]) => [name, { annotations }]),
    ),
  }) as unknown as RecordDetail;

const ANN = { annotator: "ann", gold: false, autoNext: true };

describe("position", () => {
  it("reads a whole number from 0, anything else as 0", () => {
    expect(position("7")).toBe(7);
    expect(position(null)).toBe(0);
    expect(position("-3")).toBe(0);
    expect(position("2.5")).toBe(0);
    expect(position("x")).toBe(0);
  });
});

describe("describe", () => {
  it("names the records and their order", () => {
    expect(describeSelection({})).toBe("Every record, in id order");
    expect(describeSelection({ slice: "hard", where: { search: "x" }, desc: true })).toBe(
      "Slice “hard”, filtered, in id order, descending",
    );
    expect(describeSelection({ where: { search: "x" }, order: "random", seed: 3 })).toBe(
      "Filtered records, in random order (seed 3)",
    );
    expect(describeSelection({ order: "year", desc: true })).toBe(
      "Every record, ordered by year, descending",
    );
    // A selection's or a quality list's slice, in its own (ranked) order.
    expect(describeSelection({ slice: "picks", order: "slice:picks" })).toBe(
      "Slice “picks”, in the slice's order",
    );
  });

  it("names a search by its record or embedding", () => {
    expect(describeSelection({ similar: { record: 4 } }, "id 4")).toBe(
      "Records most similar to id 4, best first",
    );
    expect(describeSelection({ similar: { record: 4 }, slice: "s" })).toBe(
      "Records most similar to …, within the filter, best first",
    );
    expect(describeSelection({ outliers: "e1", slice: "s" })).toBe(
      "Outliers of the embedding e1, most unusual first",
    );
  });
});

describe("positionText", () => {
  it("says where the session stands", () => {
    expect(positionText(0, undefined)).toBe("…");
    expect(positionText(0, 0)).toBe("no record");
    expect(positionText(1233, 1400)).toBe("record 1,234 of 1,400");
    expect(positionText(1400, 1400)).toBe("end of 1,400 records");
  });
});

describe("isMine", () => {
  it("is the annotator's own manual labels, or the gold ones when labeling gold", () => {
    const own = annotation({});
    const gold = annotation({ gold: true, annotator: "someone" });
    const heuristic = annotation({ source: "heuristic", annotator: "" });
    expect([own, gold, heuristic].map((a) => isMine(a, "ann", false))).toEqual([
      true,
      false,
      false,
    ]);
    expect([own, gold, heuristic].map((a) => isMine(a, "ann", true))).toEqual([
      false,
      true,
      false,
    ]);
    expect(isMine(own, "other", false)).toBe(false);
  });
});

describe("choiceChange", () => {
  const selected: Pending = { record: 42, attribute: "headline", range: { start: 2, end: 4 } };

  it("gives a class and moves on when the settings say so", () => {
    expect(choiceChange(CLASS, "yes", record({}), 5, null, ANN)).toEqual({
      kind: "add",
      record: 42,
      index: 5,
      task: "clickbait",
      label: "yes",
      gold: false,
      next: true,
    });
    const stay = choiceChange(CLASS, "no", record({}), 5, null, { ...ANN, autoNext: false });
    expect(stay).toMatchObject({ kind: "add", label: "no", next: false });
  });

  it("toggles a multi-label label of the annotator's own", () => {
    const labeled = record({ topics: [annotation({ label: "yes" })] });
    expect(choiceChange(MULTI, "yes", labeled, 0, null, ANN)).toMatchObject({ kind: "remove" });
    expect(choiceChange(MULTI, "no", labeled, 0, null, ANN)).toMatchObject({ kind: "add" });
    // Someone else's label is not the annotator's to take back; as gold, nothing is labeled.
    const gold = { ...ANN, gold: true };
    expect(choiceChange(MULTI, "yes", labeled, 0, null, gold)).toMatchObject({
      kind: "add",
      gold: true,
    });
  });

  it("labels the selected words of the task's text, or asks for them", () => {
    expect(choiceChange(SPANS, "person", record({}), 1, selected, ANN)).toEqual({
      kind: "add",
      record: 42,
      index: 1,
      task: "entities",
      label: "person",
      gold: false,
      span: { start: 2, end: 4 },
    });
    expect(choiceChange(SPANS, "person", record({}), 1, null, ANN)).toEqual({
      notice: "Select words in headline first, then choose the label.",
    });
    expect(choiceChange(OTHER_SPANS, "city", record({}), 1, selected, ANN)).toEqual({
      notice: "Select words in body first, then choose the label.",
    });
  });
});

describe("removalChange", () => {
  it("takes back an annotation with its span and gold flag", () => {
    const span = annotation({ label: "person", gold: true, start_token: 3, end_token: 5 });
    expect(removalChange(SPANS, span, 42, 7, false)).toEqual({
      kind: "remove",
      record: 42,
      index: 7,
      task: "entities",
      label: "person",
      gold: true,
      span: { start: 3, end: 5 },
    });
  });

  it("without an annotation, takes back the task's label as the current gold choice", () => {
    expect(removalChange(CLASS, null, 42, 0, true)).toEqual({
      kind: "remove",
      record: 42,
      index: 0,
      task: "clickbait",
      label: null,
      gold: true,
      span: null,
    });
  });
});

describe("hotkeyLabel and taskForSelection", () => {
  it("finds a label by its hotkey in either case", () => {
    expect(hotkeyLabel(CLASS, "Y")?.name).toBe("yes");
    expect(hotkeyLabel(CLASS, "n")?.name).toBe("no");
    expect(hotkeyLabel(CLASS, "x")).toBeUndefined();
    expect(hotkeyLabel(task("t", "classification", null, [label("a", "")]), "")).toBeUndefined();
  });

  it("moves the hotkeys to an extraction task on the selected text", () => {
    const tasks = [CLASS, SPANS, OTHER_SPANS];
    expect(taskForSelection(tasks, CLASS, "body")).toBe(OTHER_SPANS);
    expect(taskForSelection(tasks, SPANS, "headline")).toBeUndefined();
    expect(taskForSelection(tasks, SPANS, "body")).toBe(OTHER_SPANS);
    expect(taskForSelection(tasks, CLASS, "title")).toBeUndefined();
  });
});

describe("textSpans", () => {
  const labeled = record({
    entities: [
      annotation({ id: 1, label: "person", start_token: 0, end_token: 2 }),
      annotation({ id: 2, label: "person", annotator: "bob", start_token: 3, end_token: 4 }),
      annotation({
        id: 3,
        label: "person",
        source: "heuristic",
        source_id: "caps",
        annotator: "",
        start_token: 5,
        end_token: 6,
      }),
      annotation({ id: 4, label: "gone" }),
    ],
  });

  it("draws the annotator's own spans, solid", () => {
    const spans = textSpans(labeled, [SPANS], { annotator: "ann", gold: false, otherSpans: false });
    expect(spans).toEqual([
      {
        key: "entities:1",
        label: "person",
        color: "#ff0000",
        start: 0,
        end: 2,
        dashed: false,
        by: "ann",
      },
    ]);
  });

  it("draws the others' dashed when asked, naming who gave them", () => {
    const spans = textSpans(labeled, [SPANS], { annotator: "ann", gold: false, otherSpans: true });
    expect(spans.map((s) => [s.key, s.dashed, s.by])).toEqual([
      ["entities:1", false, "ann"],
      ["entities:2", true, "bob"],
      ["entities:3", true, "heuristic caps"],
    ]);
  });
});

describe("readStored and readDone", () => {
  const storage = (value: string | null) => ({ getItem: () => value });

  it("reads a kept object, and anything else as nothing kept", () => {
    expect(readStored(storage('{"autoNext":false}'), "k")).toEqual({ autoNext: false });
    expect(readStored(storage(null), "k")).toEqual({});
    expect(readStored(storage("{broken"), "k")).toEqual({});
    expect(readStored(storage("3"), "k")).toEqual({});
  });

  it("reads the records done, ignoring a value that is not a list", () => {
    expect(readDone(storage('{"ids":[3,5,3]}'), "k")).toEqual(new Set([3, 5]));
    expect(readDone(storage('{"ids":"3"}'), "k")).toEqual(new Set());
  });
});

describe("keepChoice", () => {
  const withReference = (value: unknown, annotations: Annotation[], name = "clickbait") =>
    ({
      id: 42,
      data: {},
      tokens: {},
      labels: {
        [name]: { reference: { state: value === null ? "none" : "agreed", value }, annotations },
      },
    }) as unknown as RecordDetail;

  it("keeps the reference label, whoever gave it", () => {
    const record = withReference("yes", [annotation({ annotator: "other" })]);
    expect(keepChoice(CLASS, record, ANN)).toEqual({ keep: "yes" });
    expect(keepChoice(MULTI, withReference(["a", "b"], [], "topics"), ANN)).toEqual({
      keep: "a, b",
    });
    const spans = [{ label: "person", start_token: 0, end_token: 1 }];
    expect(keepChoice(SPANS, withReference(spans, [], "entities"), ANN)).toEqual({
      keep: "1 span",
    });
  });

  it("keeps the annotator's own label while annotators disagree", () => {
    const record = withReference(null, [
      annotation({ label: "no" }),
      annotation({ id: 2, label: "yes", annotator: "other" }),
    ]);
    expect(keepChoice(CLASS, record, ANN)).toEqual({ keep: "no" });
    // Another annotator's view: no label of theirs, so nothing to keep.
    const notice = keepChoice(CLASS, record, { annotator: "third", gold: false });
    expect(notice).toEqual({
      notice: "The annotators disagree on clickbait here: choose a label with its key.",
    });
  });

  it("says why when there is no manual label to keep", () => {
    const weakOnly = withReference(null, [annotation({ source: "heuristic", annotator: "" })]);
    expect(keepChoice(CLASS, weakOnly, ANN)).toEqual({
      notice: "No manual label of clickbait to keep: choose one with its key.",
    });
    expect(keepChoice(CLASS, record({}), ANN)).toHaveProperty("notice");
  });

  it("is a key no default label hotkey takes", () => {
    expect(KEEP_KEY).toBe("k");
    expect(hotkeyLabel(CLASS, KEEP_KEY)).toBeUndefined();
  });
});

describe("rememberHotkeyTask", () => {
  it("sets the hotkeys' task and keeps the other settings", () => {
    const kept = new Map<string, string>([[settingsKey("p"), '{"autoNext":false}']]);
    const storage = {
      getItem: (key: string) => kept.get(key) ?? null,
      setItem: (key: string, value: string) => void kept.set(key, value),
    };
    rememberHotkeyTask(storage, "p", "clickbait");
    expect(JSON.parse(kept.get(settingsKey("p"))!)).toEqual({ autoNext: false, task: "clickbait" });
    rememberHotkeyTask(storage, "q", "topics");
    expect(JSON.parse(kept.get(settingsKey("q"))!)).toEqual({ task: "topics" });
  });
});
