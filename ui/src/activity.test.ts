import { describe as group, expect, it } from "vitest";
import type { ActivityEntry, ActivityGroup } from "./api";
import {
  activityRequest,
  appendOlder,
  byDay,
  dayLabel,
  DEFAULT_FILTER,
  describe,
  filterById,
  FILTERS,
  mergeNewest,
  PAGE_SIZE,
  summary,
} from "./activity";
import { translator } from "./i18n";

const t = translator("en");

function entry(id: number, message: string, at = "2026-03-01T12:00:00Z", g: ActivityGroup = "change"): ActivityEntry {
  return { id, at, list: "l@example.org", list_name: "L", kind: "decision", group: g, post_id: null, message };
}

group("the filters", () => {
  it("ask the store for the groups of the choice, posts and what went wrong first", () => {
    expect(FILTERS[0].id).toBe(DEFAULT_FILTER);
    expect(FILTERS[0].groups).toEqual(["accepted", "held", "rejected", "delivery", "error"]);
    expect(filterById("all").groups).toEqual([]);
    expect(activityRequest("l@example.org", "held", "  bob ")).toEqual({
      list: "l@example.org",
      before: null,
      limit: PAGE_SIZE,
      groups: ["held"],
      text: "bob",
    });
    expect(activityRequest(null, "error", "", 42)).toMatchObject({ list: null, before: 42, groups: ["error"] });
  });

  it("fall back to the first choice for an unknown one", () => {
    expect(filterById("nonsense").id).toBe(DEFAULT_FILTER);
  });

  it("cover every group an owner filters by", () => {
    const covered = new Set(FILTERS.flatMap((f) => f.groups));
    for (const g of ["accepted", "held", "rejected", "delivery", "error", "change"]) {
      expect(covered.has(g as ActivityGroup)).toBe(true);
    }
  });
});

group("an entry's words", () => {
  it("split a decision into what happened and the reason", () => {
    const held = describe(t, entry(1, 'post from eve@example.org "let me in": hold: eve@example.org is not a member'));
    expect(held).toEqual({
      what: "Post from eve@example.org “let me in” held",
      reason: "eve@example.org is not a member",
    });
    const rejected = describe(t, entry(2, 'post from a@x "spam": reject: not a member and the list rejects posts from non-members'));
    expect(rejected.what).toBe("Post from a@x “spam” rejected");
    const quarantined = describe(t, entry(3, 'post from  "": quarantine: it cannot be read as e-mail'));
    expect(quarantined).toEqual({ what: "A message set aside (quarantine)", reason: "it cannot be read as e-mail" });
  });

  it("keep quotes and colons of a subject", () => {
    const d = describe(t, entry(1, 'post from a@x "Re: "quoted": yes": discard: a loop'));
    expect(d.what).toBe("Post from a@x “Re: \"quoted\": yes” discarded");
    expect(d.reason).toBe("a loop");
  });

  it("say who a post goes to and whom it reached", () => {
    expect(describe(t, entry(1, 'post from a@x "hi": distribute to 3 member(s)'))).toEqual({
      what: "Post from a@x “hi” accepted",
      reason: "from a member: goes to 3 members",
    });
    expect(describe(t, entry(2, 'post from a@x "hi": delivered to 1 member(s)')).reason).toBe("reached 1 member");
    expect(
      describe(t, entry(3, 'post from a@x "hi": delivered to 2 member(s); 1 could not be reached (see the errors)')).reason,
    ).toBe("reached 2 members; 1 could not be reached (see the errors)");
  });

  it("read an owner's resolution and deliveries", () => {
    expect(describe(t, entry(1, "held post 4 approved by an owner: distribute to 2 member(s)"))).toEqual({
      what: "Held post 4 approved by an owner",
      reason: "distribute to 2 member(s)",
    });
    expect(describe(t, entry(2, "held post 5 discarded by an owner"))).toEqual({
      what: "Held post 5 discarded by an owner",
      reason: null,
    });
    expect(describe(t, entry(3, "to bob@x: will try again: 450 mailbox busy"))).toEqual({
      what: "Delivery to bob@x will be tried again",
      reason: "450 mailbox busy",
    });
    expect(describe(t, entry(4, "to bob@x: not delivered: 550 no such user")).what).toBe("Not delivered to bob@x");
  });

  it("show other lines whole, as the engine wrote them (errors say what to do)", () => {
    const error =
      "cannot log in to IMAP at 127.0.0.1:143: authentication failed. Check the user and password with `conclave-cli list account`";
    expect(describe(t, entry(1, error, undefined, "error"))).toEqual({ what: error, reason: null });
    expect(describe(t, entry(2, "max-size set to '1M'")).what).toBe("max-size set to '1M'");
  });
});

group("days and pages", () => {
  const now = new Date(2026, 2, 10, 15, 0, 0);
  const local = (d: number, h: number) => new Date(2026, 2, d, h, 30, 0).toISOString();

  it("head each local day once, newest first", () => {
    const days = byDay(t, 
      [entry(5, "e", local(10, 14)), entry(4, "d", local(10, 1)), entry(3, "c", local(9, 23)), entry(1, "a", local(2, 9))],
      now,
    );
    expect(days.map((d) => d.label.split(" ")[0])).toEqual(["Today", "Yesterday", dayLabel(t, local(2, 9), now).split(" ")[0]]);
    expect(days.map((d) => d.entries.map((e) => e.id))).toEqual([[5, 4], [3], [1]]);
    expect(dayLabel(t, new Date(2025, 11, 24, 12).toISOString(), now)).toMatch(/2025/);
  });

  it("put older pages below without repeats", () => {
    const shown = { entries: [entry(9, "i"), entry(8, "h")], more: true };
    const next = appendOlder(shown, { entries: [entry(8, "h"), entry(7, "g")], more: false });
    expect(next.entries.map((e) => e.id)).toEqual([9, 8, 7]);
    expect(next.more).toBe(false);
  });

  it("put new entries on top and keep the older pages", () => {
    const shown = { entries: [entry(9, "i"), entry(8, "h"), entry(2, "b")], more: true };
    const merged = mergeNewest(shown, { entries: [entry(11, "k"), entry(10, "j"), entry(9, "i")], more: true });
    expect(merged.entries.map((e) => e.id)).toEqual([11, 10, 9, 8, 2]);
    expect(merged.more).toBe(true);
  });

  it("start again when the new page does not reach what is shown", () => {
    const shown = { entries: [entry(3, "c")], more: false };
    const merged = mergeNewest(shown, { entries: [entry(60, "x"), entry(59, "y")], more: true });
    expect(merged.entries.map((e) => e.id)).toEqual([60, 59]);
    expect(merged.more).toBe(true);
    expect(mergeNewest({ entries: [], more: false }, { entries: [entry(1, "a")], more: false }).entries).toHaveLength(1);
  });

  it("say how much is shown", () => {
    expect(summary(t, { entries: [], more: false }, DEFAULT_FILTER, "")).toBe("Nothing has happened yet.");
    expect(summary(t, { entries: [], more: false }, "held", "")).toBe("Nothing matches.");
    expect(summary(t, { entries: [entry(1, "a")], more: false }, DEFAULT_FILTER, "bob")).toBe("1 entry matches, newest first.");
    expect(summary(t, { entries: [entry(2, "b"), entry(1, "a")], more: true }, DEFAULT_FILTER, "")).toBe(
      "2 entries, newest first; older ones can be loaded.",
    );
  });
});
