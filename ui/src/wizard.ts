// What the new-list wizard decides, apart from the markup: which steps a
// list has and which comes next, what each form still lacks, how a
// provider preset and a change of security fill the account, that the SMTP
// login is the IMAP one unless set apart, and whether a connection test
// still speaks for what the form holds. Tested in wizard.test.ts.
import type {
  Account,
  CheckReport,
  KeyInput,
  Protocol,
  ProviderPreset,
  ServerOutcome,
  TlsMode,
} from "./api";
import type { Translate } from "./i18n";

export type Step = "list" | "account" | "key" | "done";

/** The preset id of "type the servers by hand". */
export const OTHER = "other";

export interface ListForm {
  name: string;
  address: string;
  protocol: Protocol;
}

export interface ServerForm {
  host: string;
  /** As typed; checked by parsePort. */
  port: string;
  tls: TlsMode;
}

export interface AccountForm {
  preset: string;
  imap: ServerForm;
  smtp: ServerForm;
  imapUser: string;
  imapPassword: string;
  /** The SMTP login is the IMAP one (the usual case). */
  smtpSame: boolean;
  smtpUser: string;
  smtpPassword: string;
  /** A certificate authority (PEM) for a self-hosted server. */
  caPem: string | null;
  caName: string | null;
  /** Messages the provider lets the account send in 24 hours, from the
   *  chosen provider (Gmail: 500); null when not known. */
  dailyLimit: number | null;
}

export type KeyMode = "generate" | "import";

export interface KeyForm {
  mode: KeyMode;
  algo: string;
  file: Uint8Array | null;
  fileName: string | null;
  passphrase: string;
}

/** A form's problems by field; empty when it is complete. */
export type Problems = Partial<Record<string, string>>;

/** The steps of a list of this protocol: a plain list has no key. */
export function steps(protocol: Protocol): Step[] {
  return protocol === "plain" ? ["list", "account", "done"] : ["list", "account", "key", "done"];
}

export function nextStep(step: Step, protocol: Protocol): Step | null {
  const all = steps(protocol);
  const i = all.indexOf(step);
  return i >= 0 && i + 1 < all.length ? all[i + 1] : null;
}

export function previousStep(step: Step, protocol: Protocol): Step | null {
  const all = steps(protocol);
  const i = all.indexOf(step);
  // Nothing goes back from "done": the list exists then.
  return i > 0 && step !== "done" ? all[i - 1] : null;
}

/** Whether the step's forward button creates the list (the last step
 *  before "done"). */
export function createsList(step: Step, protocol: Protocol): boolean {
  return nextStep(step, protocol) === "done";
}

/** "Step 2 of 3", counting the steps with forms. */
export function stepLabel(t: Translate, step: Step, protocol: Protocol): string {
  const forms: Step[] = steps(protocol).filter((s) => s !== "done");
  const i = forms.indexOf(step);
  return i < 0 ? "" : t("wizard.step", { n: i + 1, of: forms.length });
}

export function emptyList(): ListForm {
  return { name: "", address: "", protocol: "openpgp" };
}

/** The standard port of a server kind under a security setting. */
export function defaultPort(kind: "imap" | "smtp", tls: TlsMode): number {
  if (kind === "imap") return tls === "implicit" ? 993 : 143;
  return tls === "implicit" ? 465 : 587;
}

export function emptyAccount(): AccountForm {
  return {
    preset: OTHER,
    imap: { host: "", port: "993", tls: "implicit" },
    smtp: { host: "", port: "465", tls: "implicit" },
    imapUser: "",
    imapPassword: "",
    smtpSame: true,
    smtpUser: "",
    smtpPassword: "",
    caPem: null,
    caName: null,
    dailyLimit: null,
  };
}

/** A changed security setting takes the port along when the port was the
 *  standard one of the old setting (or empty); a port typed on purpose
 *  stays. */
export function changeSecurity(server: ServerForm, kind: "imap" | "smtp", tls: TlsMode): ServerForm {
  const port = server.port.trim();
  const standard = port === "" || port === String(defaultPort(kind, server.tls));
  return { ...server, tls, port: standard ? String(defaultPort(kind, tls)) : server.port };
}

/** The user name a provider expects for the list's address. */
export function userFor(preset: ProviderPreset | null, address: string): string {
  const a = address.trim();
  if (preset?.user === "local-part") {
    const at = a.lastIndexOf("@");
    return at > 0 ? a.slice(0, at) : a;
  }
  return a;
}

/** Chooses a provider: its servers fill the form. "Other" leaves what is
 *  there to be typed. The user name follows unless it was typed by hand
 *  (it is empty, or what the previous choice suggested). */
export function applyPreset(
  form: AccountForm,
  presetId: string,
  presets: ProviderPreset[],
  address: string,
): AccountForm {
  const previous = presets.find((p) => p.id === form.preset) ?? null;
  const preset = presets.find((p) => p.id === presetId) ?? null;
  const suggestedBefore = userFor(previous, address);
  const userUntouched = form.imapUser.trim() === "" || form.imapUser.trim() === suggestedBefore;
  const next: AccountForm = {
    ...form,
    preset: preset ? preset.id : OTHER,
    dailyLimit: preset ? preset.daily_limit : form.dailyLimit,
  };
  if (preset) {
    next.imap = { host: preset.imap.host, port: String(preset.imap.port), tls: preset.imap.tls };
    next.smtp = { host: preset.smtp.host, port: String(preset.smtp.port), tls: preset.smtp.tls };
  }
  if (userUntouched) next.imapUser = userFor(preset, address);
  return next;
}

/** A port number as typed, or null when it is none. */
export function parsePort(text: string): number | null {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= 65535 ? n : null;
}

/** A host name as typed is plausible: no spaces, no scheme, no path. */
function hostProblem(t: Translate, host: string, kind: "IMAP" | "SMTP"): string | undefined {
  const h = host.trim();
  const example = `${kind.toLowerCase()}.example.org`;
  if (!h) return t("wizard.problem.host", { kind, example });
  if (/[\s/@]/.test(h)) return t("wizard.problem.hostOnly", { example });
  return undefined;
}

const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

export function listProblems(t: Translate, list: ListForm): Problems {
  const p: Problems = {};
  if (!list.name.trim()) p.name = t("wizard.problem.name");
  const a = list.address.trim();
  if (!a) p.address = t("wizard.problem.address");
  else if (!ADDRESS.test(a) || a.endsWith(".")) p.address = t("wizard.problem.notAddress", { address: a });
  return p;
}

/** What the account form lacks, by field. */
export function accountProblems(t: Translate, form: AccountForm): Problems {
  const p: Problems = {};
  const server = (kind: "IMAP" | "SMTP", s: ServerForm, prefix: "imap" | "smtp") => {
    const host = hostProblem(t, s.host, kind);
    if (host) p[`${prefix}Host`] = host;
    if (parsePort(s.port) === null) p[`${prefix}Port`] = t("wizard.problem.port");
  };
  server("IMAP", form.imap, "imap");
  server("SMTP", form.smtp, "smtp");
  if (!form.imapUser.trim()) p.imapUser = t("wizard.problem.user");
  if (!form.imapPassword) p.imapPassword = t("wizard.problem.password");
  if (!form.smtpSame) {
    if (!form.smtpUser.trim()) p.smtpUser = t("wizard.problem.smtpUser");
    if (!form.smtpPassword) p.smtpPassword = t("wizard.problem.smtpPassword");
  }
  return p;
}

export function hasProblems(p: Problems): boolean {
  return Object.values(p).some(Boolean);
}

/** The account as the app takes it, with the passwords beside it: the
 *  SMTP login is the IMAP one unless set apart. Call only without
 *  problems. */
export function toAccount(form: AccountForm): { account: Account; imapPassword: string; smtpPassword: string } {
  const user = form.imapUser.trim();
  return {
    account: {
      imap: { host: form.imap.host.trim(), port: parsePort(form.imap.port) ?? 0, tls: form.imap.tls, user },
      smtp: {
        host: form.smtp.host.trim(),
        port: parsePort(form.smtp.port) ?? 0,
        tls: form.smtp.tls,
        user: form.smtpSame ? user : form.smtpUser.trim(),
      },
      ca_pem: form.caPem,
      daily_limit: form.dailyLimit,
    },
    imapPassword: form.imapPassword,
    smtpPassword: form.smtpSame ? form.imapPassword : form.smtpPassword,
  };
}

/** What a connection test was run on: a test speaks for the form only
 *  while this stays the same. Kept in memory only. */
export function accountKey(form: AccountForm): string {
  return JSON.stringify(toAccount(form));
}

/** Whether the last test passed for exactly what the form holds now. */
export function testPassed(report: CheckReport | null, testedKey: string | null, form: AccountForm): boolean {
  return report !== null && report.imap.ok && report.smtp.ok && testedKey === accountKey(form);
}

/** One server's line of a test result. */
export function outcomeText(t: Translate, kind: "IMAP" | "SMTP", outcome: ServerOutcome): string {
  if (outcome.ok) return t("wizard.outcome.ok", { kind });
  return t("wizard.outcome.failed", { kind, why: outcome.problem?.message ?? t("wizard.outcome.loginFailed") });
}

/** The list key's algorithms; the first is the default. */
export function keyAlgorithms(protocol: Protocol): string[] {
  if (protocol === "smime") return ["rsa3072", "p256"];
  if (protocol === "openpgp") return ["ed25519", "rsa4096"];
  return [];
}

/** What an algorithm is called in the choice. */
export function algorithmLabel(t: Translate, algo: string): string {
  switch (algo) {
    case "rsa3072":
      return t("wizard.algo.rsa3072");
    case "p256":
      return t("wizard.algo.p256");
    case "ed25519":
      return t("wizard.algo.ed25519");
    case "rsa4096":
      return t("wizard.algo.rsa4096");
    default:
      return algo;
  }
}

export function emptyKey(protocol: Protocol): KeyForm {
  return { mode: "generate", algo: keyAlgorithms(protocol)[0] ?? "", file: null, fileName: null, passphrase: "" };
}

/** What the list key form lacks, or null. */
export function keyProblem(t: Translate, form: KeyForm, protocol: Protocol): string | null {
  if (protocol === "plain") return null;
  if (form.mode === "generate") {
    return keyAlgorithms(protocol).includes(form.algo) ? null : t("wizard.problem.algorithm");
  }
  if (form.file) return null;
  return protocol === "smime" ? t("wizard.problem.keyFileSmime") : t("wizard.problem.keyFile");
}

/** The key choice as the app takes it. */
export function keyInput(form: KeyForm, protocol: Protocol): KeyInput {
  if (protocol === "plain") return { kind: "none" };
  if (form.mode === "import" && form.file) {
    return { kind: "import", bytes: Array.from(form.file), passphrase: form.passphrase || null };
  }
  return { kind: "generate", algo: form.algo };
}

/** The files a list key comes in, for the file dialog. */
export function keyFileAccept(protocol: Protocol): string {
  return protocol === "smime" ? ".p12,.pfx,.pem,.key" : ".asc,.gpg,.pgp,.key,.sec";
}

/** No key file or certificate is this big; a mistaken choice is said
 *  before it is read. */
export const MAX_FILE_BYTES = 1024 * 1024;

export function fileProblem(t: Translate, name: string, size: number): string | null {
  if (size === 0) return t("common.fileEmpty", { name });
  if (size > MAX_FILE_BYTES) return t("wizard.problem.fileTooLarge", { name });
  return null;
}

/** A CA file's text is a PEM certificate (the app checks it for real). */
export function caProblem(t: Translate, text: string): string | null {
  const first = "-----BEGIN CERTIFICATE-----";
  return text.includes(first) ? null : t("wizard.problem.notPem", { first });
}
