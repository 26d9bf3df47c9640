import { describe, expect, it } from "vitest";
import type { KeyCandidate, KeyInfo, MemberRow } from "./api";
import {
  actionText,
  fingerprintHalves,
  joinFiles,
  keyFileProblem,
  memberStatus,
  parsePasted,
  reviewPlan,
} from "./members";

const NOW = new Date("2026-03-01T12:00:00Z");
const FPR = "ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234";

function key(expires: string | null): KeyInfo {
  return {
    fingerprint: FPR,
    algorithms: ["Ed25519", "Cv25519"],
    created: "2025-01-01T00:00:00Z",
    expires,
    user_ids: ["Bob <bob@example.org>"],
  };
}

function member(k: KeyInfo | null, usable = true): MemberRow {
  return { email: "bob@example.org", name: "Bob", role: "member", own_posts: true, key: k, key_usable: usable };
}

function candidate(action: KeyCandidate["action"], email: string | null, extra: Partial<KeyCandidate> = {}): KeyCandidate {
  return {
    key: key(null),
    addresses: email ? [{ name: "", email }] : [],
    email,
    name: "",
    matches: email !== null,
    refusal: action === "refused" ? "the key has expired" : null,
    action,
    current: null,
    cert: [1, 2, 3],
    ...extra,
  };
}

describe("a member's key status", () => {
  it("is not shown on a plain list", () => {
    expect(memberStatus(member(null), "plain", NOW)).toBeNull();
  });

  it("says when there is no key", () => {
    expect(memberStatus(member(null), "openpgp", NOW)?.kind).toBe("no-key");
  });

  it("is ok for a key without expiry or far from it", () => {
    expect(memberStatus(member(key(null)), "openpgp", NOW)?.kind).toBe("ok");
    expect(memberStatus(member(key("2026-06-01T00:00:00Z")), "openpgp", NOW)?.kind).toBe("ok");
  });

  it("warns under 30 days before expiry", () => {
    const s = memberStatus(member(key("2026-03-20T12:00:00Z")), "openpgp", NOW);
    expect(s?.kind).toBe("expires-soon");
    expect(s?.detail).toContain("in 19 days");
    expect(memberStatus(member(key("2026-03-31T11:00:00Z")), "openpgp", NOW)?.kind).toBe("expires-soon");
    expect(memberStatus(member(key("2026-04-01T12:00:00Z")), "openpgp", NOW)?.kind).toBe("ok");
  });

  it("tells expired from revoked", () => {
    expect(memberStatus(member(key("2026-02-01T00:00:00Z"), false), "openpgp", NOW)?.kind).toBe("expired");
    // The app's clock may be a little behind: a past date is expired anyway.
    expect(memberStatus(member(key("2026-03-01T11:59:00Z"), true), "openpgp", NOW)?.kind).toBe("expired");
    const r = memberStatus(member(key(null), false), "openpgp", NOW);
    expect(r?.kind).toBe("revoked");
    expect(r?.detail).toContain("current key");
  });
});

describe("a fingerprint", () => {
  it("breaks in the middle, five groups a line", () => {
    expect(fingerprintHalves("1111 2222 3333 4444 5555 6666 7777 8888 9999 0000")).toEqual([
      "1111 2222 3333 4444 5555",
      "6666 7777 8888 9999 0000",
    ]);
  });
});

describe("the review of a key file", () => {
  it("counts what each key leads to and offers to add the new members at once", () => {
    const plan = reviewPlan([
      candidate("add", "a@example.org"),
      candidate("add", "b@example.org"),
      candidate("add", "c@example.org"),
      candidate("set-key", "d@example.org"),
      candidate("refused", "e@example.org"),
      candidate("same", "f@example.org"),
    ]);
    expect(plan.add.map((c) => c.email)).toEqual(["a@example.org", "b@example.org", "c@example.org"]);
    expect(plan.setKey).toHaveLength(1);
    expect(plan.refused).toHaveLength(1);
    expect(plan.addLabel).toBe("Add 3 members");
    expect(plan.summary).toBe(
      "The file holds 6 keys: 3 new members to add, 1 key for members who have none, 1 key already saved, 1 key refused.",
    );
  });

  it("offers no add button when nothing can be added", () => {
    const plan = reviewPlan([candidate("refused", null), candidate("refused", "e@example.org")]);
    expect(plan.addLabel).toBeNull();
    expect(plan.summary).toBe("The file holds 2 keys: 2 keys refused.");
    expect(reviewPlan([candidate("add", "a@example.org")]).addLabel).toBe("Add 1 member");
  });

  it("says what saving each key does, old and new fingerprint for a replacement", () => {
    const old = "1111 2222 3333 4444 5555 6666 7777 8888 9999 0000";
    expect(actionText(candidate("replace", "bob@example.org", { current: old }))).toBe(
      `Would replace the key of bob@example.org: ${old} → ${FPR}.`,
    );
    expect(actionText(candidate("add", "a@example.org", { name: "Ann" }))).toBe(
      "Will be added as a new member: a@example.org (Ann).",
    );
  });
});

const ARMOR = [
  "-----BEGIN PGP PUBLIC KEY BLOCK-----",
  "",
  "mDMEZ0000BYJKwYBBAHaRw8BAQdA",
  "=abcd",
  "-----END PGP PUBLIC KEY BLOCK-----",
].join("\n");

describe("pasted key text", () => {
  it("takes a whole armored key, even quoted from a mail", () => {
    const p = parsePasted(ARMOR.split("\n").map((l) => "> " + l).join("\r\n"));
    expect(p.ok).toBe(true);
    if (p.ok) {
      const text = new TextDecoder().decode(p.bytes);
      expect(text.startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ")).toBe(true);
      expect(p.blocks).toBe(1);
    }
  });

  it("counts several keys pasted one after the other", () => {
    const p = parsePasted(`${ARMOR}\n\n${ARMOR}`);
    expect(p.ok && p.blocks).toBe(2);
  });

  it("refuses empty text, a cut-off key, a secret key and what is no key", () => {
    const err = (text: string) => {
      const p = parsePasted(text);
      return p.ok ? "" : p.error;
    };
    expect(err("  \n ")).toContain("Paste a key first");
    expect(err(ARMOR.split("\n").slice(0, 3).join("\n"))).toContain("cut off");
    expect(err(ARMOR.replaceAll("PUBLIC", "PRIVATE"))).toContain("secret key");
    expect(err(ARMOR.replaceAll("PUBLIC KEY BLOCK", "MESSAGE"))).toContain("not a key");
    expect(err("hello bob")).toContain("not an OpenPGP key");
  });
});

describe("chosen or dropped files", () => {
  it("takes OpenPGP key files of a sane size", () => {
    expect(keyFileProblem("bob.asc", 3000)).toBeNull();
    expect(keyFileProblem("ring.GPG", 3000)).toBeNull();
    expect(keyFileProblem("photo.jpg", 3000)).toContain("not an OpenPGP key file");
    expect(keyFileProblem("bob.asc", 0)).toContain("empty");
    expect(keyFileProblem("bob.asc", 17 * 1024 * 1024)).toContain("larger than 16 MB");
  });

  it("joins armored files with a line break, binary ones as they are, never both", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(new TextDecoder().decode(joinFiles([enc(ARMOR), enc(ARMOR)])!)).toBe(`${ARMOR}\n${ARMOR}\n`);
    expect([...joinFiles([new Uint8Array([0x99, 1]), new Uint8Array([0x99, 2])])!]).toEqual([0x99, 1, 0x99, 2]);
    expect(joinFiles([enc(ARMOR), new Uint8Array([0x99, 1])])).toBeNull();
  });
});
