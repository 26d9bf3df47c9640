import { describe, expect, it } from "vitest";
import type { HeldView, PostView } from "./api";
import {
  approveText,
  formatSize,
  headerRows,
  keyNote,
  partLabel,
  protectionLines,
  rejectText,
  shownSubject,
  unreadableText,
} from "./held";
import { translator } from "./i18n";

const t = translator("en");

function post(over: Partial<PostView> = {}): PostView {
  return {
    main_headers: [
      { name: "From", value: "eve@example.net" },
      { name: "Subject", value: "..." },
    ],
    headers: [
      { name: "Received", value: "from mx" },
      { name: "From", value: "eve@example.net" },
      { name: "Subject", value: "..." },
    ],
    inner_headers: [],
    protection: null,
    decrypted: false,
    texts: [{ media_type: "text/plain", text: "hi", html_source: null, cut: false }],
    attachments: [],
    unreadable: null,
    ...over,
  };
}

function view(over: Partial<HeldView> = {}, p: Partial<PostView> = {}): HeldView {
  return {
    held: {
      id: 1,
      post_id: 1,
      sender: "eve@example.net",
      subject: "...",
      size: 900,
      reason: "eve@example.net is not a member",
      approvable: true,
      held_at: "2026-03-01T12:00:00Z",
      signed_by: null,
      signer_key: null,
    },
    post: post(p),
    approve_to: 3,
    reject_notice: { to: "eve@example.net", subject: "Your post to L was not accepted: ...", text: "Reason: x\n" },
    key_problem: null,
    ...over,
  };
}

describe("sizes", () => {
  it("reads bytes, kilobytes and megabytes", () => {
    expect(formatSize(t, 1)).toBe("1 byte");
    expect(formatSize(t, 812)).toBe("812 bytes");
    expect(formatSize(t, 14_540)).toBe("14.2 KB");
    expect(formatSize(t, 3_250_000)).toBe("3.1 MB");
  });
});

describe("protection", () => {
  it("is nothing on a list without keys", () => {
    expect(protectionLines(t, null, false)).toEqual([]);
  });

  it("says a decrypted post was decrypted here and not saved, in the engine's words", () => {
    const lines = protectionLines(t, 
      {
        encryption: "to-list",
        encryption_words: "encrypted to the list's key",
        signature: "member",
        signature_words: "signed by the key of the member alice@example.org",
      },
      true,
    );
    expect(lines[0]).toEqual({
      kind: "encryption",
      label: "Encryption",
      text: "Encrypted to the list's key. Decrypted here for you; the clear text is not saved.",
      tone: "ok",
    });
    expect(lines[1]).toEqual({
      kind: "signature",
      label: "Signature",
      text: "Signed by the key of the member alice@example.org.",
      tone: "ok",
    });
  });

  it("marks what does not count", () => {
    const lines = protectionLines(t, 
      {
        encryption: "broken",
        encryption_words: "its encryption cannot be trusted (no integrity protection); such posts are never decrypted",
        signature: "unread",
        signature_words: "a signature inside the encryption cannot be read",
      },
      false,
    );
    expect(lines.map((l) => l.tone)).toEqual(["bad", "plain"]);
    expect(lines[0].text).not.toContain("Decrypted here");
  });
});

describe("the view", () => {
  it("heads with the protected subject when the outer one is hidden", () => {
    expect(shownSubject(t, view())).toBe("...");
    expect(shownSubject(t, view({}, { inner_headers: [{ name: "Subject", value: "The real one" }] }))).toBe(
      "The real one",
    );
    const none = view({}, { main_headers: [] });
    none.held.subject = "";
    expect(shownSubject(t, none)).toBe("(no subject)");
  });

  it("shows the main fields first and all of them on demand", () => {
    expect(headerRows(view(), false).map((h) => h.name)).toEqual(["From", "Subject"]);
    expect(headerRows(view(), true).map((h) => h.name)).toEqual(["Received", "From", "Subject"]);
  });

  it("says what Approve and Reject do", () => {
    expect(approveText(t, view())).toBe("Approve sends it to 3 members.");
    expect(approveText(t, view({ approve_to: 1 }))).toBe("Approve sends it to 1 member.");
    expect(rejectText(t, view())).toBe("Reject sends eve@example.net this notice:");
    const bounce = view({ approve_to: 0, reject_notice: null });
    bounce.held.approvable = false;
    expect(approveText(t, bounce)).toContain("never sent to members");
    expect(rejectText(t, bounce)).toBe("Reject tells nobody: automated mail is never answered.");
    expect(rejectText(t, view({ reject_notice: null }))).toContain("no single address");
  });

  it("says why content is not shown, the key's trouble first", () => {
    expect(unreadableText(t, view())).toBeNull();
    const sealed = view({}, { unreadable: "it is encrypted to a key that is not the list's", texts: [] });
    expect(unreadableText(t, sealed)).toBe("The content is not shown: it is encrypted to a key that is not the list's.");
    const locked = view({ key_problem: "the keychain is locked" }, { unreadable: "it is encrypted", texts: [] });
    expect(unreadableText(t, locked)).toContain("the list's key could not be used (the keychain is locked)");
    expect(keyNote(t, locked)).toBeNull();
    expect(keyNote(t, view({ key_problem: "the keychain is locked" }))).toContain("were not checked");
  });

  it("labels HTML parts as shown as text", () => {
    expect(partLabel(t, "text/plain", 0, 1)).toBe("Text");
    expect(partLabel(t, "text/html", 1, 2)).toBe("Part 2 (HTML, shown as text; nothing in it is loaded)");
  });
});
