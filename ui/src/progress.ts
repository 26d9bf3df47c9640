// Long work shown while it lasts: a list's sending (the agent's "progress"
// events) and adding many members at once.
import type { Progress } from "./api";
import type { Translate } from "./i18n";

/** The sendings going on, by list address. */
export type Sending = Record<string, Progress>;

/** The sendings after one more report: a finished one is gone. */
export function applyProgress(sending: Sending, p: Progress): Sending {
  const next = { ...sending };
  if (p.finished || p.done >= p.total) delete next[p.list];
  else next[p.list] = p;
  return next;
}

/** "Sending 120 of 500". */
export function sendingLabel(t: Translate, p: Progress): string {
  return t("progress.sending", { done: p.done, total: p.total });
}

/** What the state cell of a list says: its sending while it lasts, else
 *  its state. Paused wins: a paused list sends nothing more. */
export function stateLabel(
  t: Translate,
  state: { kind: string; label: string },
  p: Progress | undefined,
): { kind: string; label: string } {
  if (!p || state.kind === "paused") return state;
  return { kind: "sending", label: sendingLabel(t, p) };
}

/** "Adding 40 members…", while a keyring import is saved. */
export function addingLabel(t: Translate, n: number): string {
  return t("progress.adding", { count: n });
}
