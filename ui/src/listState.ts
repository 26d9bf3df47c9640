// What the overview says about a list, derived from its summary alone.
import type { ListSummary, Watching } from "./api";
import type { Translate } from "./i18n";

export type ListStateKind = "paused" | "no-account" | "offline" | "error" | "watching";

export interface ListState {
  kind: ListStateKind;
  label: string;
  /** The reason, for an error. */
  detail?: string;
}

/** How the agent watches one list's mailbox (AgentStatus.watching). */
export function watchingOf(address: string, watching: [string, Watching][] | undefined): Watching | null {
  return watching?.find(([a]) => a === address)?.[1] ?? null;
}

/** Paused wins over everything; a list without an account is not checked,
 *  so it cannot have failed; a server out of reach is said as such (the
 *  agent keeps trying, and the last error is usually that same failure);
 *  otherwise the last check tells, and how new mail is noticed. */
export function listState(t: Translate, list: ListSummary, watching: Watching | null = null): ListState {
  if (list.paused) return { kind: "paused", label: t("state.paused") };
  if (!list.has_account) return { kind: "no-account", label: t("state.noAccount") };
  if (watching?.state === "offline") {
    return { kind: "offline", label: t("state.offline"), detail: watching.detail };
  }
  if (list.last_error) return { kind: "error", label: t("state.error"), detail: list.last_error };
  switch (watching?.state) {
    case "polling":
      return { kind: "watching", label: t("state.polling") };
    case "connecting":
      return { kind: "watching", label: t("state.connecting") };
    default:
      return { kind: "watching", label: t("state.watching") };
  }
}

/** "never", a time today, or a date and time, in the window's language. */
export function formatLastCheck(t: Translate, rfc3339: string | null, now: Date = new Date()): string {
  if (!rfc3339) return t("common.never");
  const at = new Date(rfc3339);
  if (Number.isNaN(at.getTime())) return rfc3339;
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? at.toLocaleTimeString(t.locale, { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString(t.locale, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * What the list row says of copies waiting for the mail provider's sending
 * limit ("312 copies wait for the provider's sending limit, until 14:05"),
 * or null when none wait.
 */
export function limitNote(t: Translate, list: ListSummary, now: Date = new Date()): string | null {
  if (list.waiting_for_limit <= 0) return null;
  return list.limit_until
    ? t("overview.limitUntil", { count: list.waiting_for_limit, until: formatLastCheck(t, list.limit_until, now) })
    : t("overview.limit", { count: list.waiting_for_limit });
}

/** What the list row says of keys that came by mail and wait in the key
 *  inbox and of people who asked to join, or null when none wait. */
export function keysNote(t: Translate, list: ListSummary): string | null {
  const notes = [
    list.keys_waiting > 0 ? t("app.keysWaiting", { count: list.keys_waiting }) : null,
    list.join_requests > 0 ? t("app.joinRequests", { count: list.join_requests }) : null,
  ].filter((n) => n !== null);
  return notes.length > 0 ? notes.join(", ") : null;
}

/** What the list row says when one of the list's own keys ends within 60
 *  days (or has ended), or null. */
export function keyEndsNote(t: Translate, list: ListSummary, now: Date = new Date()): string | null {
  if (!list.list_key_ends) return null;
  const ends = new Date(list.list_key_ends);
  if (Number.isNaN(ends.getTime())) return null;
  const day = ends.toLocaleDateString(t.locale, { dateStyle: "medium" });
  return ends.getTime() <= now.getTime()
    ? t("app.listKeyEnded", { day })
    : t("app.listKeyEnds", { day });
}
