// Keeping a list safe: the rules the window applies before it asks the
// engine, which checks the same again.
import type { Endpoint, ProviderPreset } from "./api";
import type { Translate } from "./i18n";
import { userFor } from "./wizard";

/** As the engine's MIN_PASSPHRASE. */
export const MIN_PASSPHRASE = 12;

/** Whether a new bundle's passphrase, typed twice, can seal it, and if not
 *  what to say (nothing while it is still empty). */
export function passphraseCheck(t: Translate, first: string, again: string): { ok: boolean; say: string | null } {
  if (first === "") return { ok: false, say: null };
  if ([...first].length < MIN_PASSPHRASE) {
    return { ok: false, say: t("keep.passphrase.short", { count: MIN_PASSPHRASE }) };
  }
  if (again !== "" && again !== first) return { ok: false, say: t("keep.passphrase.differ") };
  return { ok: again === first, say: null };
}

/** The IMAP server of a list's mailbox, as far as the address tells: the
 *  provider that serves its domain, else TLS on 993 to be typed. */
export function mailboxFor(address: string, presets: ProviderPreset[]): Endpoint {
  const domain = address.trim().toLowerCase().split("@")[1] ?? "";
  const preset = presets.find((p) => p.domains.some((d) => d.toLowerCase() === domain)) ?? null;
  return {
    host: preset?.imap.host ?? "",
    port: preset?.imap.port ?? 993,
    tls: preset?.imap.tls ?? "implicit",
    user: userFor(preset, address),
  };
}
