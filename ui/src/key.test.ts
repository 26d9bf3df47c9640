import { describe, expect, it } from "vitest";
import type { ListKeyView } from "./api";
import { afterRenewal, canRenew, expiryState, noKeyText, renewalText, renewedUntil } from "./key";
import { translator } from "./i18n";

const t = translator("en");

const NOW = new Date("2026-03-01T12:00:00Z");

function key(extra: Partial<ListKeyView> = {}): ListKeyView {
  return {
    protocol: "openpgp",
    fingerprint: "ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234 ABCD 1234",
    algorithms: ["Ed25519", "Cv25519"],
    created: "2025-03-01T12:00:00Z",
    expires: "2027-03-01T12:00:00Z",
    user_ids: ["L <l@example.org>"],
    subject: null,
    issuer: null,
    renewal: "extend",
    public: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n…",
    ...extra,
  };
}

describe("a list key's expiry", () => {
  it("may be none", () => {
    expect(expiryState(t, null, NOW).kind).toBe("never");
  });

  it("is valid when far", () => {
    expect(expiryState(t, "2026-06-01T00:00:00Z", NOW)).toMatchObject({ kind: "ok", label: "Valid" });
  });

  it("is flagged under 30 days, with the days left", () => {
    const s = expiryState(t, "2026-03-11T12:00:00Z", NOW);
    expect(s.kind).toBe("soon");
    expect(s.detail).toContain("in 10 days");
    expect(expiryState(t, "2026-03-01T18:00:00Z", NOW).detail).toContain("within a day");
    expect(expiryState(t, "2026-03-31T11:59:00Z", NOW).kind).toBe("soon");
    expect(expiryState(t, "2026-03-31T12:00:01Z", NOW).kind).toBe("ok");
  });

  it("is expired at and after the moment", () => {
    expect(expiryState(t, "2026-03-01T12:00:00Z", NOW).kind).toBe("expired");
    expect(expiryState(t, "2025-01-01T00:00:00Z", NOW).detail).toContain("Renew it now");
  });
});

describe("renewal", () => {
  it("is offered where the list can do it itself", () => {
    expect(canRenew(key())).toBe(true);
    expect(canRenew(key({ protocol: "smime", renewal: "reissue" }))).toBe(true);
    expect(canRenew(key({ protocol: "smime", renewal: "request" }))).toBe(false);
    expect(canRenew(key({ renewal: "never-expires", expires: null }))).toBe(false);
  });

  it("says what it does for each kind of key", () => {
    expect(renewalText(t, key())).toContain("fingerprint");
    expect(renewalText(t, key({ protocol: "smime", renewal: "reissue" }))).toContain("fingerprint changes");
    expect(renewalText(t, key({ protocol: "smime", renewal: "request", issuer: "CN=Example CA" }))).toContain(
      "CN=Example CA issued this certificate",
    );
    expect(renewalText(t, key({ renewal: "never-expires" }))).toContain("nothing to renew");
  });

  it("tells the owner that members need the renewed key", () => {
    expect(afterRenewal(t, key())).toContain("Members need the renewed public key");
    expect(afterRenewal(t, key({ protocol: "smime" }))).toContain("Members need the renewed certificate");
  });

  it("lasts the days chosen", () => {
    expect(renewedUntil(730, NOW).toISOString()).toBe("2028-02-29T12:00:00.000Z");
  });
});

describe("a list without a key", () => {
  it("points to the command that makes one", () => {
    expect(noKeyText(t, "l@example.org", "openpgp").command).toBe("conclave-cli list key generate l@example.org");
    const plain = noKeyText(t, "p@example.org", "plain");
    expect(plain.text).toContain("no key");
    expect(plain.command).toContain("--protocol openpgp");
  });
});
