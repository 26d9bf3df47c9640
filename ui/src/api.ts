// The window's only way to the app: typed wrappers over the commands and the
// event of src-tauri (src/commands.rs, src/watch.rs...). The types are the
// Rust ones, generated into ./bindings.ts (see src-tauri/src/bindings.rs);
// only the commands' argument names are written here.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  Account,
  ActivityPage,
  ActivityQuery,
  AgentStatus,
  BackupState,
  BundleSummary,
  CertInfo,
  CheckReport,
  CommandError,
  CreatedList,
  Endpoint,
  HeldAction,
  HeldPost,
  HeldView,
  InvitationView,
  JoinRequest,
  KeyCandidate,
  KeyInput,
  ListCheck,
  ListKeys,
  ListKeySummary,
  ListKeyView,
  ListSummary,
  MailboxLogin,
  MemberRow,
  MembersView,
  PendingKey,
  PolicyView,
  Progress,
  Protocol,
  ProviderPreset,
  Role,
} from "./bindings";

export type {
  Account,
  ActivityEntry,
  ActivityGroup,
  ActivityPage,
  AgentStatus,
  Attachment,
  BackupState,
  BundleSummary,
  CertInfo,
  CheckReport,
  Choice,
  CommandError,
  CreatedList,
  EncryptionKind,
  Endpoint,
  HeaderLine,
  HeldAction,
  HeldPost,
  HeldView,
  InvitationView,
  JoinRequest,
  KeyAction,
  KeyCandidate,
  KeyInfo,
  KeyInput,
  ListCheck,
  ListKeys,
  ListKeySummary,
  ListKeyView,
  ListSummary,
  MemberKeyView,
  MemberRow,
  MembersView,
  PendingKey,
  PolicyError,
  PolicyView,
  PostView,
  Preset,
  Problem,
  ProblemKind,
  Progress,
  Protection,
  Protocol,
  ProviderPreset,
  RejectNotice,
  Renewal,
  Role,
  ServerOutcome,
  ServerPreset,
  SettingChoices,
  SettingProblem,
  SignatureKind,
  TextPart,
  TlsMode,
  Trust,
  UserAddress,
  UserName,
  Watching,
} from "./bindings";

export const LISTS_CHANGED = "lists-changed";

export function fetchLists(): Promise<ListSummary[]> {
  return invoke<ListSummary[]>("lists");
}

export function fetchStatus(): Promise<AgentStatus> {
  return invoke<AgentStatus>("status");
}

/** Removes a list from this laptop (secrets included); `typed` is its
 *  address as the owner typed it again to confirm. */
export function forgetList(address: string, typed: string): Promise<void> {
  return invoke<void>("forget_list", { address, typed });
}

export function setPaused(address: string, paused: boolean): Promise<void> {
  return invoke<void>("set_paused", { address, paused });
}

export function checkNow(): Promise<void> {
  return invoke<void>("check_now");
}

/** Starts the demo (`conclave --demo`) as an app of its own, beside this one. */
export function startDemo(): Promise<void> {
  return invoke<void>("start_demo");
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

// ---- Members (src-tauri/src/commands.rs, "Members") ----

export function fetchMembers(address: string): Promise<MembersView> {
  return invoke<MembersView>("members", { address });
}

/** Reads key files (or pasted text) and says what saving them would do. */
export function reviewKeys(
  address: string,
  email: string | null,
  files: Uint8Array[],
): Promise<KeyCandidate[]> {
  return invoke<KeyCandidate[]>("review_keys", { address, email, files: files.map((f) => Array.from(f)) });
}

/** `pin`: an S/MIME certificate trusted for this member only. */
export function addMember(
  address: string,
  email: string,
  name: string,
  role: Role,
  key: number[] | null,
  pin = false,
): Promise<MemberRow> {
  return invoke<MemberRow>("add_member", { address, email, name, role, key, pin });
}

export function setMemberKey(
  address: string,
  email: string,
  key: number[],
  replace: boolean,
  pin = false,
): Promise<MemberRow> {
  return invoke<MemberRow>("set_member_key", { address, email, key, replace, pin });
}

/** Adds one member per key (by fingerprint), all or none; `pinned`
 *  certificates are trusted for their member only. */
export function importMembers(
  address: string,
  files: Uint8Array[],
  fingerprints: string[],
  pinned: string[],
  role: Role,
): Promise<MemberRow[]> {
  return invoke<MemberRow[]>("import_members", {
    address,
    files: files.map((f) => Array.from(f)),
    fingerprints,
    pinned,
    role,
  });
}

export function removeMember(address: string, email: string): Promise<void> {
  return invoke<void>("remove_member", { address, email });
}

/** Whether Conclave starts (in the tray) when the user logs in. */
export function fetchStartAtLogin(): Promise<boolean> {
  return invoke<boolean>("start_at_login");
}

/** Turns starting at login on or off; resolves to the state now. */
export function setStartAtLogin(on: boolean): Promise<boolean> {
  return invoke<boolean>("set_start_at_login", { on });
}

// ---- Policy (src-tauri/src/policy_cmds.rs) ----

/** Every list setting by its CLI key, in the CLI's spelling. */
export type Settings = PolicyView["settings"];

export function fetchPolicy(address: string): Promise<PolicyView> {
  return invoke<PolicyView>("policy", { address });
}

/** Saves (key, value) changes all at once, or none when one is refused. */
export function savePolicy(address: string, changes: [string, string][]): Promise<PolicyView> {
  return invoke<PolicyView>("save_policy", { address, changes });
}

// ---- Activity (src-tauri/src/activity_cmds.rs) ----

/** What to read of the log: the command's arguments are an ActivityQuery's
 *  fields. */
export type ActivityRequest = ActivityQuery;

export function fetchActivity(request: ActivityRequest): Promise<ActivityPage> {
  return invoke<ActivityPage>("activity", { ...request });
}

// ---- The list key (src-tauri/src/key_cmds.rs) ----

export function fetchListKeys(address: string): Promise<ListKeys> {
  return invoke<ListKeys>("list_keys", { address });
}

export function renewListKey(
  address: string,
  protocol: Protocol,
  days: number | null,
): Promise<ListKeyView> {
  return invoke<ListKeyView>("renew_list_key", { address, protocol, days });
}

/** Saves the public key or certificate through the system's save dialog;
 *  the file written, or null when cancelled. */
export function saveListKey(address: string, protocol: Protocol): Promise<string | null> {
  return invoke<string | null>("save_list_key", { address, protocol });
}

/** Saves a renewal request for an authority's certificate. */
export function saveRenewalRequest(address: string): Promise<string | null> {
  return invoke<string | null>("save_renewal_request", { address });
}

/** Installs an authority's certificate for the list's S/MIME key (the
 *  answer to a request); the key as it is now. */
export function installListCertificate(address: string, bytes: Uint8Array): Promise<ListKeyView> {
  return invoke<ListKeyView>("install_list_certificate", { address, bytes: Array.from(bytes) });
}

// ---- Creating a list: the wizard (src-tauri/src/wizard_cmds.rs) ----

export function fetchPresets(): Promise<ProviderPreset[]> {
  return invoke<ProviderPreset[]>("mail_presets");
}

export function checkNewList(address: string, name: string): Promise<ListCheck> {
  return invoke<ListCheck>("check_new_list", { address, name });
}

/** Logs in to both servers; saves nothing. */
export function testAccount(account: Account, imapPassword: string, smtpPassword: string): Promise<CheckReport> {
  return invoke<CheckReport>("test_account", { account, imapPassword, smtpPassword });
}

/** What an imported list key is; saves nothing. */
export function previewListKey(
  address: string,
  name: string,
  protocol: Protocol,
  bytes: Uint8Array,
  passphrase: string | null,
): Promise<ListKeySummary> {
  return invoke<ListKeySummary>("preview_list_key", {
    address,
    name,
    protocol,
    bytes: Array.from(bytes),
    passphrase,
  });
}

/** Creates the list with its account and key, all or nothing. */
export function createList(
  address: string,
  name: string,
  protocol: Protocol,
  account: Account,
  imapPassword: string,
  smtpPassword: string,
  key: KeyInput,
): Promise<CreatedList> {
  return invoke<CreatedList>("create_list", {
    address,
    name,
    protocol,
    account,
    imapPassword,
    smtpPassword,
    key,
  });
}

/** The code of whatever a command threw ("needs-passphrase"...), if any. */
export function errorCode(error: unknown): string | null {
  if (typeof error === "object" && error !== null && "code" in error) {
    return String((error as CommandError).code);
  }
  return null;
}

// ---- A held post opened (src-tauri/src/held_cmds.rs, conclave_engine::agent::HeldView) ----

export function fetchHeldPost(address: string, id: number): Promise<HeldView> {
  return invoke<HeldView>("held_post", { address, id });
}

// ---- Progress of long work (src-tauri/src/watch.rs Progress) ----

export const PROGRESS = "progress";

export function onProgress(handler: (progress: Progress) => void): Promise<UnlistenFn> {
  return listen<Progress>(PROGRESS, (event) => handler(event.payload));
}

// ---- Members' S/MIME certificates and the list's trusted authorities
// (src-tauri/src/member_cmds.rs) ----

export function fetchTrustedAuthorities(address: string): Promise<CertInfo[]> {
  return invoke<CertInfo[]>("trusted_authorities", { address });
}

/** Trusts the authorities in a certificate file; the list's authorities after. */
export function trustAuthority(address: string, bytes: Uint8Array): Promise<CertInfo[]> {
  return invoke<CertInfo[]>("trust_authority", { address, bytes: Array.from(bytes) });
}

export function removeTrustedAuthority(address: string, fingerprint: string): Promise<CertInfo[]> {
  return invoke<CertInfo[]>("remove_trusted_authority", { address, fingerprint });
}

// ---- Keeping a list safe (src-tauri/src/keep_cmds.rs) ----

export function fetchBackupState(address: string): Promise<BackupState> {
  return invoke<BackupState>("backup_state", { address });
}

/** Turns on backups into the list's mailbox; the new recovery passphrase,
 *  to show once. */
export function turnOnBackups(address: string): Promise<string> {
  return invoke<string>("turn_on_backups", { address });
}

/** Seals the list into a file the owner picks; null when they cancel. */
export function exportList(
  address: string,
  passphrase: string,
  withPasswords: boolean,
): Promise<BundleSummary | null> {
  return invoke<BundleSummary | null>("export_list", { address, passphrase, withPasswords });
}

export function importList(bytes: Uint8Array, passphrase: string): Promise<BundleSummary> {
  return invoke<BundleSummary>("import_list", { bytes: Array.from(bytes), passphrase });
}

export function restoreList(address: string, login: MailboxLogin, recovery: string): Promise<BundleSummary> {
  return invoke<BundleSummary>("restore_list", { address, login, recovery });
}

// ---- Members who come by mail (src-tauri/src/inbox_cmds.rs) ----

/** Invites `email`; with `send`, mails the invitation from the list too. */
export function inviteMember(
  address: string,
  email: string,
  name: string,
  role: Role,
  days: number | null,
  send: boolean,
): Promise<InvitationView> {
  return invoke<InvitationView>("invite_member", { address, email, name, role, days, send });
}

export function fetchPendingKeys(address: string): Promise<PendingKey[]> {
  return invoke<PendingKey[]>("pending_keys", { address });
}

export function decidePendingKey(address: string, id: number, accept: boolean): Promise<PendingKey> {
  return invoke<PendingKey>("decide_pending_key", { address, id, accept });
}

export function fetchJoinRequests(address: string): Promise<JoinRequest[]> {
  return invoke<JoinRequest[]>("join_requests", { address });
}

export function dismissJoinRequest(address: string, email: string): Promise<void> {
  return invoke<void>("dismiss_join_request", { address, email });
}
