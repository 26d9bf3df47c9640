// The window's words: every text it shows comes from a message catalog in
// ./locales (one JSON file per language, ICU MessageFormat: plurals and
// numbers follow the language), read through svelte-i18n. The language
// follows the system's (the webview's navigator.languages) until the owner
// picks one in the window; that choice is kept in the webview's
// localStorage. Text from the engine (its errors, the reasons in the
// activity log, the presets' descriptions) stays as the engine says it.
//
// Keys are written out in full wherever they are used — `t("app.newList")`
// or `$t("app.newList")` — never built from pieces: i18n.test.ts finds them
// that way, and fails on a key missing from a catalog or one nothing uses.
//
// svelte-i18n keeps the catalogs and the window's language (its `locale`
// store, with English as the fallback); a message is formatted here with
// intl-messageformat (which svelte-i18n itself uses) for the language asked
// for. svelte-i18n's own formatter is not used: it caches a formatter by the
// message's text alone, with the language that was current the first time
// (kaisermann/svelte-i18n pull request #251, unreleased in 4.0.1), so a
// number or plural could come out in the wrong language's way.
import { IntlMessageFormat } from "intl-messageformat";
import { addMessages, dictionary, getLocaleFromNavigator, init, locale } from "svelte-i18n";
import { derived, get, type Readable } from "svelte/store";
import en from "./locales/en.json";
import de from "./locales/de.json";

/** A message's name in the catalogs (English is the reference). */
export type MessageKey = keyof typeof en;

/** What a message's {placeholders} are filled with. */
export type Values = Record<string, string | number | Date | null | undefined>;

/** Words in one language: a message by key, and the language's tag for
 *  dates and numbers formatted outside a message. */
export interface Translate {
  (key: MessageKey, values?: Values): string;
  readonly locale: string;
}

/** The catalogs by language tag; English first, also where another
 *  catalog lacks a message. */
export const CATALOGS: Record<string, Record<string, string>> = { en, de };

/** The languages the window can show, in the chooser's order. */
export const LANGUAGES: string[] = Object.keys(CATALOGS);

export const FALLBACK = "en";

function known(tag: string | null | undefined): tag is string {
  return !!tag && LANGUAGES.includes(tag);
}

const STORAGE_KEY = "conclave.language";

/** The owner's own choice if there is one, else the first of the system's
 *  languages a catalog exists for (by its main part: "de-AT" is "de"), else
 *  English. */
export function pickLanguage(chosen: string | null, system: readonly string[]): string {
  if (known(chosen)) return chosen;
  for (const tag of system) {
    const main = tag.toLowerCase().split(/[-_]/)[0];
    if (known(main)) return main;
  }
  return FALLBACK;
}

function storedChoice(): string | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function systemLanguages(): string[] {
  if (typeof navigator === "undefined") return [];
  const all = [...(navigator.languages ?? [])];
  const one = getLocaleFromNavigator();
  return all.length ? all : one ? [one] : [];
}

for (const [tag, messages] of Object.entries(CATALOGS)) addMessages(tag, messages);
const initial = pickLanguage(storedChoice(), systemLanguages());
void init({ fallbackLocale: FALLBACK, initialLocale: initial });
markDocument(initial);

function markDocument(tag: string) {
  if (typeof document !== "undefined") document.documentElement.lang = tag;
}

/** Formatters by language and message text. */
const formatters = new Map<string, IntlMessageFormat>();

function formatter(tag: string, message: string): IntlMessageFormat {
  const id = `${tag}\u0000${message}`;
  let f = formatters.get(id);
  if (!f) {
    // Tags are text, not markup: "<" and ">" in a message stay as they are.
    f = new IntlMessageFormat(message, tag, undefined, { ignoreTag: true });
    formatters.set(id, f);
  }
  return f;
}

/** The words of one language, whatever the window shows now. A message the
 *  language lacks is said in English; a key no catalog has is shown as it
 *  is (i18n.test.ts sees to it that neither happens). */
export function translator(tag: string): Translate {
  const t = (key: MessageKey, values?: Values) => {
    const catalogs = get(dictionary);
    const own = catalogs[tag]?.[key];
    const [lang, message] = typeof own === "string" ? [tag, own] : [FALLBACK, catalogs[FALLBACK]?.[key]];
    if (typeof message !== "string") return key;
    return String(formatter(lang, message).format(values));
  };
  return Object.assign(t, { locale: tag });
}

/** A language's name in its own words, for the chooser. */
export function languageName(tag: string): string {
  const t = translator(tag);
  return t("language.name");
}

/** The words of the window's language; components read it as `$t`. */
export const t: Readable<Translate> = derived(locale, (tag) => translator(known(tag) ? tag : FALLBACK));

/** The window's language now. */
export const language: Readable<string> = derived(locale, (tag) => (known(tag) ? tag : FALLBACK));

/** Shows the window in `tag` from now on, and after a restart. */
export function chooseLanguage(tag: string) {
  if (!known(tag)) return;
  try {
    localStorage.setItem(STORAGE_KEY, tag);
  } catch {
    // Without storage the choice lasts until the window closes.
  }
  void locale.set(tag);
  markDocument(tag);
}

/** Stands for an element inside a message ("Type <strong>{address}</strong>
 *  to confirm"): fill the placeholder with SLOT, then `around` gives the
 *  text before and after it, and the markup goes between. */
export const SLOT = "\u{E000}";

export function around(text: string): [string, string] {
  const i = text.indexOf(SLOT);
  return i < 0 ? [text, ""] : [text.slice(0, i), text.slice(i + SLOT.length)];
}
