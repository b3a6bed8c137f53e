import { describe, expect, it } from "vitest";
import { describeDue, longDate } from "./dates.ts";

const today = new Date(2026, 11, 3); // 3 December 2026, local time

describe("describeDue", () => {
  it.each([
    ["2026-12-01", "2 days late", "late"],
    ["2026-12-02", "1 day late", "late"],
    ["2026-12-03", "today", "soon"],
    ["2026-12-04", "tomorrow", "soon"],
    ["2026-12-06", "in 3 days", "soon"],
    ["2026-12-20", "in 17 days", "later"],
    ["not a date", "no due date", "later"],
  ])("%s is %s", (due, label, tone) => {
    expect(describeDue(due, today)).toEqual({ label, tone });
  });
});

describe("longDate", () => {
  it("spells the date out", () => {
    expect(longDate("2026-12-04")).toBe("Friday 4 December 2026");
  });
});
