import { describe, expect, it } from "vitest";
import type { CheckReport, ProviderPreset } from "./api";
import {
  OTHER,
  accountKey,
  accountProblems,
  applyPreset,
  caProblem,
  changeSecurity,
  createsList,
  emptyAccount,
  emptyKey,
  fileProblem,
  hasProblems,
  keyInput,
  keyProblem,
  listProblems,
  nextStep,
  outcomeText,
  parsePort,
  previousStep,
  stepLabel,
  steps,
  testPassed,
  toAccount,
  userFor,
  type AccountForm,
} from "./wizard";
import { translator } from "./i18n";

const t = translator("en");

const PRESETS: ProviderPreset[] = [
  {
    id: "posteo",
    name: "Posteo",
    domains: ["posteo.de"],
    imap: { host: "posteo.de", port: 993, tls: "implicit" },
    smtp: { host: "posteo.de", port: 465, tls: "implicit" },
    user: "address",
    note: "",
    daily_limit: null,
  },
  {
    id: "gmail",
    name: "Gmail",
    domains: ["gmail.com"],
    imap: { host: "imap.gmail.com", port: 993, tls: "implicit" },
    smtp: { host: "smtp.gmail.com", port: 465, tls: "implicit" },
    user: "address",
    note: "app password",
    daily_limit: 500,
  },
  {
    id: "riseup",
    name: "Riseup",
    domains: ["riseup.net"],
    imap: { host: "mail.riseup.net", port: 993, tls: "implicit" },
    smtp: { host: "mail.riseup.net", port: 587, tls: "starttls" },
    user: "local-part",
    note: "without @riseup.net",
    daily_limit: null,
  },
];

function filled(): AccountForm {
  return {
    ...emptyAccount(),
    imap: { host: "127.0.0.1", port: "143", tls: "starttls" },
    smtp: { host: "127.0.0.1", port: "587", tls: "starttls" },
    imapUser: "list@conclave.test",
    imapPassword: "secret",
  };
}

describe("steps", () => {
  it("a protected list has a key step, a plain one does not", () => {
    expect(steps("openpgp")).toEqual(["list", "account", "key", "done"]);
    expect(steps("smime")).toEqual(["list", "account", "key", "done"]);
    expect(steps("plain")).toEqual(["list", "account", "done"]);
  });

  it("next and back follow the protocol, and nothing goes back from done", () => {
    expect(nextStep("list", "openpgp")).toBe("account");
    expect(nextStep("account", "openpgp")).toBe("key");
    expect(nextStep("account", "plain")).toBe("done");
    expect(nextStep("done", "plain")).toBeNull();
    expect(previousStep("key", "smime")).toBe("account");
    expect(previousStep("list", "smime")).toBeNull();
    expect(previousStep("done", "openpgp")).toBeNull();
  });

  it("the last form creates the list and is counted as such", () => {
    expect(createsList("key", "openpgp")).toBe(true);
    expect(createsList("account", "openpgp")).toBe(false);
    expect(createsList("account", "plain")).toBe(true);
    expect(stepLabel(t, "account", "openpgp")).toBe("Step 2 of 3");
    expect(stepLabel(t, "account", "plain")).toBe("Step 2 of 2");
    expect(stepLabel(t, "done", "plain")).toBe("");
  });
});

describe("the list step", () => {
  it("wants a name and an address", () => {
    expect(listProblems(t, { name: " ", address: "", protocol: "openpgp" })).toEqual({
      name: expect.stringContaining("name"),
      address: expect.stringContaining("e-mail address"),
    });
    expect(listProblems(t, { name: "T", address: "tenants", protocol: "openpgp" }).address).toContain(
      "is not an e-mail address",
    );
    expect(listProblems(t, { name: "T", address: "a b@example.org", protocol: "openpgp" }).address).toBeDefined();
    expect(listProblems(t, { name: "T", address: "t@example.", protocol: "openpgp" }).address).toBeDefined();
    expect(hasProblems(listProblems(t, { name: "T", address: " t@example.org ", protocol: "smime" }))).toBe(false);
  });
});

describe("the account step", () => {
  it("starts as Other with implicit TLS on the standard ports", () => {
    const a = emptyAccount();
    expect(a.preset).toBe(OTHER);
    expect([a.imap.port, a.imap.tls, a.smtp.port, a.smtp.tls]).toEqual(["993", "implicit", "465", "implicit"]);
    expect(a.smtpSame).toBe(true);
  });

  it("a preset fills the servers and the user name the provider expects", () => {
    const a = applyPreset(emptyAccount(), "riseup", PRESETS, "tenants@riseup.net");
    expect(a.preset).toBe("riseup");
    expect(a.imap).toEqual({ host: "mail.riseup.net", port: "993", tls: "implicit" });
    expect(a.smtp).toEqual({ host: "mail.riseup.net", port: "587", tls: "starttls" });
    expect(a.imapUser).toBe("tenants");
    // Switching provider changes a suggested user name, never a typed one.
    expect(applyPreset(a, "posteo", PRESETS, "tenants@riseup.net").imapUser).toBe("tenants@riseup.net");
    const typed = { ...a, imapUser: "someone-else" };
    expect(applyPreset(typed, "posteo", PRESETS, "tenants@riseup.net").imapUser).toBe("someone-else");
    // Other keeps the servers to be edited by hand.
    const other = applyPreset(a, OTHER, PRESETS, "tenants@riseup.net");
    expect(other.preset).toBe(OTHER);
    expect(other.imap.host).toBe("mail.riseup.net");
    expect(applyPreset(emptyAccount(), "no-such", PRESETS, "x@y.org").preset).toBe(OTHER);
  });

  it("a provider's daily sending limit goes with its preset into the account", () => {
    const gmail = applyPreset(emptyAccount(), "gmail", PRESETS, "tenants@gmail.com");
    expect(gmail.dailyLimit).toBe(500);
    expect(toAccount({ ...gmail, imapPassword: "pw" }).account.daily_limit).toBe(500);
    expect(applyPreset(gmail, "posteo", PRESETS, "tenants@gmail.com").dailyLimit).toBeNull();
    expect(toAccount(filled()).account.daily_limit).toBeNull();
    expect(userFor(null, " x@y.org ")).toBe("x@y.org");
  });

  it("a change of security takes a standard port along, a typed one stays", () => {
    const imap = { host: "h", port: "993", tls: "implicit" as const };
    expect(changeSecurity(imap, "imap", "starttls")).toEqual({ host: "h", port: "143", tls: "starttls" });
    expect(changeSecurity({ ...imap, port: "" }, "imap", "starttls").port).toBe("143");
    expect(changeSecurity({ ...imap, port: "10993" }, "imap", "starttls").port).toBe("10993");
    const smtp = { host: "h", port: "465", tls: "implicit" as const };
    expect(changeSecurity(smtp, "smtp", "starttls").port).toBe("587");
    expect(changeSecurity({ ...smtp, port: "587", tls: "starttls" }, "smtp", "none").port).toBe("587");
  });

  it("ports are whole numbers from 1 to 65535", () => {
    expect(parsePort(" 993 ")).toBe(993);
    for (const bad of ["", "0", "65536", "99a", "-1", "9.5"]) expect(parsePort(bad)).toBeNull();
  });

  it("says what is missing, field by field", () => {
    const p = accountProblems(t, emptyAccount());
    expect(Object.keys(p).sort()).toEqual(["imapHost", "imapPassword", "imapUser", "smtpHost"]);
    expect(accountProblems(t, { ...filled(), imap: { host: "imap://x", port: "0", tls: "implicit" } })).toEqual({
      imapHost: expect.stringContaining("only the server's name"),
      imapPort: expect.stringContaining("1 to 65535"),
    });
    expect(hasProblems(accountProblems(t, filled()))).toBe(false);
    const apart = { ...filled(), smtpSame: false };
    expect(Object.keys(accountProblems(t, apart)).sort()).toEqual(["smtpPassword", "smtpUser"]);
  });

  it("the SMTP login is the IMAP one unless set apart", () => {
    const same = toAccount(filled());
    expect(same.account.smtp.user).toBe("list@conclave.test");
    expect(same.smtpPassword).toBe("secret");
    expect(same.account.imap).toEqual({ host: "127.0.0.1", port: 143, tls: "starttls", user: "list@conclave.test" });
    expect(same.account.ca_pem).toBeNull();
    const apart = toAccount({ ...filled(), smtpSame: false, smtpUser: " sender ", smtpPassword: "other" });
    expect(apart.account.smtp.user).toBe("sender");
    expect(apart.smtpPassword).toBe("other");
    expect(apart.imapPassword).toBe("secret");
  });

  it("a test speaks for the form only while nothing in it changed", () => {
    const form = filled();
    const ok: CheckReport = { imap: { ok: true, problem: null }, smtp: { ok: true, problem: null } };
    const key = accountKey(form);
    expect(testPassed(ok, key, form)).toBe(true);
    expect(testPassed(ok, key, { ...form, imapPassword: "changed" })).toBe(false);
    expect(testPassed(ok, key, { ...form, caPem: "-----BEGIN CERTIFICATE-----" })).toBe(false);
    expect(testPassed(ok, null, form)).toBe(false);
    const failed: CheckReport = { ...ok, smtp: { ok: false, problem: null } };
    expect(testPassed(failed, key, form)).toBe(false);
  });

  it("a result line names the server and what went wrong", () => {
    expect(outcomeText(t, "IMAP", { ok: true, problem: null })).toBe("IMAP: logged in.");
    const refused = {
      ok: false,
      problem: {
        kind: "wrong-password" as const,
        message: "The server refused the user name or password.",
        fix: "Check both.",
        detail: "",
      },
    };
    expect(outcomeText(t, "SMTP", refused)).toBe("SMTP: failed. The server refused the user name or password.");
  });

  it("a CA file must be a PEM certificate; files are sized first", () => {
    expect(caProblem(t, "-----BEGIN CERTIFICATE-----\nMII...")).toBeNull();
    expect(caProblem(t, "hello")).toContain("not a PEM certificate");
    expect(fileProblem(t, "ca.pem", 0)).toContain("empty");
    expect(fileProblem(t, "movie.mkv", 5_000_000)).toContain("larger than 1 MiB");
    expect(fileProblem(t, "key.asc", 4000)).toBeNull();
  });
});

describe("the key step", () => {
  it("generates by default with the recommended algorithm", () => {
    expect(emptyKey("openpgp")).toMatchObject({ mode: "generate", algo: "ed25519" });
    expect(emptyKey("smime")).toMatchObject({ mode: "generate", algo: "rsa3072" });
    expect(keyInput(emptyKey("openpgp"), "openpgp")).toEqual({ kind: "generate", algo: "ed25519" });
    expect(keyProblem(t, emptyKey("smime"), "smime")).toBeNull();
    expect(keyProblem(t, { ...emptyKey("smime"), algo: "ed25519" }, "smime")).toBe("Choose an algorithm.");
  });

  it("an import needs its file, and sends the passphrase only when there is one", () => {
    const form = { ...emptyKey("smime"), mode: "import" as const };
    expect(keyProblem(t, form, "smime")).toContain("key and certificate");
    const withFile = { ...form, file: new Uint8Array([1, 2]), fileName: "list.p12" };
    expect(keyProblem(t, withFile, "smime")).toBeNull();
    expect(keyInput(withFile, "smime")).toEqual({ kind: "import", bytes: [1, 2], passphrase: null });
    expect(keyInput({ ...withFile, passphrase: "pw" }, "smime")).toEqual({
      kind: "import",
      bytes: [1, 2],
      passphrase: "pw",
    });
  });

  it("a plain list sends no key", () => {
    expect(keyInput(emptyKey("plain"), "plain")).toEqual({ kind: "none" });
    expect(keyProblem(t, emptyKey("plain"), "plain")).toBeNull();
  });
});
