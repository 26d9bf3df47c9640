// What the members screen says and decides, apart from the markup: a
// member's key status, the plan of a key review, and what pasted text or a
// dropped file is. Tested in members.test.ts.
import type { KeyCandidate, MemberRow, Protocol } from "./api";

/** A key that expires within this many days is flagged. */
export const EXPIRES_SOON_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

export type MemberStatusKind = "ok" | "expires-soon" | "expired" | "revoked" | "no-key";

export interface MemberStatus {
  kind: MemberStatusKind;
  label: string;
  /** A longer sentence for screen readers and the tooltip. */
  detail: string;
}

/** Whether a list keeps keys for its members (plain lists do not). */
export function listHasKeys(protocol: Protocol): boolean {
  return protocol === "openpgp";
}

/** The key status of a member, or null on a list without keys. */
export function memberStatus(
  member: MemberRow,
  protocol: Protocol,
  now: Date = new Date(),
): MemberStatus | null {
  if (!listHasKeys(protocol)) return null;
  const key = member.key;
  if (!key) {
    return {
      kind: "no-key",
      label: "No key",
      detail: "No key yet: encrypted posts cannot reach this member. Add their key.",
    };
  }
  const expires = key.expires ? new Date(key.expires) : null;
  const expired = expires !== null && !Number.isNaN(expires.getTime()) && expires <= now;
  if (!member.key_usable || expired) {
    return expired
      ? {
          kind: "expired",
          label: "Expired",
          detail: "The key has expired: ask the member to extend it or send a new one.",
        }
      : {
          kind: "revoked",
          label: "Revoked",
          detail:
            "The key is revoked or can no longer receive encrypted mail: ask the member for their current key.",
        };
  }
  if (expires !== null && !Number.isNaN(expires.getTime())) {
    const left = expires.getTime() - now.getTime();
    if (left < EXPIRES_SOON_DAYS * DAY_MS) {
      const days = Math.ceil(left / DAY_MS);
      const when = days <= 1 ? "within a day" : `in ${days} days`;
      return {
        kind: "expires-soon",
        label: "Expires soon",
        detail: `The key expires ${when}: ask the member to extend it.`,
      };
    }
  }
  return { kind: "ok", label: "OK", detail: "The key is valid." };
}

/** A key's expiry as the table shows it. */
export function formatExpiry(expires: string | null): string {
  if (!expires) return "never";
  const at = new Date(expires);
  if (Number.isNaN(at.getTime())) return expires;
  return at.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** A grouped fingerprint as two halves of five groups, so it breaks in the
 *  middle and nowhere else. */
export function fingerprintHalves(fingerprint: string): [string, string] {
  const groups = fingerprint.split(/\s+/).filter(Boolean);
  const mid = Math.ceil(groups.length / 2);
  return [groups.slice(0, mid).join(" "), groups.slice(mid).join(" ")];
}

/** The main algorithm and the encryption one, e.g. "Ed25519 / Cv25519". */
export function formatAlgorithms(algorithms: string[]): string {
  return [...new Set(algorithms)].join(" / ");
}

/** What a review of a key file leads to. */
export interface ReviewPlan {
  /** Keys that become new members. */
  add: KeyCandidate[];
  /** Keys for members who have none yet. */
  setKey: KeyCandidate[];
  /** Keys that would replace a member's key (explicit, one at a time). */
  replace: KeyCandidate[];
  /** Keys a member has already. */
  same: KeyCandidate[];
  refused: KeyCandidate[];
  /** The label of the button that adds the new members, or null. */
  addLabel: string | null;
  /** One sentence on the whole file. */
  summary: string;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function reviewPlan(candidates: KeyCandidate[]): ReviewPlan {
  const by = (a: KeyCandidate["action"]) => candidates.filter((c) => c.action === a);
  const plan = {
    add: by("add"),
    setKey: by("set-key"),
    replace: by("replace"),
    same: by("same"),
    refused: by("refused"),
  };
  const parts: string[] = [];
  if (plan.add.length) parts.push(`${count(plan.add.length, "new member", "new members")} to add`);
  if (plan.setKey.length)
    parts.push(`${count(plan.setKey.length, "key", "keys")} for members who have none`);
  if (plan.replace.length)
    parts.push(`${count(plan.replace.length, "key", "keys")} that would replace a member's key`);
  if (plan.same.length) parts.push(`${count(plan.same.length, "key", "keys")} already saved`);
  if (plan.refused.length) parts.push(`${count(plan.refused.length, "key", "keys")} refused`);
  const total = count(candidates.length, "key", "keys");
  return {
    ...plan,
    addLabel: plan.add.length
      ? `Add ${count(plan.add.length, "member", "members")}`
      : null,
    summary: `The file holds ${total}: ${parts.join(", ") || "nothing to do"}.`,
  };
}

/** What saving one reviewed key does, in words. */
export function actionText(c: KeyCandidate): string {
  const who = c.email ?? "nobody";
  switch (c.action) {
    case "add":
      return `Will be added as a new member: ${who}${c.name ? ` (${c.name})` : ""}.`;
    case "set-key":
      return `Will become the key of ${who}, who has no key yet.`;
    case "replace":
      return `Would replace the key of ${who}: ${c.current} → ${c.key.fingerprint}.`;
    case "same":
      return `${who} has this key already: nothing to save.`;
    case "refused":
      return "Cannot be saved.";
  }
}

/** Pasted text, checked before it goes to the app. */
export type Pasted = { ok: true; bytes: Uint8Array; blocks: number } | { ok: false; error: string };

const BEGIN = /-----BEGIN PGP ([A-Z ]+)-----/g;

/** Checks pasted armored text: one or more public key blocks, complete. */
export function parsePasted(text: string): Pasted {
  // Mail clients indent or quote; armor lines need none of it.
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^[\s>]+/, "").trimEnd());
  const clean = lines.join("\n").trim();
  if (!clean) {
    return {
      ok: false,
      error: "Paste a key first: it starts with “-----BEGIN PGP PUBLIC KEY BLOCK-----”.",
    };
  }
  const kinds = [...clean.matchAll(BEGIN)].map((m) => m[1]);
  if (kinds.includes("PRIVATE KEY BLOCK")) {
    return {
      ok: false,
      error:
        "This is a secret key. A member's secret key must never leave their computer: ask them for their public key instead.",
    };
  }
  const keys = kinds.filter((k) => k === "PUBLIC KEY BLOCK").length;
  if (keys === 0) {
    if (kinds.length > 0) {
      return {
        ok: false,
        error: `This is a PGP ${kinds[0].toLowerCase()}, not a key: paste the block that starts with “-----BEGIN PGP PUBLIC KEY BLOCK-----”.`,
      };
    }
    return {
      ok: false,
      error:
        "This is not an OpenPGP key: paste the whole block from “-----BEGIN PGP PUBLIC KEY BLOCK-----” to “-----END PGP PUBLIC KEY BLOCK-----”.",
    };
  }
  const ends = (clean.match(/-----END PGP PUBLIC KEY BLOCK-----/g) ?? []).length;
  if (ends < keys) {
    return {
      ok: false,
      error:
        "The key is cut off: the line “-----END PGP PUBLIC KEY BLOCK-----” is missing. Copy the whole key and paste it again.",
    };
  }
  return { ok: true, bytes: new TextEncoder().encode(clean + "\n"), blocks: keys };
}

/** Key files the window takes (OpenPGP, armored or binary). */
export const KEY_FILE_EXTENSIONS = [".asc", ".gpg", ".pgp", ".key", ".pub"];

/** The largest file read (a keyring of many members; the app says the same). */
export const MAX_KEY_FILE_BYTES = 16 * 1024 * 1024;

/** Why a chosen or dropped file is not taken, or null when it is. */
export function keyFileProblem(name: string, size: number): string | null {
  const lower = name.toLowerCase();
  if (!KEY_FILE_EXTENSIONS.some((ext) => lower.endsWith(ext))) {
    return `${name} is not an OpenPGP key file: give a .asc or .gpg file.`;
  }
  if (size === 0) return `${name} is empty.`;
  if (size > MAX_KEY_FILE_BYTES) {
    return `${name} is larger than 16 MB: that is no key file.`;
  }
  return null;
}

function armored(p: Uint8Array): boolean {
  const head = new TextDecoder().decode(p.subarray(0, 4096)).trimStart();
  return head.startsWith("-----BEGIN PGP");
}

/** Several key files as one, for one review: armored files one after the
 *  other, binary ones back to back. Null when they mix the two. */
export function joinFiles(parts: Uint8Array[]): Uint8Array | null {
  if (parts.length === 1) return parts[0];
  const text = parts.every(armored);
  if (!text && parts.some(armored)) return null;
  const sep = text ? 1 : 0;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + sep, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
    if (sep) out[at++] = 0x0a;
  }
  return out;
}
