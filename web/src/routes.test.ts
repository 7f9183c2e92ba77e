import { describe, expect, it } from "vitest";
import {
  projectPath,
  readSelection,
  selectionParams,
  selectionQuery,
  similarQuery,
  sliceOrder,
} from "./routes";

describe("projectPath", () => {
  it("encodes the project's name", () => {
    expect(projectPath("news 2024/a")).toBe("/projects/news%202024%2Fa");
  });

  it("adds the page and the query string when given", () => {
    expect(projectPath("p", "labeling", new URLSearchParams({ i: "3" }))).toBe(
      "/projects/p/labeling?i=3",
    );
    expect(projectPath("p", "browser", new URLSearchParams())).toBe("/projects/p/browser");
  });
});

describe("selectionParams", () => {
  it("leaves out what equals the defaults", () => {
    expect(selectionParams({ order: "id", desc: false, seed: 0, where: {} }).toString()).toBe("");
  });

  it("writes every part of a selection", () => {
    const params = selectionParams({
      where: { search: "war" },
      slice: "hard",
      order: "random",
      desc: true,
      seed: 7,
      similar: { record: 12, embedding: "e1", threshold: 0, limit: 20 },
    });
    expect([...params]).toEqual([
      ["where", '{"search":"war"}'],
      ["slice", "hard"],
      ["order", "random"],
      ["desc", "1"],
      ["seed", "7"],
      ["similar", "12"],
      ["embedding", "e1"],
      ["threshold", "0"],
      ["limit", "20"],
    ]);
  });
});

describe("readSelection", () => {
  it("gives the defaults for an empty query", () => {
    expect(readSelection(new URLSearchParams())).toEqual({
      where: undefined,
      slice: undefined,
      order: "id",
      desc: false,
      seed: 0,
      similar: undefined,
      outliers: undefined,
    });
  });

  it("reads back what selectionParams wrote", () => {
    const selection = {
      where: { attribute: "n", op: "gt", value: 3 },
      slice: "s",
      order: "n",
      desc: true,
      seed: 0,
      similar: { record: 4, embedding: undefined, threshold: 0.25, limit: undefined },
      outliers: undefined,
    };
    expect(readSelection(selectionParams(selection))).toEqual(selection);
  });

  it("shows every record for a filter that is not a JSON object", () => {
    expect(readSelection(new URLSearchParams({ where: "{broken" })).where).toBeUndefined();
    expect(readSelection(new URLSearchParams({ where: "[1,2]" })).where).toBeUndefined();
  });

  it("drops a similar record that is not a positive whole number, and bad numbers", () => {
    expect(readSelection(new URLSearchParams({ similar: "-2" })).similar).toBeUndefined();
    expect(readSelection(new URLSearchParams({ similar: "1.5" })).similar).toBeUndefined();
    const similar = readSelection(new URLSearchParams("similar=9&threshold=x&limit=0")).similar;
    expect(similar).toEqual({
      record: 9,
      embedding: undefined,
      threshold: undefined,
      limit: undefined,
    });
  });
});

describe("selectionQuery", () => {
  it("has no filter without a slice or a where", () => {
    expect(selectionQuery({})).toEqual({
      where: null,
      order_by: "id",
      descending: false,
      seed: 0,
    });
  });

  it("narrows a slice by the filter", () => {
    const where = { search: "x" };
    expect(selectionQuery({ slice: "s" }).where).toEqual({ slice: "s" });
    expect(selectionQuery({ where }).where).toEqual(where);
    expect(selectionQuery({ slice: "s", where, order: sliceOrder("s"), desc: true })).toEqual({
      where: { and: [{ slice: "s" }, where] },
      order_by: "slice:s",
      descending: true,
      seed: 0,
    });
  });
});

describe("similarQuery", () => {
  it("fills in the defaults and keeps the selection's filter", () => {
    expect(similarQuery({ slice: "s" }, { record: 3 })).toEqual({
      record: 3,
      embedding: null,
      threshold: null,
      limit: 50,
      where: { slice: "s" },
    });
  });
});
