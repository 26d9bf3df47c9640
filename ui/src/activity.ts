// What the activity view says and decides, apart from the markup: the
// filters an owner picks from, what each entry says (what happened, and
// why), local times, days as headings, and how pages join. Tested in
// activity.test.ts. The filtering itself is done by the store.
import type { ActivityEntry, ActivityGroup, ActivityPage, ActivityRequest } from "./api";
import type { Translate } from "./i18n";

/** Entries read at a time. */
export const PAGE_SIZE = 50;

export interface ActivityFilter {
  id: string;
  groups: ActivityGroup[];
}

/** The choices of the "Show" menu, in the order shown; the first is where
 *  the view starts: what became of the posts, and what went wrong. */
export const FILTERS: ActivityFilter[] = [
  { id: "posts", groups: ["accepted", "held", "rejected", "delivery", "error"] },
  { id: "accepted", groups: ["accepted"] },
  { id: "held", groups: ["held"] },
  { id: "rejected", groups: ["rejected"] },
  { id: "delivery", groups: ["delivery"] },
  { id: "error", groups: ["error"] },
  { id: "change", groups: ["change"] },
  { id: "all", groups: [] },
];

/** What a choice of the "Show" menu says. */
export function filterLabel(t: Translate, id: string): string {
  switch (id) {
    case "accepted":
      return t("activity.filter.accepted");
    case "held":
      return t("activity.filter.held");
    case "rejected":
      return t("activity.filter.rejected");
    case "delivery":
      return t("activity.filter.delivery");
    case "error":
      return t("activity.filter.error");
    case "change":
      return t("activity.filter.change");
    case "all":
      return t("activity.filter.all");
    default:
      return t("activity.filter.posts");
  }
}

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

/** How an entry's group is coloured. */
export const GROUP_TONE: Record<ActivityGroup, "ok" | "warn" | "bad" | "plain"> = {
  accepted: "ok",
  held: "warn",
  rejected: "plain",
  delivery: "ok",
  error: "bad",
  change: "plain",
  server: "plain",
};

/** How an entry's group is labelled. */
export function groupLabel(t: Translate, group: ActivityGroup): string {
  switch (group) {
    case "accepted":
      return t("activity.group.accepted");
    case "held":
      return t("activity.group.held");
    case "rejected":
      return t("activity.group.rejected");
    case "delivery":
      return t("activity.group.delivery");
    case "error":
      return t("activity.group.error");
    case "change":
      return t("activity.group.change");
    case "server":
      return t("activity.group.server");
  }
}

/** An entry in two parts: what happened, and the reason (the engine's own
 *  words; for an error, what to do). */
export interface Described {
  what: string;
  reason: string | null;
}

function post(t: Translate, sender: string, subject: string): string {
  if (!sender && !subject) return t("activity.aMessage");
  return t("activity.post", {
    sender: sender || t("common.unknownSender"),
    subject: subject || t("common.noSubject"),
  });
}

function fate(t: Translate, what: string, post: string): string {
  switch (what) {
    case "hold":
      return t("activity.fate.hold", { post });
    case "reject":
      return t("activity.fate.reject", { post });
    case "discard":
      return t("activity.fate.discard", { post });
    default:
      return t("activity.fate.quarantine", { post });
  }
}

function resolved(t: Translate, id: string, how: string): string {
  switch (how) {
    case "approved":
      return t("activity.held.approved", { id });
    case "rejected":
      return t("activity.held.rejected", { id });
    default:
      return t("activity.held.discarded", { id });
  }
}

/** Splits the engine's line into what happened and why. Lines of a shape
 *  not known here are shown whole, as they are. */
export function describe(t: Translate, entry: ActivityEntry): Described {
  const m = entry.message;
  let r: RegExpMatchArray | null;
  if ((r = m.match(/^post from (.*?) "(.*)": (hold|reject|discard|quarantine): ([\s\S]*)$/))) {
    return { what: fate(t, r[3], post(t, r[1], r[2])), reason: r[4] };
  }
  if ((r = m.match(/^post from (.*?) "(.*)": distribute to (\d+) member\(s\)$/))) {
    return {
      what: t("activity.accepted", { post: post(t, r[1], r[2]) }),
      reason: t("activity.goesTo", { count: Number(r[3]) }),
    };
  }
  if ((r = m.match(/^post from (.*?) "(.*)": delivered to (\d+) member\(s\)(?:; ([\s\S]*))?$/))) {
    const reached = t("activity.reached", { count: Number(r[3]) });
    return {
      what: t("activity.delivered", { post: post(t, r[1], r[2]) }),
      reason: r[4] ? t("activity.reachedAnd", { reached, rest: r[4] }) : reached,
    };
  }
  if ((r = m.match(/^held post (\d+) (approved|rejected|discarded) by an owner[:;]? ?([\s\S]*)$/))) {
    return { what: resolved(t, r[1], r[2]), reason: r[3] || null };
  }
  if ((r = m.match(/^to (\S+): will try again: ([\s\S]*)$/))) {
    return { what: t("activity.retry", { to: r[1] }), reason: r[2] };
  }
  if ((r = m.match(/^to (\S+): not delivered: ([\s\S]*)$/))) {
    return { what: t("activity.notDelivered", { to: r[1] }), reason: r[2] };
  }
  if ((r = m.match(/^not sent to (\S+): ([\s\S]*)$/))) {
    return { what: t("activity.notSent", { to: r[1] }), reason: r[2] };
  }
  if ((r = m.match(/^discarded: ([\s\S]*)$/))) {
    return { what: t("activity.copyDiscarded"), reason: r[1] };
  }
  return { what: m, reason: null };
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
export function dayLabel(t: Translate, at: string, now: Date = new Date()): string {
  const d = new Date(at);
  if (sameDay(d, now)) return t("activity.today");
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(d, yesterday)) return t("activity.yesterday");
  return d.toLocaleDateString(t.locale, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: d.getFullYear() === now.getFullYear() ? undefined : "numeric",
  });
}

/** The local time of an entry (its day is the heading above it). */
export function timeOfDay(t: Translate, at: string): string {
  return new Date(at).toLocaleTimeString(t.locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export interface Day {
  key: string;
  label: string;
  entries: ActivityEntry[];
}

/** Entries (newest first) under one heading per local day. */
export function byDay(t: Translate, entries: ActivityEntry[], now: Date = new Date()): Day[] {
  const days: Day[] = [];
  for (const e of entries) {
    const key = dayKey(e.at);
    const last = days[days.length - 1];
    if (last?.key === key) last.entries.push(e);
    else days.push({ key, label: dayLabel(t, e.at, now), entries: [e] });
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
export function summary(t: Translate, shown: Shown, filterId: string, text: string): string {
  const count = shown.entries.length;
  const filtered = filterId !== DEFAULT_FILTER || text.trim() !== "";
  if (count === 0) return filtered ? t("activity.nothingMatches") : t("activity.nothingYet");
  if (filtered) return shown.more ? t("activity.summaryMatchMore", { count }) : t("activity.summaryMatch", { count });
  return shown.more ? t("activity.summaryMore", { count }) : t("activity.summary", { count });
}
