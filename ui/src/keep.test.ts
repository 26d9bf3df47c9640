import { describe, expect, it } from "vitest";
import type { ProviderPreset } from "./api";
import { translator } from "./i18n";
import { mailboxFor, passphraseCheck } from "./keep";

const t = translator("en");

describe("passphraseCheck", () => {
  it("wants twelve characters, the same twice", () => {
    expect(passphraseCheck(t, "", "")).toEqual({ ok: false, say: null });
    expect(passphraseCheck(t, "short", "").say).toContain("12");
    expect(passphraseCheck(t, "otter lantern quarry", "")).toEqual({ ok: false, say: null });
    expect(passphraseCheck(t, "otter lantern quarry", "otter lantern").say).toContain("differ");
    expect(passphraseCheck(t, "otter lantern quarry", "otter lantern quarry")).toEqual({ ok: true, say: null });
  });
});

describe("mailboxFor", () => {
  const posteo: ProviderPreset = {
    id: "posteo",
    name: "Posteo",
    domains: ["posteo.de", "posteo.net"],
    imap: { host: "posteo.de", port: 993, tls: "implicit" },
    smtp: { host: "posteo.de", port: 465, tls: "implicit" },
    user: "address",
    note: "",
    daily_limit: null,
  };
  it("takes the provider's server for its domains", () => {
    expect(mailboxFor("Group@Posteo.net", [posteo])).toEqual({
      host: "posteo.de",
      port: 993,
      tls: "implicit",
      user: "Group@Posteo.net",
    });
  });
  it("leaves the server to be typed for another domain", () => {
    expect(mailboxFor("list@example.org", [posteo]).host).toBe("");
  });
});
