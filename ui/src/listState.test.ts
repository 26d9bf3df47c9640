import { describe, expect, it } from "vitest";
import type { ListSummary, Watching } from "./api";
import { formatLastCheck, keyEndsNote, keysNote, limitNote, listState, watchingOf } from "./listState";
import { translator } from "./i18n";

const t = translator("en");

function list(over: Partial<ListSummary> = {}): ListSummary {
  return {
    address: "team@example.org",
    name: "Team",
    protocol: "openpgp",
    members: 3,
    held: 0,
    deliveries_today: 0,
    paused: false,
    has_account: true,
    last_check: null,
    last_error: null,
    waiting_for_limit: 0,
    limit_until: null,
    keys_waiting: 0,
    join_requests: 0,
    keys_ending: 0,
    joined: 0,
    list_key_ends: null,
    ...over,
  };
}

const offline: Watching = { state: "offline", detail: "cannot reach imap.example.org:993" };

describe("listState", () => {
  it("says how new mail is noticed", () => {
    expect(listState(t, list(), { state: "listening" }).label).toBe("Watching");
    expect(listState(t, list(), { state: "polling" }).label).toBe("Watching (checked every minute)");
    expect(listState(t, list(), { state: "connecting" }).label).toBe("Connecting…");
    expect(listState(t, list()).kind).toBe("watching");
  });

  it("says offline, with the reason, over the error that the same failure left", () => {
    const s = listState(t, list({ last_error: "cannot reach imap.example.org:993" }), offline);
    expect(s).toEqual({ kind: "offline", label: "Offline, retrying", detail: offline.detail });
  });

  it("puts paused and no account first", () => {
    expect(listState(t, list({ paused: true }), offline).kind).toBe("paused");
    expect(listState(t, list({ has_account: false }), offline).kind).toBe("no-account");
  });

  it("shows the last error when the server is reachable", () => {
    const s = listState(t, list({ last_error: "the list key is missing" }), { state: "listening" });
    expect(s.kind).toBe("error");
    expect(s.detail).toBe("the list key is missing");
  });
});

describe("watchingOf", () => {
  it("finds a list's watcher by address", () => {
    const all: [string, Watching][] = [
      ["a@example.org", { state: "listening" }],
      ["team@example.org", offline],
    ];
    expect(watchingOf("team@example.org", all)).toEqual(offline);
    expect(watchingOf("b@example.org", all)).toBeNull();
    expect(watchingOf("a@example.org", undefined)).toBeNull();
  });
});

describe("formatLastCheck", () => {
  it("says never before the first check", () => {
    expect(formatLastCheck(t, null)).toBe("never");
  });
});

describe("limitNote", () => {
  it("says how many copies wait for the provider's limit, and until when", () => {
    expect(limitNote(t, list())).toBeNull();
    const now = new Date("2026-12-03T10:00:00Z");
    const until = new Date("2026-12-03T11:00:00Z");
    const note = limitNote(t, list({ waiting_for_limit: 312, limit_until: until.toISOString() }), now);
    expect(note).toBe(`312 copies wait for the provider's sending limit, until ${formatLastCheck(t, until.toISOString(), now)}`);
    expect(limitNote(t, list({ waiting_for_limit: 1 }))).toBe("1 copy waits for the provider's sending limit");
  });
});

describe("keysNote", () => {
  it("tells of keys that came by mail, and says nothing without", () => {
    expect(keysNote(t, list())).toBeNull();
    expect(keysNote(t, list({ keys_waiting: 1 }))).toBe("1 key waits");
    expect(keysNote(t, list({ keys_waiting: 3 }))).toBe("3 keys wait");
    expect(keysNote(translator("de"), list({ keys_waiting: 3 }))).toBe("3 Schlüssel warten");
    expect(keysNote(t, list({ keys_waiting: 1, join_requests: 2 }))).toBe("1 key waits, 2 asked to join");
  });
});

describe("keyEndsNote", () => {
  const now = new Date("2026-12-03T12:00:00Z");
  it("asks for a renewal before the list key ends, and says when it has", () => {
    expect(keyEndsNote(t, list(), now)).toBeNull();
    expect(keyEndsNote(t, list({ list_key_ends: "2027-01-15T00:00:00Z" }), now)).toContain("renew it");
    expect(keyEndsNote(t, list({ list_key_ends: "2026-11-15T00:00:00Z" }), now)).toContain("ended");
  });
});
