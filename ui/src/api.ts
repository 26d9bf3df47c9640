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

// ---- Members (src-tauri/src/commands.rs, "Members") ----

export type Role = "member" | "moderator" | "owner";
export type Protocol = "plain" | "openpgp" | "smime";

/** What is known of a key (conclave_engine::crypto::openpgp::KeyInfo). */
export interface KeyInfo {
  /** Upper-case hex in groups of four. */
  fingerprint: string;
  /** The primary key's algorithm, then each valid subkey's. */
  algorithms: string[];
  /** RFC 3339, UTC. */
  created: string;
  /** RFC 3339, UTC; null when the key does not expire. */
  expires: string | null;
  user_ids: string[];
}

/** One member as the table shows it (src-tauri/src/member_cmds.rs). */
export interface MemberRow {
  email: string;
  name: string;
  role: Role;
  own_posts: boolean;
  /** Their keys, the list's own protocol first: on a mixed list an
   *  OpenPGP key and an S/MIME certificate. Empty: no key. */
  keys: MemberKeyView[];
}

export interface MembersView {
  address: string;
  name: string;
  protocol: Protocol;
  /** The protocols the list encrypts to members in (both on a mixed list,
   *  none on a plain one). */
  protocols: Protocol[];
  members: MemberRow[];
}

export interface UserAddress {
  name: string;
  email: string;
}

/** What saving a reviewed key would do. */
export type KeyAction = "add" | "set-key" | "replace" | "same" | "refused";

/** One key or certificate of a key file, reviewed before anything is saved
 *  (conclave_engine::member_keys::KeyCandidate). */
export interface KeyCandidate {
  protocol: Protocol;
  /** S/MIME: fingerprint is the certificate's SHA-256, created its start of
   *  validity, user_ids its addresses. */
  key: KeyInfo;
  /** S/MIME: subject, issuer, addresses, validity. */
  certificate: CertInfo | null;
  /** S/MIME: whether a trusted authority issued it, or why not. */
  trust: Trust | null;
  /** The user IDs (certificate addresses) with an address, the primary one first. */
  addresses: UserAddress[];
  /** The member it is for; null when the key names no address. */
  email: string | null;
  name: string;
  /** One of the key's user IDs is `email`. */
  matches: boolean;
  /** Why it cannot be saved, in words; null when it can. */
  refusal: string | null;
  action: KeyAction;
  /** Saving needs "Trust this certificate for this member only" (pin). */
  needs_pin: boolean;
  /** The member's present key of this protocol (grouped fingerprint). */
  current: string | null;
  /** Something to know that does not stop saving. */
  note: string | null;
  /** The key (binary, public parts only) or certificate (PEM), to save it. */
  cert: number[];
}

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

/** One level of a crypto setting in an owner's words
 *  (conclave_engine::policy::presets::Choice). */
export interface Choice {
  /** The value in the CLI's spelling. */
  value: string;
  label: string;
  detail: string;
}

/** One of the four crypto settings with its levels. */
export interface SettingChoices {
  key: string;
  label: string;
  choices: Choice[];
}

/** A preset: four crypto settings named after what a group wants. */
export interface Preset {
  id: string;
  name: string;
  summary: string;
  /** The settings it sets, by their CLI keys. */
  settings: Record<string, string>;
}

/** Every list setting by its CLI key, in the CLI's spelling. */
export type Settings = Record<string, string>;

export interface PolicyView {
  address: string;
  name: string;
  protocol: Protocol;
  /** Whether the crypto settings act on the list's posts (a plain list
   *  without a key forwards posts as they are). */
  crypto_applies: boolean;
  /** max-size in bytes. */
  settings: Settings;
  /** The preset the saved settings are; null is "Custom". */
  preset: string | null;
  presets: Preset[];
  crypto_choices: SettingChoices[];
}

/** A value a setting does not take, and why. */
export interface SettingProblem {
  key: string;
  message: string;
}

/** How a failed policy command reaches the window: a CommandError that may
 *  name the settings it is about. */
export interface PolicyError extends CommandError {
  fields: SettingProblem[];
}

export function fetchPolicy(address: string): Promise<PolicyView> {
  return invoke<PolicyView>("policy", { address });
}

/** Saves (key, value) changes all at once, or none when one is refused. */
export function savePolicy(address: string, changes: [string, string][]): Promise<PolicyView> {
  return invoke<PolicyView>("save_policy", { address, changes });
}

// ---- Activity (src-tauri/src/activity_cmds.rs) ----

/** What an activity entry is about (conclave_engine::store::ActivityGroup). */
export type ActivityGroup =
  | "accepted"
  | "held"
  | "rejected"
  | "delivery"
  | "error"
  | "change"
  | "server";

/** One entry of the activity log (conclave_engine::store::ActivityEntry). */
export interface ActivityEntry {
  id: number;
  /** RFC 3339, UTC. */
  at: string;
  /** The list's address and name. */
  list: string;
  list_name: string;
  kind: string;
  group: ActivityGroup;
  post_id: number | null;
  /** The engine's words, with the reason. */
  message: string;
}

/** Entries newest first, and whether older ones match too. */
export interface ActivityPage {
  entries: ActivityEntry[];
  more: boolean;
}

/** What to read of the log: one list (or null for all), entries older than
 *  `before` (an id), of some groups (none: all), containing `text`. */
export interface ActivityRequest {
  list: string | null;
  before: number | null;
  limit: number;
  groups: ActivityGroup[];
  text: string;
}

export function fetchActivity(request: ActivityRequest): Promise<ActivityPage> {
  return invoke<ActivityPage>("activity", { ...request });
}

// ---- The list key (src-tauri/src/key_cmds.rs) ----

/** How a list key is renewed (conclave_engine::list_key::Renewal). */
export type Renewal = "extend" | "never-expires" | "reissue" | "request";

/** One of the list's keys (conclave_engine::list_key::ListKeyView). */
export interface ListKeyView {
  protocol: Protocol;
  /** OpenPGP: the key's fingerprint; S/MIME: SHA-256 of the certificate;
   *  upper-case hex in groups of four. */
  fingerprint: string;
  algorithms: string[];
  /** RFC 3339, UTC. */
  created: string;
  /** RFC 3339, UTC; null when the key does not expire. */
  expires: string | null;
  /** OpenPGP user IDs, or the certificate's addresses. */
  user_ids: string[];
  /** S/MIME only. */
  subject: string | null;
  issuer: string | null;
  renewal: Renewal;
  /** What members import: armored public key or PEM certificate. */
  public: string;
}

export interface ListKeys {
  address: string;
  name: string;
  protocol: Protocol;
  keys: ListKeyView[];
  /** How long a renewed key is valid by default, in days. */
  renew_days: number;
}

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

// ---- Creating a list: the wizard (src-tauri/src/wizard_cmds.rs) ----

/** conclave_engine::model::TlsMode */
export type TlsMode = "implicit" | "starttls" | "none";

/** One server of a mail account (conclave_engine::model::Endpoint). */
export interface Endpoint {
  host: string;
  port: number;
  tls: TlsMode;
  user: string;
}

/** A list's mail account; the passwords travel beside it, never in it. */
export interface Account {
  imap: Endpoint;
  smtp: Endpoint;
  /** An extra certificate authority (PEM) for a self-hosted server. */
  ca_pem: string | null;
}

export interface ServerPreset {
  host: string;
  port: number;
  tls: TlsMode;
}

/** A provider's servers (conclave_engine::transport::presets). */
export interface ProviderPreset {
  id: string;
  name: string;
  domains: string[];
  imap: ServerPreset;
  smtp: ServerPreset;
  /** The whole address, or the part before the "@". */
  user: "address" | "local-part";
  /** What to know before it works (an app password...), or "". */
  note: string;
}

/** Step 1 checked (conclave_engine::setup::ListCheck). */
export interface ListCheck {
  address: string;
  /** The id of the provider that serves the address, if known. */
  preset: string | null;
  /** The user name that provider expects. */
  user: string;
}

export type ProblemKind =
  | "wrong-password"
  | "host-not-found"
  | "nothing-listens"
  | "no-answer"
  | "security-mismatch"
  | "offline"
  | "unreachable"
  | "certificate"
  | "tls"
  | "no-starttls"
  | "no-login"
  | "plaintext"
  | "ca-file"
  | "protocol";

/** Why a login failed, in words (conclave_engine::transport::Problem). */
export interface Problem {
  kind: ProblemKind;
  message: string;
  fix: string;
  /** The server's own words. */
  detail: string;
}

export interface ServerOutcome {
  ok: boolean;
  problem: Problem | null;
}

/** "Test connection", per server. */
export interface CheckReport {
  imap: ServerOutcome;
  smtp: ServerOutcome;
}

/** The list key as the owner is shown it (conclave_engine::setup). */
export interface ListKeySummary {
  protocol: Protocol;
  fingerprint: string;
  algorithms: string[];
  expires: string | null;
  /** User IDs (OpenPGP) or the certificate's subject (S/MIME). */
  names: string[];
  /** The public key (armored) or certificate (PEM), for the members. */
  public: string;
  file_name: string;
}

export interface CreatedList {
  address: string;
  name: string;
  protocol: Protocol;
  key: ListKeySummary | null;
}

/** Where the list key comes from. */
export type KeyInput =
  | { kind: "none" }
  | { kind: "generate"; algo: string }
  | { kind: "import"; bytes: number[]; passphrase: string | null };

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

// ---- Members' S/MIME certificates and the list's trusted authorities
// (src-tauri/src/member_cmds.rs) ----

/** What is known of a certificate (conclave_engine::crypto::smime::CertInfo). */
export interface CertInfo {
  /** SHA-256 of the certificate, upper-case hex in groups of four. */
  fingerprint: string;
  subject: string;
  issuer: string;
  emails: string[];
  /** "RSA 2048", "ECDSA P-256". */
  algorithm: string;
  /** RFC 3339, UTC. */
  valid_from: string;
  expires: string;
  self_signed: boolean;
}

/** How a certificate stands with the list's trusted authorities
 *  (conclave_engine::crypto::smime::Trust); all but "authority" must be
 *  pinned to be taken. */
export type Trust =
  | { kind: "authority"; subject: string; fingerprint: string }
  | { kind: "self-signed" }
  | { kind: "unknown-issuer"; issuer: string }
  | { kind: "broken"; why: string };

/** One of a member's keys (conclave_engine::member_keys::MemberKeyView). */
export interface MemberKeyView {
  protocol: Protocol;
  /** S/MIME: the certificate's SHA-256, its algorithm, start of validity,
   *  expiry and addresses. */
  key: KeyInfo;
  certificate: CertInfo | null;
  /** A copy can be encrypted to it now. */
  usable: boolean;
  /** Why it cannot, when that is known beyond its expiry. */
  problem: string | null;
}

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
