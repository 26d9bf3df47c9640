// What the members screen says and decides, apart from the markup: the
// status of a member's keys, the plan of a key review (with the S/MIME
// certificates the owner chose to trust for one member), how a certificate
// stands with the list's authorities, and what pasted text or a dropped
// file is. Tested in members.test.ts.
import type { KeyCandidate, MemberKeyView, MemberRow, MembersView, Protocol, Trust } from "./api";

/** A key that expires within this many days is flagged. */
export const EXPIRES_SOON_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

export type MemberStatusKind = "ok" | "expires-soon" | "expired" | "revoked" | "unusable" | "no-key";

export interface MemberStatus {
  kind: MemberStatusKind;
  label: string;
  /** A longer sentence for screen readers and the tooltip. */
  detail: string;
}

/** Whether a list keeps keys for its members (plain lists do not, unless
 *  they hold a list key of either protocol). */
export function listHasKeys(view: Pick<MembersView, "protocols">): boolean {
  return view.protocols.length > 0;
}

/** Whether the table must say which protocol each key is: on a mixed list,
 *  or when a member has a key of a protocol other than the list's. */
export function showsProtocols(view: Pick<MembersView, "protocol" | "protocols" | "members">): boolean {
  return (
    view.protocols.length > 1 ||
    view.members.some((m) => m.keys.some((k) => k.protocol !== view.protocol))
  );
}

export function protocolName(protocol: Protocol): string {
  return protocol === "smime" ? "S/MIME" : protocol === "openpgp" ? "OpenPGP" : "plain";
}

/** What a member's key (or certificate) is called in sentences. */
export function keyNoun(protocol: Protocol): string {
  return protocol === "smime" ? "certificate" : "key";
}

export const NO_KEY: MemberStatus = {
  kind: "no-key",
  label: "No key",
  detail: "No key yet: encrypted posts cannot reach this member. Add their key or certificate.",
};

/** The state of one of a member's keys. */
export function keyStatus(key: MemberKeyView, now: Date = new Date()): MemberStatus {
  const noun = keyNoun(key.protocol);
  const expires = key.key.expires ? new Date(key.key.expires) : null;
  const known = expires !== null && !Number.isNaN(expires.getTime());
  const expired = known && expires <= now;
  if (expired) {
    return {
      kind: "expired",
      label: "Expired",
      detail:
        key.protocol === "smime"
          ? "The certificate has expired: ask the member for their new one."
          : "The key has expired: ask the member to extend it or send a new one.",
    };
  }
  if (!key.usable) {
    if (key.protocol === "smime") {
      return {
        kind: "unusable",
        label: "Unusable",
        detail: `The certificate can no longer be used${key.problem ? ` (${key.problem})` : ""}: ask the member for their current one.`,
      };
    }
    return {
      kind: "revoked",
      label: "Revoked",
      detail:
        "The key is revoked or can no longer receive encrypted mail: ask the member for their current key.",
    };
  }
  if (known) {
    const left = expires.getTime() - now.getTime();
    if (left < EXPIRES_SOON_DAYS * DAY_MS) {
      const days = Math.ceil(left / DAY_MS);
      const when = days <= 1 ? "within a day" : `in ${days} days`;
      return {
        kind: "expires-soon",
        label: "Expires soon",
        detail:
          key.protocol === "smime"
            ? `The certificate expires ${when}: ask the member for their renewed one.`
            : `The key expires ${when}: ask the member to extend it.`,
      };
    }
  }
  return { kind: "ok", label: "OK", detail: `The ${noun} is valid.` };
}

/** The status of each of a member's keys, or "No key"; none on a list
 *  without keys. */
export function memberStatuses(member: MemberRow, hasKeys: boolean, now: Date = new Date()): MemberStatus[] {
  if (!hasKeys) return [];
  if (member.keys.length === 0) return [NO_KEY];
  return member.keys.map((k) => keyStatus(k, now));
}

/** A key's expiry as the table shows it. */
export function formatExpiry(expires: string | null): string {
  if (!expires) return "never";
  const at = new Date(expires);
  if (Number.isNaN(at.getTime())) return expires;
  return at.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** A grouped fingerprint as two halves, so it breaks in the middle and
 *  nowhere else. */
export function fingerprintHalves(fingerprint: string): [string, string] {
  const groups = fingerprint.split(/\s+/).filter(Boolean);
  const mid = Math.ceil(groups.length / 2);
  return [groups.slice(0, mid).join(" "), groups.slice(mid).join(" ")];
}

/** A grouped fingerprint in lines of at most five groups, as even as they
 *  go: an OpenPGP one in two lines of five, an S/MIME SHA-256 in four of
 *  four (for a narrow table column). */
export function fingerprintLines(fingerprint: string, most = 5): string[] {
  const groups = fingerprint.split(/\s+/).filter(Boolean);
  if (groups.length === 0) return [];
  const lines = Math.ceil(groups.length / most);
  const per = Math.ceil(groups.length / lines);
  const out: string[] = [];
  for (let i = 0; i < groups.length; i += per) out.push(groups.slice(i, i + per).join(" "));
  return out;
}

/** The main algorithm and the encryption one, e.g. "Ed25519 / Cv25519". */
export function formatAlgorithms(algorithms: string[]): string {
  return [...new Set(algorithms)].join(" / ");
}

/** How a certificate stands with the list's trusted authorities, in words. */
export function trustText(trust: Trust): { trusted: boolean; text: string } {
  switch (trust.kind) {
    case "authority":
      return { trusted: true, text: `Issued by ${trust.subject}, an authority this list trusts.` };
    case "self-signed":
      return {
        trusted: false,
        text: "Self-signed: no authority vouches for it. Take it only if the member gave it to you themselves.",
      };
    case "unknown-issuer":
      return {
        trusted: false,
        text: `Issued by ${trust.issuer}, which this list does not trust: add that authority under “Trusted authorities”, or trust this certificate for this member only.`,
      };
    case "broken":
      return {
        trusted: false,
        text: `Its chain to the list's authority does not verify (${trust.why}).`,
      };
  }
}

/** Whether saving a reviewed key is possible now: it is not refused, has
 *  something to save, and is trusted or pinned by the owner. */
export function canSave(c: KeyCandidate, pinned: ReadonlySet<string>): boolean {
  if (c.action === "refused" || c.action === "same") return false;
  return !c.needs_pin || pinned.has(c.key.fingerprint);
}

/** What a review of key files leads to. */
export interface ReviewPlan {
  /** Keys that become new members now. */
  add: KeyCandidate[];
  /** New members' certificates that wait for "trust for this member only". */
  waiting: KeyCandidate[];
  /** Keys for members who have none of that protocol yet. */
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

export function reviewPlan(candidates: KeyCandidate[], pinned: ReadonlySet<string> = new Set()): ReviewPlan {
  const by = (a: KeyCandidate["action"]) => candidates.filter((c) => c.action === a);
  const adding = by("add");
  const plan = {
    add: adding.filter((c) => canSave(c, pinned)),
    waiting: adding.filter((c) => !canSave(c, pinned)),
    setKey: by("set-key"),
    replace: by("replace"),
    same: by("same"),
    refused: by("refused"),
  };
  // A member with a key of each protocol in the file is one new member.
  const members = new Set(plan.add.map((c) => c.email?.toLowerCase())).size;
  const certs = candidates.some((c) => c.protocol === "smime");
  const keys = candidates.some((c) => c.protocol !== "smime");
  const [one, many] = certs && !keys ? ["certificate", "certificates"] : certs ? ["key or certificate", "keys and certificates"] : ["key", "keys"];
  const parts: string[] = [];
  if (plan.add.length) parts.push(`${count(members, "new member", "new members")} to add`);
  if (plan.waiting.length)
    parts.push(`${count(plan.waiting.length, "certificate", "certificates")} to trust before adding`);
  if (plan.setKey.length) parts.push(`${count(plan.setKey.length, one, many)} for members who have none`);
  if (plan.replace.length)
    parts.push(`${count(plan.replace.length, one, many)} that would replace a member's`);
  if (plan.same.length) parts.push(`${count(plan.same.length, one, many)} already saved`);
  if (plan.refused.length) parts.push(`${count(plan.refused.length, one, many)} refused`);
  return {
    ...plan,
    addLabel: plan.add.length ? `Add ${count(members, "member", "members")}` : null,
    summary: `The file holds ${count(candidates.length, one, many)}: ${parts.join(", ") || "nothing to do"}.`,
  };
}

/** What saving one reviewed key does, in words. */
export function actionText(c: KeyCandidate): string {
  const who = c.email ?? "nobody";
  const noun = keyNoun(c.protocol);
  const kind = c.protocol === "smime" ? "S/MIME certificate" : "OpenPGP key";
  switch (c.action) {
    case "add":
      return `Will be added as a new member: ${who}${c.name ? ` (${c.name})` : ""}.`;
    case "set-key":
      return `Will become the ${kind} of ${who}, who has none yet.`;
    case "replace":
      return `Would replace the ${kind} of ${who}: ${c.current} → ${c.key.fingerprint}.`;
    case "same":
      return `${who} has this ${noun} already: nothing to save.`;
    case "refused":
      return "Cannot be saved.";
  }
}

/** Pasted text, checked before it goes to the app. */
export type Pasted = { ok: true; bytes: Uint8Array; blocks: number } | { ok: false; error: string };

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** Labels of armored blocks that hold a member's key or certificate. */
const KEY_LABELS = ["PGP PUBLIC KEY BLOCK", "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE", "PKCS7"];

const FIRST_LINES =
  "“-----BEGIN PGP PUBLIC KEY BLOCK-----” (OpenPGP) or “-----BEGIN CERTIFICATE-----” (S/MIME)";

/** Checks pasted armored text: OpenPGP public key blocks and PEM
 *  certificates (or PKCS#7 bundles), complete, and no private key. */
export function parsePasted(text: string): Pasted {
  // Mail clients indent or quote; armor lines need none of it.
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^[\s>]+/, "").trimEnd());
  const clean = lines.join("\n").trim();
  if (!clean) {
    return { ok: false, error: `Paste a key or certificate first: it starts with ${FIRST_LINES}.` };
  }
  const kinds = [...clean.matchAll(BEGIN)].map((m) => m[1]);
  if (kinds.some((k) => k.includes("PRIVATE KEY") || k === "PGP SECRET KEY BLOCK")) {
    return {
      ok: false,
      error:
        "This holds a secret key. A member's secret key must never leave their computer: ask them for their public key or certificate instead.",
    };
  }
  const keys = kinds.filter((k) => KEY_LABELS.includes(k));
  if (keys.length === 0) {
    if (kinds.length > 0) {
      const what = kinds[0].startsWith("PGP ") ? `a PGP ${kinds[0].slice(4).toLowerCase()}` : `a ${kinds[0].toLowerCase()}`;
      return {
        ok: false,
        error: `This is ${what}, not a key or certificate: paste the block that starts with ${FIRST_LINES}.`,
      };
    }
    return {
      ok: false,
      error: `This is not a key or certificate: paste the whole block, from ${FIRST_LINES} to its “-----END …-----” line.`,
    };
  }
  for (const label of new Set(keys)) {
    const begins = keys.filter((k) => k === label).length;
    const ends = clean.split(`-----END ${label}-----`).length - 1;
    if (ends < begins) {
      return {
        ok: false,
        error: `The ${label.startsWith("PGP") ? "key" : "certificate"} is cut off: the line “-----END ${label}-----” is missing. Copy all of it and paste it again.`,
      };
    }
  }
  return { ok: true, bytes: new TextEncoder().encode(reflowPem(clean) + "\n"), blocks: keys.length };
}

/** PEM blocks whose line breaks were lost on the way (a web page or chat
 *  that joins lines): markers on lines of their own, base64 in lines of 64
 *  as OpenSSL reads it. OpenPGP armor is left as it is. */
export function reflowPem(text: string): string {
  return text.replace(
    /-----BEGIN ((?!PGP )[A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g,
    (whole, label: string, body: string) => {
      const lines = body.split("\n").map((l) => l.trim()).filter(Boolean);
      if (lines.every((l) => l.length <= 76) && whole.includes(`-----\n`) && body.endsWith("\n")) return whole;
      // Headers ("Proc-Type: ...") keep their lines; only base64 is joined.
      if (lines.some((l) => l.includes(":"))) return whole;
      const b64 = lines.join("").replace(/\s+/g, "");
      const wrapped = b64.match(/.{1,64}/g) ?? [];
      return [`-----BEGIN ${label}-----`, ...wrapped, `-----END ${label}-----`].join("\n");
    },
  );
}

/** What pasted blocks are called, for the review's heading. */
export function pastedOrigin(blocks: number): string {
  return blocks === 1 ? "the pasted text" : `the ${blocks} pasted blocks`;
}

/** Key files the window takes: OpenPGP (armored or binary) and S/MIME
 *  certificates (PEM, DER, PKCS#7). */
export const KEY_FILE_EXTENSIONS = [
  ".asc",
  ".gpg",
  ".pgp",
  ".key",
  ".pub",
  ".pem",
  ".crt",
  ".cer",
  ".der",
  ".p7b",
  ".p7c",
];

/** The largest file read (a keyring of many members; the app says the same). */
export const MAX_KEY_FILE_BYTES = 16 * 1024 * 1024;

/** Why a chosen or dropped file is not taken, or null when it is. */
export function keyFileProblem(name: string, size: number): string | null {
  const lower = name.toLowerCase();
  if (!KEY_FILE_EXTENSIONS.some((ext) => lower.endsWith(ext))) {
    return `${name} is not a key or certificate file: give an OpenPGP key (.asc, .gpg) or an S/MIME certificate (.pem, .crt, .cer, .der, .p7b).`;
  }
  if (size === 0) return `${name} is empty.`;
  if (size > MAX_KEY_FILE_BYTES) {
    return `${name} is larger than 16 MB: that is no key file.`;
  }
  return null;
}

/** Why several files are not read at once, or null (the app reads at most
 *  16 MB in one review). */
export function filesProblem(sizes: number[]): string | null {
  const total = sizes.reduce((a, b) => a + b, 0);
  return total > MAX_KEY_FILE_BYTES ? "The files are larger than 16 MB together: give fewer at a time." : null;
}
