import { describe, expect, it } from "vitest";
import type { Task } from "../api/client";
import { chooseLabel, reviewKey, sendPicked, START, type ReviewState } from "./reviewSession";

const label = (name: string, hotkey: string | null) => ({ id: 0, name, hotkey, color: "#111111" });
const task = (type: Task["type"]): Task => ({
  id: 1,
  name: "t",
  type,
  attribute: null,
  // "a" is a label's hotkey too: while answering it chooses the label, else it accepts.
  labels: [label("yes", "1"), label("no", "2"), label("about", "a")],
});
const CLASS = task("classification");
const MULTI = task("multi-label");
const state = (patch: Partial<ReviewState>): ReviewState => ({ ...START, ...patch });

describe("reviewKey", () => {
  it("accepts, rejects and starts a correction on a suggestion", () => {
    expect(reviewKey(CLASS, START, "a")).toEqual({ send: { action: "accept" } });
    expect(reviewKey(CLASS, START, "R")).toEqual({ send: { action: "reject" } });
    expect(reviewKey(CLASS, START, "c")).toEqual({ correcting: true });
    expect(reviewKey(CLASS, START, "1")).toBeNull(); // a label needs `c` first
    expect(reviewKey(CLASS, START, "x")).toBeNull();
  });

  it("corrects with a label's hotkey after c, or cancels with Escape", () => {
    const correcting = state({ correcting: true });
    expect(reviewKey(CLASS, correcting, "2")).toEqual({
      send: { action: "correct", label: "no" },
    });
    expect(reviewKey(CLASS, correcting, "a")).toEqual({
      send: { action: "correct", label: "about" },
    });
    expect(reviewKey(CLASS, correcting, "Escape")).toEqual({ correcting: false });
    expect(reviewKey(CLASS, correcting, "r")).toBeNull();
  });

  it("answers an audit item blind with a label, never accepts or rejects it", () => {
    const audit = state({ audit: true });
    expect(reviewKey(CLASS, audit, "1")).toEqual({ send: { action: "correct", label: "yes" } });
    expect(reviewKey(CLASS, audit, "r")).toBeNull();
    expect(reviewKey(CLASS, audit, "c")).toBeNull();
    expect(reviewKey(CLASS, audit, "Escape")).toBeNull();
  });

  it("collects multi-label choices until Enter", () => {
    let now = state({ correcting: true });
    const step = reviewKey(MULTI, now, "1");
    expect(step).toEqual({ picked: ["yes"] });
    now = { ...now, picked: ["yes"] };
    expect(reviewKey(MULTI, now, "2")).toEqual({ picked: ["yes", "no"] });
    expect(reviewKey(MULTI, now, "1")).toEqual({ picked: [] }); // chosen again: taken out
    expect(reviewKey(MULTI, now, "Enter")).toEqual({
      send: { action: "correct", label: ["yes"] },
    });
    expect(reviewKey(MULTI, state({ correcting: true }), "Enter")).toBeNull();
    expect(reviewKey(MULTI, state({ audit: true, picked: ["no"] }), "Enter")).toEqual({
      send: { action: "correct", label: ["no"] },
    });
  });
});

describe("chooseLabel and sendPicked", () => {
  it("do nothing unless a label answers", () => {
    expect(chooseLabel(CLASS, START, "yes")).toBeNull();
    expect(sendPicked(MULTI, state({ picked: ["yes"] }))).toBeNull();
    expect(sendPicked(CLASS, state({ correcting: true, picked: ["yes"] }))).toBeNull();
  });
});
