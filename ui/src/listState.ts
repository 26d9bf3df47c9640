// What the overview says about a list, derived from its summary alone.
import type { ListSummary } from "./api";

export type ListStateKind = "paused" | "no-account" | "error" | "watching";

export interface ListState {
  kind: ListStateKind;
  label: string;
  /** The reason, for an error. */
  detail?: string;
}

/** Paused wins over everything; a list without an account is not checked,
 *  so it cannot have failed; otherwise the last check tells. */
export function listState(list: ListSummary): ListState {
  if (list.paused) return { kind: "paused", label: "Paused" };
  if (!list.has_account) return { kind: "no-account", label: "No account yet" };
  if (list.last_error) return { kind: "error", label: "Error", detail: list.last_error };
  return { kind: "watching", label: "Watching" };
}

/** "never", a time today, or a date and time. */
export function formatLastCheck(rfc3339: string | null, now: Date = new Date()): string {
  if (!rfc3339) return "never";
  const at = new Date(rfc3339);
  if (Number.isNaN(at.getTime())) return rfc3339;
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
