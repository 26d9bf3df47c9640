import { describe, expect, it } from "vitest";
import type { CertInfo, KeyCandidate, KeyInfo, MemberKeyView, MemberRow, Protocol } from "./api";
import {
  actionText,
  canSave,
  filesProblem,
  fingerprintHalves,
  fingerprintLines,
  keyFileProblem,
  keyStatus,
  listHasKeys,
  memberStatuses,
  parsePasted,
  reviewPlan,
  showsProtocols,
  trustText,
} from "./members";
import { translator } from "./i18n";

const t = translator("en");

const NOW = new Date("2026-03-01T12:00:00Z");
const FPR = "ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234";
const SHA = "0011 2233 4455 6677 8899 AABB CCDD EEFF 0011 2233 4455 6677 8899 AABB CCDD EEFF";

function key(expires: string | null, fingerprint = FPR): KeyInfo {
  return {
    fingerprint,
    algorithms: ["Ed25519", "Cv25519"],
    created: "2025-01-01T00:00:00Z",
    expires,
    user_ids: ["Bob <bob@example.org>"],
  };
}

const CERT: CertInfo = {
  fingerprint: SHA,
  subject: "CN=Bob",
  issuer: "CN=Example CA",
  emails: ["bob@example.org"],
  algorithm: "RSA 2048",
  valid_from: "2025-06-01T00:00:00Z",
  expires: "2026-06-01T00:00:00Z",
  self_signed: false,
};

function view(k: KeyInfo, usable = true, protocol: Protocol = "openpgp", problem: string | null = null): MemberKeyView {
  return { protocol, key: k, certificate: protocol === "smime" ? CERT : null, usable, problem };
}

function member(keys: MemberKeyView[]): MemberRow {
  return { email: "bob@example.org", name: "Bob", role: "member", own_posts: true, keys, receives_posts: true, bouncing: null };
}

function candidate(action: KeyCandidate["action"], email: string | null, extra: Partial<KeyCandidate> = {}): KeyCandidate {
  return {
    protocol: "openpgp",
    key: key(null),
    certificate: null,
    trust: null,
    addresses: email ? [{ name: "", email }] : [],
    email,
    name: "",
    matches: email !== null,
    refusal: action === "refused" ? "the key has expired" : null,
    action,
    needs_pin: false,
    current: null,
    note: null,
    cert: [1, 2, 3],
    ...extra,
  };
}

function certificate(action: KeyCandidate["action"], email: string, extra: Partial<KeyCandidate> = {}): KeyCandidate {
  return candidate(action, email, {
    protocol: "smime",
    key: { ...key("2027-01-01T00:00:00Z", `${SHA.slice(0, -4)}${email.slice(0, 1).toUpperCase()}000`), algorithms: ["RSA 2048"] },
    certificate: CERT,
    trust: { kind: "authority", subject: "CN=Example CA", fingerprint: SHA },
    ...extra,
  });
}

describe("a member's key status", () => {
  it("is not shown on a list without keys", () => {
    expect(memberStatuses(t, member([]), false, NOW)).toEqual([]);
    expect(listHasKeys({ protocols: [] })).toBe(false);
    expect(listHasKeys({ protocols: ["smime"] })).toBe(true);
  });

  it("says when there is no key", () => {
    expect(memberStatuses(t, member([]), true, NOW).map((s) => s.kind)).toEqual(["no-key"]);
  });

  it("is ok for a key without expiry or far from it", () => {
    expect(keyStatus(t, view(key(null)), NOW).kind).toBe("ok");
    expect(keyStatus(t, view(key("2026-06-01T00:00:00Z")), NOW).kind).toBe("ok");
  });

  it("warns under 30 days before expiry", () => {
    const s = keyStatus(t, view(key("2026-03-20T12:00:00Z")), NOW);
    expect(s.kind).toBe("expires-soon");
    expect(s.detail).toContain("in 19 days");
    expect(keyStatus(t, view(key("2026-03-31T11:00:00Z")), NOW).kind).toBe("expires-soon");
    expect(keyStatus(t, view(key("2026-04-01T12:00:00Z")), NOW).kind).toBe("ok");
  });

  it("tells expired from revoked", () => {
    expect(keyStatus(t, view(key("2026-02-01T00:00:00Z"), false), NOW).kind).toBe("expired");
    // The app's clock may be a little behind: a past date is expired anyway.
    expect(keyStatus(t, view(key("2026-03-01T11:59:00Z"), true), NOW).kind).toBe("expired");
    const r = keyStatus(t, view(key(null), false), NOW);
    expect(r.kind).toBe("revoked");
    expect(r.detail).toContain("current key");
  });

  it("gives each key of a member with both kinds its own status", () => {
    const both = member([
      view(key("2026-06-01T00:00:00Z")),
      view(key("2026-03-10T00:00:00Z", SHA), true, "smime"),
    ]);
    expect(memberStatuses(t, both, true, NOW).map((s) => s.kind)).toEqual(["ok", "expires-soon"]);
    expect(memberStatuses(t, both, true, NOW)[1].detail).toContain("renewed one");
  });

  it("calls a certificate that cannot be used unusable, with the engine's reason", () => {
    const s = keyStatus(t, view(key("2027-01-01T00:00:00Z", SHA), false, "smime", "it is valid only from 2027-01-01"), NOW);
    expect(s.kind).toBe("unusable");
    expect(s.label).toBe("Unusable");
    expect(s.detail).toContain("valid only from 2027-01-01");
    expect(keyStatus(t, view(key("2026-01-01T00:00:00Z", SHA), false, "smime"), NOW).detail).toContain("certificate has expired");
  });

  it("names each key's protocol only where both kinds occur", () => {
    const one = member([view(key(null))]);
    expect(showsProtocols({ protocol: "openpgp", protocols: ["openpgp"], members: [one] })).toBe(false);
    expect(showsProtocols({ protocol: "openpgp", protocols: ["openpgp", "smime"], members: [one] })).toBe(true);
    const cert = member([view(key(null, SHA), true, "smime")]);
    expect(showsProtocols({ protocol: "openpgp", protocols: ["openpgp"], members: [cert] })).toBe(true);
    expect(showsProtocols({ protocol: "smime", protocols: ["smime"], members: [cert] })).toBe(false);
  });
});

describe("a fingerprint", () => {
  it("breaks in the middle, five groups a line", () => {
    expect(fingerprintHalves("1111 2222 3333 4444 5555 6666 7777 8888 9999 0000")).toEqual([
      "1111 2222 3333 4444 5555",
      "6666 7777 8888 9999 0000",
    ]);
  });

  it("goes in even lines of at most five groups in the table", () => {
    expect(fingerprintLines(FPR)).toHaveLength(2);
    const lines = fingerprintLines(SHA);
    expect(lines).toEqual([
      "0011 2233 4455 6677",
      "8899 AABB CCDD EEFF",
      "0011 2233 4455 6677",
      "8899 AABB CCDD EEFF",
    ]);
    expect(lines.join(" ")).toBe(SHA);
    expect(fingerprintLines("")).toEqual([]);
  });
});

describe("a certificate's standing with the list's authorities", () => {
  it("says which trusted authority issued it, or why it must be trusted for its member", () => {
    expect(trustText(t, { kind: "authority", subject: "CN=Example CA", fingerprint: SHA })).toEqual({
      trusted: true,
      text: "Issued by CN=Example CA, an authority this list trusts.",
    });
    expect(trustText(t, { kind: "self-signed" }).trusted).toBe(false);
    expect(trustText(t, { kind: "self-signed" }).text).toContain("Self-signed");
    expect(trustText(t, { kind: "unknown-issuer", issuer: "CN=Other CA" }).text).toContain(
      "Issued by CN=Other CA, which this list does not trust",
    );
    expect(trustText(t, { kind: "broken", why: "certificate signature failure" }).text).toContain("does not verify");
  });
});

describe("the review of a key file", () => {
  it("counts what each key leads to and offers to add the new members at once", () => {
    const plan = reviewPlan(t, [
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
    const plan = reviewPlan(t, [candidate("refused", null), candidate("refused", "e@example.org")]);
    expect(plan.addLabel).toBeNull();
    expect(plan.summary).toBe("The file holds 2 keys: 2 keys refused.");
    expect(reviewPlan(t, [candidate("add", "a@example.org")]).addLabel).toBe("Add 1 member");
  });

  it("says what saving each key does, old and new fingerprint for a replacement", () => {
    const old = "1111 2222 3333 4444 5555 6666 7777 8888 9999 0000";
    expect(actionText(t, candidate("replace", "bob@example.org", { current: old }))).toBe(
      `Would replace the OpenPGP key of bob@example.org: ${old} → ${FPR}.`,
    );
    expect(actionText(t, candidate("add", "a@example.org", { name: "Ann" }))).toBe(
      "Will be added as a new member: a@example.org (Ann).",
    );
    expect(actionText(t, certificate("set-key", "bob@example.org"))).toBe(
      "Will become the S/MIME certificate of bob@example.org, who has none yet.",
    );
    expect(actionText(t, certificate("same", "bob@example.org"))).toBe(
      "bob@example.org has this certificate already: nothing to save.",
    );
  });

  it("adds a certificate no trusted authority issued only once the owner trusts it for its member", () => {
    const own = certificate("add", "dan@example.org", { needs_pin: true, trust: { kind: "self-signed" } });
    const cands = [certificate("add", "ann@example.org"), own, certificate("refused", "eve@example.org")];
    const before = reviewPlan(t, cands);
    expect(before.add.map((c) => c.email)).toEqual(["ann@example.org"]);
    expect(before.waiting.map((c) => c.email)).toEqual(["dan@example.org"]);
    expect(before.addLabel).toBe("Add 1 member");
    expect(before.summary).toBe(
      "The file holds 3 certificates: 1 new member to add, 1 certificate to trust before adding, 1 certificate refused.",
    );
    expect(canSave(own, new Set())).toBe(false);
    const pinned = new Set([own.key.fingerprint]);
    expect(canSave(own, pinned)).toBe(true);
    const after = reviewPlan(t, cands, pinned);
    expect(after.add.map((c) => c.email)).toEqual(["ann@example.org", "dan@example.org"]);
    expect(after.waiting).toEqual([]);
    expect(after.addLabel).toBe("Add 2 members");
    // Nothing to save is never saveable, pinned or not.
    expect(canSave(certificate("same", "ann@example.org"), pinned)).toBe(false);
    expect(canSave(certificate("refused", "ann@example.org"), pinned)).toBe(false);
  });

  it("counts a new member with a key of each kind once", () => {
    const plan = reviewPlan(t, [candidate("add", "bob@example.org"), certificate("add", "Bob@example.org")]);
    expect(plan.add).toHaveLength(2);
    expect(plan.addLabel).toBe("Add 1 member");
    expect(plan.summary).toBe("The file holds 2 keys and certificates: 1 new member to add.");
  });
});

const ARMOR = [
  "-----BEGIN PGP PUBLIC KEY BLOCK-----",
  "",
  "mDMEZ0000BYJKwYBBAHaRw8BAQdA",
  "=abcd",
  "-----END PGP PUBLIC KEY BLOCK-----",
].join("\n");

const PEM = ["-----BEGIN CERTIFICATE-----", "MIIBszCCAVmgAwIBAgIU", "-----END CERTIFICATE-----"].join("\n");
const PKCS7 = ["-----BEGIN PKCS7-----", "MIIC", "-----END PKCS7-----"].join("\n");

describe("pasted key text", () => {
  it("takes a whole armored key, even quoted from a mail", () => {
    const p = parsePasted(t, ARMOR.split("\n").map((l) => "> " + l).join("\r\n"));
    expect(p.ok).toBe(true);
    if (p.ok) {
      const text = new TextDecoder().decode(p.bytes);
      expect(text.startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ")).toBe(true);
      expect(p.blocks).toBe(1);
    }
  });

  it("counts several keys pasted one after the other", () => {
    const p = parsePasted(t, `${ARMOR}\n\n${ARMOR}`);
    expect(p.ok && p.blocks).toBe(2);
  });

  it("takes PEM certificates and PKCS#7 bundles, alone or after a key", () => {
    const p = parsePasted(t, `${PEM}\n${ARMOR}\n${PKCS7}`);
    expect(p.ok && p.blocks).toBe(3);
    expect(parsePasted(t, PEM).ok).toBe(true);
  });

  it("puts back the line breaks of a certificate that lost them, and leaves whole ones alone", () => {
    const body = "A".repeat(100);
    const p = parsePasted(t, `-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----`);
    expect(p.ok).toBe(true);
    if (p.ok) {
      expect(new TextDecoder().decode(p.bytes)).toBe(
        `-----BEGIN CERTIFICATE-----\n${"A".repeat(64)}\n${"A".repeat(36)}\n-----END CERTIFICATE-----\n`,
      );
    }
    const whole = parsePasted(t, PEM);
    expect(whole.ok && new TextDecoder().decode(whole.bytes)).toBe(`${PEM}\n`);
    const armor = parsePasted(t, ARMOR);
    expect(armor.ok && new TextDecoder().decode(armor.bytes)).toBe(`${ARMOR}\n`);
  });

  it("refuses empty text, a cut-off key or certificate, a secret key and what is no key", () => {
    const err = (text: string) => {
      const p = parsePasted(t, text);
      return p.ok ? "" : p.error;
    };
    expect(err("  \n ")).toContain("Paste a key or certificate first");
    expect(err(ARMOR.split("\n").slice(0, 3).join("\n"))).toContain("key is cut off");
    expect(err(PEM.split("\n").slice(0, 2).join("\n"))).toContain("certificate is cut off");
    expect(err(ARMOR.replaceAll("PUBLIC", "PRIVATE"))).toContain("secret key");
    expect(err(`${PEM}\n${PEM.replaceAll("CERTIFICATE", "PRIVATE KEY")}`)).toContain("secret key");
    expect(err(ARMOR.replaceAll("PUBLIC KEY BLOCK", "MESSAGE"))).toContain("This is a PGP message, not a key");
    expect(err(PEM.replaceAll("CERTIFICATE", "CERTIFICATE REQUEST"))).toContain("a certificate request, not");
    expect(err("hello bob")).toContain("not a key or certificate");
  });
});

describe("chosen or dropped files", () => {
  it("takes OpenPGP key files and S/MIME certificate files of a sane size", () => {
    expect(keyFileProblem(t, "bob.asc", 3000)).toBeNull();
    expect(keyFileProblem(t, "ring.GPG", 3000)).toBeNull();
    for (const name of ["bob.pem", "bob.crt", "bob.CER", "bob.der", "members.p7b", "members.p7c"]) {
      expect(keyFileProblem(t, name, 3000)).toBeNull();
    }
    expect(keyFileProblem(t, "photo.jpg", 3000)).toContain("not a key or certificate file");
    expect(keyFileProblem(t, "bob.p12", 3000)).toContain("not a key or certificate file");
    expect(keyFileProblem(t, "bob.asc", 0)).toContain("empty");
    expect(keyFileProblem(t, "bob.asc", 17 * 1024 * 1024)).toContain("larger than 16 MB");
  });

  it("reads several files in one review up to 16 MB together", () => {
    expect(filesProblem(t, [3000, 4000])).toBeNull();
    expect(filesProblem(t, [9 * 1024 * 1024, 9 * 1024 * 1024])).toContain("fewer at a time");
  });
});
