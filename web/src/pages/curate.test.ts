import { describe, expect, it } from "vitest";
import { parseSets } from "../api/curation";
import type { Project } from "../api/client";
import {
  distanceVerdict,
  FIRST_PAGE,
  firstRank,
  labelNames,
  nextPage,
  previousPage,
  readView,
  snippet,
} from "./curate";

const attribute = (name: string, data_type: string, primary_key = false, position = 0) => ({
  name,
  data_type,
  primary_key,
  position,
  calculated: null,
});
const PROJECT = {
  attributes: [attribute("running_id", "integer", true), attribute("headline", "text", false, 1)],
} as unknown as Pick<Project, "attributes">;

describe("readView", () => {
  it("opens the part the URL names, else what to label next", () => {
    expect(readView("split")).toBe("split");
    expect(readView("duplicates")).toBe("duplicates");
    expect(readView(null)).toBe("next");
    expect(readView("nope")).toBe("next");
  });
});

describe("parseSets", () => {
  it("reads named fractions or counts", () => {
    expect(parseSets("train=0.8,validation=0.1,test=0.1")).toEqual({
      train: 0.8,
      validation: 0.1,
      test: 0.1,
    });
    expect(parseSets(" train = 800 , test=200 ,")).toEqual({ train: 800, test: 200 });
    expect(parseSets("dev set=.5,rest=0.5")).toEqual({ "dev set": 0.5, rest: 0.5 });
  });

  it("says what is wrong", () => {
    expect(parseSets("")).toEqual({ error: "Name at least one set, e.g. train=0.8,test=0.2." });
    expect(parseSets("train=0.8,test")).toEqual({
      error: "“test” is not NAME=NUMBER (a fraction or a count).",
    });
    expect(parseSets("train=-1")).toHaveProperty("error");
    expect(parseSets("=0.5")).toHaveProperty("error");
    expect(parseSets("a=0.5,a=0.5")).toEqual({ error: "The set “a” is named twice." });
  });
});

describe("snippet", () => {
  it("shows the first text attribute, cut", () => {
    expect(snippet(PROJECT, { running_id: 3, headline: "Short one" })).toBe("Short one");
    expect(snippet(PROJECT, { running_id: 3, headline: "abcdef" }, 3)).toBe("abc…");
  });

  it("falls back to any string value, else nothing", () => {
    expect(snippet(PROJECT, { running_id: 3, other: "text" })).toBe("text");
    expect(snippet(PROJECT, { running_id: 3 })).toBe("");
    expect(snippet(PROJECT, null)).toBe("");
  });
});

describe("labelNames", () => {
  it("lists a label value's names", () => {
    expect(labelNames("yes")).toEqual(["yes"]);
    expect(labelNames(["a", "b"])).toEqual(["a", "b"]);
    expect(labelNames(null)).toEqual([]);
    expect(labelNames(undefined)).toEqual([]);
  });
});

describe("distanceVerdict", () => {
  it("places a set among random sets of its size", () => {
    expect(distanceVerdict(0.62)).toBe(
      "closer than a typical random set (62% of random sets are farther from the pool)",
    );
    expect(distanceVerdict(0.2)).toMatch(/^within random variation \(20%/);
    expect(distanceVerdict(0.01)).toMatch(/^farther than 95% of random sets \(1%/);
  });
});

describe("pages of a cursor-paged list", () => {
  it("walks forward and back", () => {
    const second = nextPage(FIRST_PAGE, "c2");
    const third = nextPage(second, "c3");
    expect(third).toEqual({ before: [null, "c2"], cursor: "c3" });
    expect(firstRank(third, 50)).toBe(101);
    expect(previousPage(third)).toEqual(second);
    expect(previousPage(second)).toEqual(FIRST_PAGE);
    expect(previousPage(FIRST_PAGE)).toBe(FIRST_PAGE);
  });
});
