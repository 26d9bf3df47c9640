import { describe, expect, it } from "vitest";
import type { Progress } from "./api";
import { addingLabel, applyProgress, sendingLabel, stateLabel } from "./progress";
import { translator } from "./i18n";

const t = translator("en");

function p(list: string, done: number, total: number, finished = false): Progress {
  return { list, what: "sending", done, total, finished };
}

describe("sending progress", () => {
  it("is kept per list while it lasts and gone when finished", () => {
    let s = applyProgress({}, p("a@x", 0, 500));
    s = applyProgress(s, p("b@x", 3, 10));
    s = applyProgress(s, p("a@x", 120, 500));
    expect(sendingLabel(t, s["a@x"])).toBe("Sending 120 of 500");
    expect(Object.keys(s).sort()).toEqual(["a@x", "b@x"]);
    s = applyProgress(s, p("a@x", 500, 500, true));
    expect(s["a@x"]).toBeUndefined();
    // A sending stopped by an error ends short of its total.
    s = applyProgress(s, p("b@x", 4, 10, true));
    expect(s).toEqual({});
  });

  it("replaces the state while it lasts, except for a paused list", () => {
    const watching = { kind: "watching", label: "Watching" };
    expect(stateLabel(t, watching, undefined)).toBe(watching);
    expect(stateLabel(t, watching, p("a@x", 7, 40))).toEqual({ kind: "sending", label: "Sending 7 of 40" });
    const paused = { kind: "paused", label: "Paused" };
    expect(stateLabel(t, paused, p("a@x", 7, 40))).toBe(paused);
  });
});

describe("adding members", () => {
  it("counts them", () => {
    expect(addingLabel(t, 40)).toBe("Adding 40 members…");
    expect(addingLabel(t, 1)).toBe("Adding 1 member…");
  });
});
