// What the held-post view says, derived from what the engine read of the
// post (conclave_engine::policy::view). Nothing here renders a post's
// markup: every string is shown as text.
import type { HeaderLine, HeldView, Protection } from "./api";
import type { Translate } from "./i18n";

/** "812 bytes", "14.2 KB", "3.1 MB" (with the language's decimal mark). */
export function formatSize(t: Translate, bytes: number): string {
  if (bytes < 1024) return t("held.bytes", { count: bytes });
  const one = (n: number) => n.toLocaleString(t.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  if (bytes < 1024 * 1024) return t("held.kb", { size: one(bytes / 1024) });
  return t("held.mb", { size: one(bytes / (1024 * 1024)) });
}

function sentence(words: string): string {
  const s = words.trim();
  if (!s) return s;
  return s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".");
}

export type Tone = "ok" | "warn" | "bad" | "plain";

export interface ProtectionLine {
  /** What the line is about (for tests). */
  kind: "encryption" | "signature";
  /** For screen readers and the label column. */
  label: string;
  text: string;
  tone: Tone;
}

/** How the post was protected, in the engine's words (the same as the
 *  hold reasons), with whether it was decrypted for this view. Empty on a
 *  list without keys. */
export function protectionLines(t: Translate, protection: Protection | null, decrypted: boolean): ProtectionLine[] {
  if (!protection) return [];
  const encTone: Record<Protection["encryption"], Tone> = {
    none: "plain",
    "to-list": "ok",
    "other-key": "warn",
    broken: "bad",
  };
  const sigTone: Record<Protection["signature"], Tone> = {
    none: "plain",
    member: "ok",
    invalid: "bad",
    unread: "plain",
  };
  const enc = sentence(protection.encryption_words);
  return [
    {
      kind: "encryption",
      label: t("held.encryption"),
      text: decrypted ? t("held.decryptedHere", { words: enc }) : enc,
      tone: encTone[protection.encryption],
    },
    {
      kind: "signature",
      label: t("held.signature"),
      text: sentence(protection.signature_words),
      tone: sigTone[protection.signature],
    },
  ];
}

/** The subject to head the view with: the one protected inside the
 *  encryption when the client hid the outer one, else the outer one. */
export function shownSubject(t: Translate, view: HeldView): string {
  const inner = view.post.inner_headers.find((h) => h.name.toLowerCase() === "subject")?.value;
  const outer = view.post.main_headers.find((h) => h.name === "Subject")?.value ?? view.held.subject;
  return (inner || outer || "").trim() || t("common.noSubject");
}

/** The fields shown first, or all of them. */
export function headerRows(view: HeldView, all: boolean): HeaderLine[] {
  return all ? view.post.headers : view.post.main_headers;
}

/** What Approve does, in a sentence. */
export function approveText(t: Translate, view: HeldView): string {
  if (!view.held.approvable) return t("held.approveImpossible");
  const count = view.approve_to;
  if (count === 0) return t("held.approveNobody");
  return t("held.approveTo", { count });
}

/** What Reject does, in a sentence; the notice itself is shown below it. */
export function rejectText(t: Translate, view: HeldView): string {
  const n = view.reject_notice;
  if (!n) {
    return view.held.approvable ? t("held.rejectNobody") : t("held.rejectAutomated");
  }
  return t("held.rejectNotice", { to: n.to });
}

/** The post's content cannot be shown: why, in a sentence. */
export function unreadableText(t: Translate, view: HeldView): string | null {
  const why = view.post.unreadable;
  if (!why) return null;
  const problem = view.key_problem;
  if (problem) return t("held.unreadableKey", { problem });
  return t("held.unreadable", { why });
}

/** A readable post whose encryption and signature could not be checked. */
export function keyNote(t: Translate, view: HeldView): string | null {
  if (!view.key_problem || view.post.unreadable) return null;
  return t("held.keyNote", { problem: view.key_problem });
}

/** "the HTML part, as text" and the like, for the label above a text part. */
export function partLabel(t: Translate, mediaType: string, index: number, count: number): string {
  const which = count > 1 ? t("held.part", { n: index + 1 }) : t("held.text");
  return mediaType === "text/html" ? t("held.htmlPart", { which }) : which;
}
