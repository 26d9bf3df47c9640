// What the policy screen decides apart from the markup: the draft of a
// list's settings, which settings it changes, which preset it matches, and
// the maximum size as an owner writes it. The presets themselves and what
// each value means come from the engine (PolicyView). Tested in
// policy.test.ts.
import type { Preset, SettingProblem, Settings } from "./api";
import type { Translate } from "./i18n";

const KIB = 1024;
const MIB = 1024 * 1024;

/** Settings whose values are whole numbers ("07" is "7"). */
const NUMBERS = new Set(["send-rate", "signature-max-age-days"]);

/** "10M", "500K" or "1500" (bytes): how the engine's own values read. */
export function formatSize(bytes: number): string {
  if (bytes > 0 && bytes % MIB === 0) return `${bytes / MIB}M`;
  if (bytes > 0 && bytes % KIB === 0) return `${bytes / KIB}K`;
  return String(bytes);
}

/** Bytes from "2000000", "500K", "10M" (as `list set max-size` takes
 *  them); null for anything else, which the engine then refuses with its
 *  reason. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+)\s*([kKmM]?)\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]) * (m[2] === "" ? 1 : m[2].toUpperCase() === "K" ? KIB : MIB);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

/** The size in words for the hint under the field, e.g. "10 MiB". */
export function sizeInWords(t: Translate, text: string): string | null {
  const bytes = parseSize(text);
  if (bytes === null) return null;
  const whole = (n: number) => n.toLocaleString(t.locale);
  const one = (n: number) => n.toLocaleString(t.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  if (bytes % MIB === 0) return t("policy.mib", { size: whole(bytes / MIB) });
  if (bytes >= MIB) return t("policy.mib", { size: one(bytes / MIB) });
  if (bytes % KIB === 0) return t("policy.kib", { size: whole(bytes / KIB) });
  if (bytes >= KIB) return t("policy.kib", { size: one(bytes / KIB) });
  return t("policy.bytes", { count: bytes });
}

/** The form's starting values: the saved settings, the size written as an
 *  owner would. */
export function draftOf(saved: Settings): Settings {
  const draft = { ...saved };
  const bytes = parseSize(saved["max-size"] ?? "");
  if (bytes !== null) draft["max-size"] = formatSize(bytes);
  return draft;
}

/** Whether a drafted value says the same as the saved one. */
export function sameValue(key: string, saved: string | undefined, drafted: string | undefined): boolean {
  if (saved === drafted) return true;
  if (saved === undefined || drafted === undefined) return false;
  // The prefix goes into subjects as it is: a trailing space counts.
  if (key === "subject-prefix") return false;
  // The engine keeps a footer's lines as they are, without trailing blanks.
  if (key === "footer") return saved.trimEnd() === drafted.replace(/\r\n?/g, "\n").trimEnd();
  if (key === "max-size") {
    const a = parseSize(saved);
    return a !== null && a === parseSize(drafted);
  }
  if (NUMBERS.has(key)) {
    const [a, b] = [saved.trim(), drafted.trim()];
    return /^\d+$/.test(a) && /^\d+$/.test(b) && Number(a) === Number(b);
  }
  return saved.trim().toLowerCase() === drafted.trim().toLowerCase();
}

/** The settings the draft changes, as (key, value) for `save_policy`, in
 *  the order of the saved settings. */
export function changes(saved: Settings, draft: Settings): [string, string][] {
  return Object.keys(saved)
    .filter((key) => key in draft && !sameValue(key, saved[key], draft[key]))
    .map((key) => [key, draft[key]]);
}

export function isDirty(saved: Settings, draft: Settings): boolean {
  return changes(saved, draft).length > 0;
}

/** The preset whose settings these are, or null ("Custom"). */
export function presetOf(values: Settings, presets: Preset[]): Preset | null {
  return (
    presets.find((p) =>
      Object.entries(p.settings).every(([key, value]) => sameValue(key, value, values[key])),
    ) ?? null
  );
}

/** The name of the preset with this id, or "Custom". */
export function presetName(t: Translate, id: string | null, presets: Preset[]): string {
  return presets.find((p) => p.id === id)?.name ?? t("policy.custom");
}

/** The draft with a preset's settings chosen; the others stay as drafted. */
export function withPreset(draft: Settings, preset: Preset): Settings {
  return { ...draft, ...preset.settings };
}

/** The draft after the saved settings changed underneath it (the CLI, or a
 *  save): what the owner had not touched follows the new settings, what
 *  they were editing stays. */
export function rebase(oldSaved: Settings, newSaved: Settings, draft: Settings): Settings {
  const next = draftOf(newSaved);
  for (const key of Object.keys(draft)) {
    if (!sameValue(key, oldSaved[key], draft[key])) next[key] = draft[key];
  }
  return next;
}

/** The engine's reasons by setting, to show each next to its field. */
export function problemsByKey(fields: SettingProblem[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields ?? []) out[f.key] = out[f.key] ? `${out[f.key]}; ${f.message}` : f.message;
  return out;
}

/** The settings a command error is about, if it names any. */
export function errorFields(error: unknown): SettingProblem[] {
  if (typeof error === "object" && error !== null && "fields" in error) {
    const fields = (error as { fields: unknown }).fields;
    if (Array.isArray(fields)) return fields as SettingProblem[];
  }
  return [];
}

/** The Save button's words. */
export function saveLabel(t: Translate, count: number): string {
  if (count === 0) return t("policy.save");
  return t("policy.saveChanges", { count });
}

/** What the owner reads after a save. */
export function savedMessage(t: Translate, count: number, preset: string | null, presets: Preset[]): string {
  return preset === null
    ? t("policy.savedCustom", { count })
    : t("policy.savedPreset", { count, preset: presetName(t, preset, presets) });
}
