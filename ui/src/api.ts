// The window's only way to the app: typed wrappers over the commands and the
// event of src-tauri (src/commands.rs, src/watch.rs). Field names are the
// Rust ones.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

/** One line of the lists overview (conclave_engine::store::ListSummary). */
export interface ListSummary {
  address: string;
  name: string;
  protocol: string;
  members: number;
  held: number;
  deliveries_today: number;
  paused: boolean;
  has_account: boolean;
  /** RFC 3339, UTC; null before the first check. */
  last_check: string | null;
  last_error: string | null;
}

/** A post waiting for an owner (conclave_engine::store::HeldPost). */
export interface HeldPost {
  id: number;
  post_id: number;
  sender: string;
  subject: string;
  size: number;
  reason: string;
  /** Automated mail (bounces, auto-replies) can only be discarded. */
  approvable: boolean;
  /** RFC 3339, UTC. */
  held_at: string;
}

/** What an owner does with a held post. */
export type HeldAction = "approve" | "reject" | "discard";

/** The agent itself (src-tauri/src/watch.rs AgentStatus). */
export interface AgentStatus {
  paused_all: boolean;
  error: string | null;
  data_dir: string;
}

/** How a failed command reaches the window. */
export interface CommandError {
  code: string;
  message: string;
}

export const LISTS_CHANGED = "lists-changed";

export function fetchLists(): Promise<ListSummary[]> {
  return invoke<ListSummary[]>("lists");
}

export function fetchStatus(): Promise<AgentStatus> {
  return invoke<AgentStatus>("status");
}

export function setPaused(address: string, paused: boolean): Promise<void> {
  return invoke<void>("set_paused", { address, paused });
}

export function checkNow(): Promise<void> {
  return invoke<void>("check_now");
}

export function fetchHeldPosts(address: string): Promise<HeldPost[]> {
  return invoke<HeldPost[]>("held_posts", { address });
}

export function resolveHeld(address: string, id: number, action: HeldAction): Promise<void> {
  return invoke<void>("resolve_held", { address, id, action });
}

export function onListsChanged(handler: (status: AgentStatus) => void): Promise<UnlistenFn> {
  return listen<AgentStatus>(LISTS_CHANGED, (event) => handler(event.payload));
}

/** The words of whatever a command threw. */
export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    return String((error as CommandError).message);
  }
  return String(error);
}
