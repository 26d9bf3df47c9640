// What the activity view says and decides, apart from the markup: the
// filters an owner picks from, what each entry says (what happened, and
// why), local times, days as headings, and how pages join. Tested in
// activity.test.ts. The filtering itself is done by the store.
import type { ActivityEntry, ActivityGroup, ActivityPage, ActivityRequest } from "./api";

/** Entries read at a time. */
export const PAGE_SIZE = 50;

export interface ActivityFilter {
  id: string;
  label: string;
  groups: ActivityGroup[];
}

/** The choices of the "Show" menu, in the order shown; the first is where
 *  the view starts: what became of the posts, and what went wrong. */
export const FILTERS: ActivityFilter[] = [
  {
    id: "posts",
    label: "Posts, deliveries and errors",
    groups: ["accepted", "held", "rejected", "delivery", "error"],
  },
  { id: "accepted", label: "Posts sent on", groups: ["accepted"] },
  { id: "held", label: "Posts held", groups: ["held"] },
  { id: "rejected", label: "Posts rejected or discarded", groups: ["rejected"] },
  { id: "delivery", label: "Deliveries", groups: ["delivery"] },
  { id: "error", label: "Errors", groups: ["error"] },
  { id: "change", label: "Changes by an owner", groups: ["change"] },
  { id: "all", label: "Everything, with filing on the server", groups: [] },
];

export const DEFAULT_FILTER = FILTERS[0].id;

export function filterById(id: string): ActivityFilter {
  return FILTERS.find((f) => f.id === id) ?? FILTERS[0];
}

/** The request for the first page, or for the page before `before`. */
export function activityRequest(
  list: string | null,
  filterId: string,
  text: string,
  before: number | null = null,
): ActivityRequest {
  return {
    list,
    before,
    limit: PAGE_SIZE,
    groups: filterById(filterId).groups,
    text: text.trim(),
  };
}

/** How an entry's group is labelled and coloured. */
export const GROUP_LOOK: Record<ActivityGroup, { label: string; tone: "ok" | "warn" | "bad" | "plain" }> = {
  accepted: { label: "Sent on", tone: "ok" },
  held: { label: "Held", tone: "warn" },
  rejected: { label: "Rejected", tone: "plain" },
  delivery: { label: "Delivery", tone: "ok" },
  error: { label: "Error", tone: "bad" },
  change: { label: "Change", tone: "plain" },
  server: { label: "Filed", tone: "plain" },
};

/** An entry in two parts: what happened, and the reason (the engine's own
 *  words; for an error, what to do). */
export interface Described {
  what: string;
  reason: string | null;
}

const FATE: Record<string, string> = {
  hold: "held",
  reject: "rejected",
  discard: "discarded",
  quarantine: "set aside (quarantine)",
};

function post(sender: string, subject: string): string {
  if (!sender && !subject) return "A message";
  return `Post from ${sender || "an unknown sender"} “${subject || "(no subject)"}”`;
}

/** Splits the engine's line into what happened and why. Lines of a shape
 *  not known here are shown whole, as they are. */
export function describe(entry: ActivityEntry): Described {
  const m = entry.message;
  let r: RegExpMatchArray | null;
  if ((r = m.match(/^post from (.*?) "(.*)": (hold|reject|discard|quarantine): ([\s\S]*)$/))) {
    return { what: `${post(r[1], r[2])} ${FATE[r[3]]}`, reason: r[4] };
  }
  if ((r = m.match(/^post from (.*?) "(.*)": distribute to (\d+) member\(s\)$/))) {
    return { what: `${post(r[1], r[2])} accepted`, reason: `from a member: goes to ${members(r[3])}` };
  }
  if ((r = m.match(/^post from (.*?) "(.*)": delivered to (\d+) member\(s\)(?:; ([\s\S]*))?$/))) {
    return {
      what: `${post(r[1], r[2])} delivered`,
      reason: `reached ${members(r[3])}${r[4] ? `; ${r[4]}` : ""}`,
    };
  }
  if ((r = m.match(/^held post (\d+) (approved|rejected|discarded) by an owner[:;]? ?([\s\S]*)$/))) {
    return { what: `Held post ${r[1]} ${r[2]} by an owner`, reason: r[3] || null };
  }
  if ((r = m.match(/^to (\S+): will try again: ([\s\S]*)$/))) {
    return { what: `Delivery to ${r[1]} will be tried again`, reason: r[2] };
  }
  if ((r = m.match(/^to (\S+): not delivered: ([\s\S]*)$/))) {
    return { what: `Not delivered to ${r[1]}`, reason: r[2] };
  }
  if ((r = m.match(/^not sent to (\S+): ([\s\S]*)$/))) {
    return { what: `Not sent to ${r[1]}`, reason: r[2] };
  }
  if ((r = m.match(/^discarded: ([\s\S]*)$/))) {
    return { what: "A copy discarded", reason: r[1] };
  }
  return { what: m, reason: null };
}

function members(n: string): string {
  return `${n} ${n === "1" ? "member" : "members"}`;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** The local day of a time, as "YYYY-MM-DD". */
export function dayKey(at: string): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A day heading: "Today", "Yesterday", or the local date. */
export function dayLabel(at: string, now: Date = new Date()): string {
  const d = new Date(at);
  if (sameDay(d, now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(d, yesterday)) return "Yesterday";
  return d.toLocaleDateString(undefined, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: d.getFullYear() === now.getFullYear() ? undefined : "numeric",
  });
}

/** The local time of an entry (its day is the heading above it). */
export function timeOfDay(at: string): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export interface Day {
  key: string;
  label: string;
  entries: ActivityEntry[];
}

/** Entries (newest first) under one heading per local day. */
export function byDay(entries: ActivityEntry[], now: Date = new Date()): Day[] {
  const days: Day[] = [];
  for (const e of entries) {
    const key = dayKey(e.at);
    const last = days[days.length - 1];
    if (last?.key === key) last.entries.push(e);
    else days.push({ key, label: dayLabel(e.at, now), entries: [e] });
  }
  return days;
}

/** The entries shown and whether older ones can be loaded. */
export interface Shown {
  entries: ActivityEntry[];
  more: boolean;
}

/** Older entries loaded below those shown. */
export function appendOlder(shown: Shown, page: ActivityPage): Shown {
  const seen = new Set(shown.entries.map((e) => e.id));
  return { entries: [...shown.entries, ...page.entries.filter((e) => !seen.has(e.id))], more: page.more };
}

/** The first page read again (something happened): newer entries go on
 *  top, the older pages already loaded stay. If the new page does not reach
 *  what is shown, there is a gap, and the page replaces it all. */
export function mergeNewest(shown: Shown, first: ActivityPage): Shown {
  const top = shown.entries[0];
  if (!top) return { entries: first.entries, more: first.more };
  const newer = first.entries.filter((e) => e.id > top.id);
  const reaches = first.entries.some((e) => e.id <= top.id) || !first.more;
  if (!reaches) return { entries: first.entries, more: first.more };
  return { entries: [...newer, ...shown.entries], more: shown.more };
}

/** Words for what the view shows, for the status line. */
export function summary(shown: Shown, filterId: string, text: string): string {
  const n = shown.entries.length;
  const filtered = filterId !== DEFAULT_FILTER || text.trim() !== "";
  if (n === 0) return filtered ? "Nothing matches." : "Nothing has happened yet.";
  const count = `${n} ${n === 1 ? "entry" : "entries"}`;
  return `${count}${filtered ? " match" + (n === 1 ? "es" : "") : ""}, newest first${shown.more ? "; older ones can be loaded" : ""}.`;
}
