// Long work shown while it lasts: a list's sending (the agent's "progress"
// events) and adding many members at once.
import type { Progress } from "./api";

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
export function sendingLabel(p: Progress): string {
  return `Sending ${p.done} of ${p.total}`;
}

/** What the state cell of a list says: its sending while it lasts, else
 *  its state. Paused wins: a paused list sends nothing more. */
export function stateLabel(
  state: { kind: string; label: string },
  p: Progress | undefined,
): { kind: string; label: string } {
  if (!p || state.kind === "paused") return state;
  return { kind: "sending", label: sendingLabel(p) };
}

/** "Adding 40 members…", while a keyring import is saved. */
export function addingLabel(n: number): string {
  return `Adding ${n} ${n === 1 ? "member" : "members"}…`;
}
