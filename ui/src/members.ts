// What the members screen says and decides, apart from the markup: the
// status of a member's keys, the plan of a key review (with the S/MIME
// certificates the owner chose to trust for one member), how a certificate
// stands with the list's authorities, and what pasted text or a dropped
// file is. Tested in members.test.ts.
import type { KeyCandidate, MemberKeyView, MemberRow, MembersView, Protocol, Role, Trust } from "./api";
import type { Translate } from "./i18n";

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

export function protocolName(t: Translate, protocol: Protocol): string {
  return protocol === "smime" ? "S/MIME" : protocol === "openpgp" ? "OpenPGP" : t("members.protocol.plain");
}

/** A role as the window shows it. */
export function roleName(t: Translate, role: Role): string {
  switch (role) {
    case "owner":
      return t("members.role.owner");
    case "moderator":
      return t("members.role.moderator");
    default:
      return t("members.role.member");
  }
}

/** A member without any key. */
export function noKey(t: Translate): MemberStatus {
  return { kind: "no-key", label: t("members.status.noKey"), detail: t("members.status.noKeyDetail") };
}

/** The state of one of a member's keys. */
export function keyStatus(t: Translate, key: MemberKeyView, now: Date = new Date()): MemberStatus {
  const smime = key.protocol === "smime";
  const expires = key.key.expires ? new Date(key.key.expires) : null;
  const known = expires !== null && !Number.isNaN(expires.getTime());
  const expired = known && expires <= now;
  if (expired) {
    return {
      kind: "expired",
      label: t("members.status.expired"),
      detail: smime ? t("members.status.expiredCert") : t("members.status.expiredKey"),
    };
  }
  if (!key.usable) {
    if (smime) {
      return {
        kind: "unusable",
        label: t("members.status.unusable"),
        detail: key.problem
          ? t("members.status.unusableWhy", { problem: key.problem })
          : t("members.status.unusableDetail"),
      };
    }
    return { kind: "revoked", label: t("members.status.revoked"), detail: t("members.status.revokedDetail") };
  }
  if (known) {
    const left = expires.getTime() - now.getTime();
    if (left < EXPIRES_SOON_DAYS * DAY_MS) {
      const days = Math.max(1, Math.ceil(left / DAY_MS));
      return {
        kind: "expires-soon",
        label: t("members.status.soon"),
        detail: smime ? t("members.status.soonCert", { days }) : t("members.status.soonKey", { days }),
      };
    }
  }
  return {
    kind: "ok",
    label: t("members.status.ok"),
    detail: smime ? t("members.status.okCert") : t("members.status.okKey"),
  };
}

/** The status of each of a member's keys, or "No key"; none on a list
 *  without keys. */
export function memberStatuses(
  t: Translate,
  member: MemberRow,
  hasKeys: boolean,
  now: Date = new Date(),
): MemberStatus[] {
  if (!hasKeys) return [];
  if (member.keys.length === 0) return [noKey(t)];
  return member.keys.map((k) => keyStatus(t, k, now));
}

/** A key's expiry as the table shows it. */
export function formatExpiry(t: Translate, expires: string | null): string {
  if (!expires) return t("common.never");
  const at = new Date(expires);
  if (Number.isNaN(at.getTime())) return expires;
  return at.toLocaleDateString(t.locale, { dateStyle: "medium" });
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
export function trustText(t: Translate, trust: Trust): { trusted: boolean; text: string } {
  switch (trust.kind) {
    case "authority":
      return { trusted: true, text: t("members.trust.authority", { subject: trust.subject }) };
    case "self-signed":
      return { trusted: false, text: t("members.trust.selfSigned") };
    case "unknown-issuer":
      return { trusted: false, text: t("members.trust.unknownIssuer", { issuer: trust.issuer }) };
    case "broken":
      return { trusted: false, text: t("members.trust.broken", { why: trust.why }) };
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

export function reviewPlan(
  t: Translate,
  candidates: KeyCandidate[],
  pinned: ReadonlySet<string> = new Set(),
): ReviewPlan {
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
  // What the file holds, for the words: certificates, keys, or both.
  const what = certs && !keys ? "cert" : certs ? "mixed" : "key";
  const parts: string[] = [];
  if (plan.add.length) parts.push(t("members.plan.add", { count: members }));
  if (plan.waiting.length) parts.push(t("members.plan.waiting", { count: plan.waiting.length }));
  if (plan.setKey.length) parts.push(t("members.plan.setKey", { count: plan.setKey.length, what }));
  if (plan.replace.length) parts.push(t("members.plan.replace", { count: plan.replace.length, what }));
  if (plan.same.length) parts.push(t("members.plan.same", { count: plan.same.length, what }));
  if (plan.refused.length) parts.push(t("members.plan.refused", { count: plan.refused.length, what }));
  return {
    ...plan,
    addLabel: plan.add.length ? t("members.plan.addLabel", { count: members }) : null,
    summary: t("members.plan.summary", {
      count: candidates.length,
      what,
      parts: parts.join(t("members.plan.separator")) || t("members.plan.nothing"),
    }),
  };
}

/** What saving one reviewed key does, in words. */
export function actionText(t: Translate, c: KeyCandidate): string {
  const who = c.email ?? t("members.action.nobody");
  const protocol = c.protocol === "smime" ? "smime" : "openpgp";
  switch (c.action) {
    case "add":
      return c.name ? t("members.action.addNamed", { who, name: c.name }) : t("members.action.add", { who });
    case "set-key":
      return t("members.action.setKey", { protocol, who });
    case "replace":
      return t("members.action.replace", { protocol, who, old: c.current ?? "", new: c.key.fingerprint });
    case "same":
      return t("members.action.same", { protocol, who });
    case "refused":
      return t("members.action.refused");
  }
}

/** Pasted text, checked before it goes to the app. */
export type Pasted = { ok: true; bytes: Uint8Array; blocks: number } | { ok: false; error: string };

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** Labels of armored blocks that hold a member's key or certificate. */
const KEY_LABELS = ["PGP PUBLIC KEY BLOCK", "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE", "PKCS7"];

/** The first lines of what may be pasted (the same in every language). */
const PGP_FIRST = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const CERT_FIRST = "-----BEGIN CERTIFICATE-----";

/** Checks pasted armored text: OpenPGP public key blocks and PEM
 *  certificates (or PKCS#7 bundles), complete, and no private key. */
export function parsePasted(t: Translate, text: string): Pasted {
  const first = { pgp: PGP_FIRST, cert: CERT_FIRST };
  // Mail clients indent or quote; armor lines need none of it.
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^[\s>]+/, "").trimEnd());
  const clean = lines.join("\n").trim();
  if (!clean) {
    return { ok: false, error: t("members.paste.empty", first) };
  }
  const kinds = [...clean.matchAll(BEGIN)].map((m) => m[1]);
  if (kinds.some((k) => k.includes("PRIVATE KEY") || k === "PGP SECRET KEY BLOCK")) {
    return { ok: false, error: t("members.paste.secret") };
  }
  const keys = kinds.filter((k) => KEY_LABELS.includes(k));
  if (keys.length === 0) {
    if (kinds.length > 0) {
      const what = kinds[0].startsWith("PGP ")
        ? t("members.paste.pgpKind", { kind: kinds[0].slice(4).toLowerCase() })
        : t("members.paste.kind", { kind: kinds[0].toLowerCase() });
      return { ok: false, error: t("members.paste.otherBlock", { what, ...first }) };
    }
    return { ok: false, error: t("members.paste.noBlock", first) };
  }
  for (const label of new Set(keys)) {
    const begins = keys.filter((k) => k === label).length;
    const ends = clean.split(`-----END ${label}-----`).length - 1;
    if (ends < begins) {
      const line = `-----END ${label}-----`;
      return {
        ok: false,
        error: label.startsWith("PGP") ? t("members.paste.cutKey", { line }) : t("members.paste.cutCert", { line }),
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
export function pastedOrigin(t: Translate, blocks: number): string {
  return t("members.paste.origin", { count: blocks });
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
export function keyFileProblem(t: Translate, name: string, size: number): string | null {
  const lower = name.toLowerCase();
  if (!KEY_FILE_EXTENSIONS.some((ext) => lower.endsWith(ext))) return t("members.file.notKey", { name });
  if (size === 0) return t("common.fileEmpty", { name });
  if (size > MAX_KEY_FILE_BYTES) return t("members.file.tooLarge", { name });
  return null;
}

/** Why several files are not read at once, or null (the app reads at most
 *  16 MB in one review). */
export function filesProblem(t: Translate, sizes: number[]): string | null {
  const total = sizes.reduce((a, b) => a + b, 0);
  return total > MAX_KEY_FILE_BYTES ? t("members.file.tooMany") : null;
}
