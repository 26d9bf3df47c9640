// What the list key screen says, apart from the markup: the key's expiry
// state, what renewing does for this kind of key and what members must do
// afterwards, and how long a renewal lasts. Tested in key.test.ts.
import type { ListKeyView, Protocol } from "./api";
import { EXPIRES_SOON_DAYS } from "./members";
import type { Translate } from "./i18n";

const DAY_MS = 24 * 60 * 60 * 1000;

export type ExpiryKind = "never" | "ok" | "soon" | "expired";

export interface ExpiryState {
  kind: ExpiryKind;
  label: string;
  /** A sentence for the owner. */
  detail: string;
}

/** Whether the key is valid, expires soon (under 30 days) or has expired. */
export function expiryState(t: Translate, expires: string | null, now: Date = new Date()): ExpiryState {
  if (!expires) {
    return { kind: "never", label: t("key.neverExpires"), detail: t("key.neverExpiresDetail") };
  }
  const at = new Date(expires);
  if (Number.isNaN(at.getTime())) {
    return { kind: "ok", label: expires, detail: t("key.expiresOn", { date: expires }) };
  }
  const left = at.getTime() - now.getTime();
  if (left <= 0) {
    return { kind: "expired", label: t("key.expired"), detail: t("key.expiredDetail") };
  }
  if (left < EXPIRES_SOON_DAYS * DAY_MS) {
    const days = Math.ceil(left / DAY_MS);
    return { kind: "soon", label: t("key.soon"), detail: t("key.soonDetail", { days: days <= 1 ? 1 : days }) };
  }
  return { kind: "ok", label: t("key.valid"), detail: t("key.validDetail") };
}

/** A date as the screen shows it, in local time. */
export function formatDate(t: Translate, at: string): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return at;
  return d.toLocaleDateString(t.locale, { dateStyle: "long" });
}

/** What a protocol's key is called. */
export function keyName(t: Translate, protocol: Protocol): string {
  return protocol === "smime" ? t("key.name.smime") : t("key.name.openpgp");
}

/** The file members import, as the Save dialog proposes it. */
export function exportHint(t: Translate, protocol: Protocol): string {
  return protocol === "smime" ? t("key.exportHint.smime") : t("key.exportHint.openpgp");
}

/** What renewing does for this key, before the owner chooses to. */
export function renewalText(t: Translate, key: ListKeyView): string {
  switch (key.renewal) {
    case "extend":
      return t("key.renewal.extend");
    case "reissue":
      return t("key.renewal.reissue");
    case "request":
      return key.issuer
        ? t("key.renewal.request", { issuer: key.issuer })
        : t("key.renewal.requestUnknown");
    case "never-expires":
      return t("key.renewal.never");
  }
}

/** What members must do once the key is renewed. */
export function afterRenewal(t: Translate, key: ListKeyView): string {
  return key.protocol === "smime" ? t("key.after.smime") : t("key.after.openpgp");
}

/** Whether the screen offers "Renew" (the list can do it itself). */
export function canRenew(key: ListKeyView): boolean {
  return key.renewal === "extend" || key.renewal === "reissue";
}

/** The lengths a renewal can have, in days. */
export const RENEW_CHOICES: { days: number; years: number }[] = [
  { days: 365, years: 1 },
  { days: 730, years: 2 },
  { days: 1095, years: 3 },
];

/** The date a renewal of `days` would last until. */
export function renewedUntil(days: number, now: Date = new Date()): Date {
  return new Date(now.getTime() + days * DAY_MS);
}

/** What the screen says when the list has no key of its kind yet. */
export function noKeyText(t: Translate, address: string, protocol: Protocol): { text: string; command: string | null } {
  if (protocol === "plain") {
    return {
      text: t("key.none.plain"),
      command: `conclave-cli list key generate ${address} --protocol openpgp`,
    };
  }
  return {
    text: protocol === "smime" ? t("key.none.smime") : t("key.none.openpgp"),
    command: `conclave-cli list key generate ${address}`,
  };
}
