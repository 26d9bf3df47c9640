// What the list key screen says, apart from the markup: the key's expiry
// state, what renewing does for this kind of key and what members must do
// afterwards, and how long a renewal lasts. Tested in key.test.ts.
import type { ListKeyView, Protocol } from "./api";
import { EXPIRES_SOON_DAYS } from "./members";

const DAY_MS = 24 * 60 * 60 * 1000;

export type ExpiryKind = "never" | "ok" | "soon" | "expired";

export interface ExpiryState {
  kind: ExpiryKind;
  label: string;
  /** A sentence for the owner. */
  detail: string;
}

/** Whether the key is valid, expires soon (under 30 days) or has expired. */
export function expiryState(expires: string | null, now: Date = new Date()): ExpiryState {
  if (!expires) {
    return { kind: "never", label: "Does not expire", detail: "The key does not expire." };
  }
  const at = new Date(expires);
  if (Number.isNaN(at.getTime())) {
    return { kind: "ok", label: expires, detail: `The key expires on ${expires}.` };
  }
  const left = at.getTime() - now.getTime();
  if (left <= 0) {
    return {
      kind: "expired",
      label: "Expired",
      detail:
        "The key has expired: members' mail programs no longer encrypt to it and its signatures no longer count. Renew it now.",
    };
  }
  if (left < EXPIRES_SOON_DAYS * DAY_MS) {
    const days = Math.ceil(left / DAY_MS);
    return {
      kind: "soon",
      label: "Expires soon",
      detail: `The key expires ${days <= 1 ? "within a day" : `in ${days} days`}: renew it, then send members the renewed key.`,
    };
  }
  return { kind: "ok", label: "Valid", detail: "The key is valid." };
}

/** A date as the screen shows it, in local time. */
export function formatDate(at: string): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return at;
  return d.toLocaleDateString(undefined, { dateStyle: "long" });
}

/** What a protocol's key is called. */
export function keyName(protocol: Protocol): string {
  return protocol === "smime" ? "S/MIME certificate" : "OpenPGP key";
}

/** What members import, in words. */
export function publicName(protocol: Protocol): string {
  return protocol === "smime" ? "certificate" : "public key";
}

/** The file members import, as the Save dialog proposes it. */
export function exportHint(protocol: Protocol): string {
  return protocol === "smime"
    ? "Members import this certificate (PEM) into their mail program, e.g. Outlook or Thunderbird."
    : "Members import this public key into their mail program or gpg, then check its fingerprint with you.";
}

/** What renewing does for this key, before the owner chooses to. */
export function renewalText(key: ListKeyView): string {
  switch (key.renewal) {
    case "extend":
      return "Renewing keeps the key and its fingerprint and moves its expiry later (new signatures on the same key).";
    case "reissue":
      return "The list signed this certificate itself. Renewing issues it again on the same private key with a later end date; its SHA-256 fingerprint changes.";
    case "request":
      return `${key.issuer ?? "An authority"} issued this certificate: only they can renew it. Save a renewal request for the same key and send it to them, then install their answer with conclave-cli list key install-cert.`;
    case "never-expires":
      return "This key does not expire, so there is nothing to renew.";
  }
}

/** What members must do once the key is renewed. */
export function afterRenewal(key: ListKeyView): string {
  if (key.protocol === "smime") {
    return "Members need the renewed certificate: send it to them (Copy or Save… above) so their mail programs can go on encrypting to the list.";
  }
  return "Members need the renewed public key: send it to them (Copy or Save… above), or they will stop encrypting to the list when the old expiry passes. Its fingerprint is the same.";
}

/** Whether the screen offers "Renew" (the list can do it itself). */
export function canRenew(key: ListKeyView): boolean {
  return key.renewal === "extend" || key.renewal === "reissue";
}

/** The lengths a renewal can have, in days. */
export const RENEW_CHOICES: { days: number; label: string }[] = [
  { days: 365, label: "1 year" },
  { days: 730, label: "2 years" },
  { days: 1095, label: "3 years" },
];

/** The date a renewal of `days` would last until. */
export function renewedUntil(days: number, now: Date = new Date()): Date {
  return new Date(now.getTime() + days * DAY_MS);
}

/** What the screen says when the list has no key of its kind yet. */
export function noKeyText(address: string, protocol: Protocol): { text: string; command: string | null } {
  if (protocol === "plain") {
    return {
      text: "This list has no key: posts go out as they are, neither signed nor encrypted. To give it one, make a key for it:",
      command: `conclave-cli list key generate ${address} --protocol openpgp`,
    };
  }
  return {
    text: `This list has no ${keyName(protocol)} yet, so it cannot sign or decrypt posts. Make one:`,
    command: `conclave-cli list key generate ${address}`,
  };
}
