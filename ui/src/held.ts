// What the held-post view says, derived from what the engine read of the
// post (conclave_engine::policy::view). Nothing here renders a post's
// markup: every string is shown as text.
import type { HeaderLine, HeldView, Protection } from "./api";

/** "812 bytes", "14.2 KB", "3.1 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function sentence(words: string): string {
  const s = words.trim();
  if (!s) return s;
  return s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".");
}

export type Tone = "ok" | "warn" | "bad" | "plain";

export interface ProtectionLine {
  /** For screen readers and the label column. */
  label: "Encryption" | "Signature";
  text: string;
  tone: Tone;
}

/** How the post was protected, in the engine's words (the same as the
 *  hold reasons), with whether it was decrypted for this view. Empty on a
 *  list without keys. */
export function protectionLines(protection: Protection | null, decrypted: boolean): ProtectionLine[] {
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
      label: "Encryption",
      text: decrypted ? `${enc} Decrypted here for you; the clear text is not saved.` : enc,
      tone: encTone[protection.encryption],
    },
    { label: "Signature", text: sentence(protection.signature_words), tone: sigTone[protection.signature] },
  ];
}

/** The subject to head the view with: the one protected inside the
 *  encryption when the client hid the outer one, else the outer one. */
export function shownSubject(view: HeldView): string {
  const inner = view.post.inner_headers.find((h) => h.name.toLowerCase() === "subject")?.value;
  const outer = view.post.main_headers.find((h) => h.name === "Subject")?.value ?? view.held.subject;
  return (inner || outer || "").trim() || "(no subject)";
}

/** The fields shown first, or all of them. */
export function headerRows(view: HeldView, all: boolean): HeaderLine[] {
  return all ? view.post.headers : view.post.main_headers;
}

/** What Approve does, in a sentence. */
export function approveText(view: HeldView): string {
  if (!view.held.approvable) return "Approve is not possible: automated mail is never sent to members.";
  const n = view.approve_to;
  if (n === 0) return "Approve sends it to nobody: the list has no other members.";
  return `Approve sends it to ${n} ${n === 1 ? "member" : "members"}.`;
}

/** What Reject does, in a sentence; the notice itself is shown below it. */
export function rejectText(view: HeldView): string {
  const n = view.reject_notice;
  if (!n) {
    return view.held.approvable
      ? "Reject tells nobody: the post names no single address to answer."
      : "Reject tells nobody: automated mail is never answered.";
  }
  return `Reject sends ${n.to} this notice:`;
}

/** The post's content cannot be shown: why, in a sentence. */
export function unreadableText(view: HeldView): string | null {
  const why = view.post.unreadable;
  if (!why) return null;
  const key = view.key_problem;
  if (key) return `The content is not shown: the list's key could not be used (${key}).`;
  return `The content is not shown: ${why}.`;
}

/** A readable post whose encryption and signature could not be checked. */
export function keyNote(view: HeldView): string | null {
  if (!view.key_problem || view.post.unreadable) return null;
  return `Its encryption and signature were not checked: the list's key could not be used (${view.key_problem}).`;
}

/** "the HTML part, as text" and the like, for the label above a text part. */
export function partLabel(mediaType: string, index: number, count: number): string {
  const which = count > 1 ? `Part ${index + 1}` : "Text";
  return mediaType === "text/html" ? `${which} (HTML, shown as text; nothing in it is loaded)` : which;
}
