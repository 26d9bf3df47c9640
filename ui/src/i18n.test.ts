// The catalogs against each other and against the code: every language
// has every message and no other, each message parses and uses only the
// placeholders the English one is given, every key the code uses is in the
// catalogs, and every key in the catalogs is used somewhere.
import { describe, expect, it } from "vitest";
import { IntlMessageFormat } from "intl-messageformat";
import { CATALOGS, FALLBACK, LANGUAGES, around, pickLanguage, SLOT, translator } from "./i18n";
import { formatSize } from "./held";
import { saveLabel } from "./policy";
import { addingLabel } from "./progress";

/** The window's sources (tests and the catalogs aside), by file name. */
const SOURCES: Record<string, string> = Object.fromEntries(
  Object.entries(
    import.meta.glob(["./*.ts", "./*.svelte", "!./*.test.ts", "!./bindings.ts"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>,
  ),
);

/** `t("key"` or `$t("key"`: how the code names a message. */
const USE = /(?<![\w$.])\$?t\(\s*"([^"]*)"/g;
/** `t(` followed by anything but a plain string: a key nobody can check. */
const UNCHECKABLE = /(?<![\w$.])\$?t\(\s*(?!["\s)])/g;

function used(): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const [file, text] of Object.entries(SOURCES)) {
    for (const m of text.matchAll(USE)) keys.set(m[1], [...(keys.get(m[1]) ?? []), file]);
  }
  return keys;
}

/** A parsed message, as intl-messageformat reads it: literals, and
 *  arguments (plain, number, date, select, plural) with their branches. */
interface Part {
  type: number;
  value?: string;
  options?: Record<string, { value: Part[] }>;
}

/** The names of a message's {placeholders}, those inside plural and select
 *  branches included. */
function placeholders(key: string, lang: string): Set<string> {
  const names = new Set<string>();
  const walk = (parts: Part[]) => {
    for (const p of parts) {
      // 0 is literal text, 7 a plural's "#", 8 a tag; the rest name a value.
      if (p.type !== 0 && p.type !== 7 && p.type !== 8 && p.value) names.add(p.value);
      for (const o of Object.values(p.options ?? {})) walk(o.value);
    }
  };
  walk(new IntlMessageFormat(CATALOGS[lang][key], lang, undefined, { ignoreTag: true }).getAst() as Part[]);
  return names;
}

const english = CATALOGS[FALLBACK];

describe("the catalogs", () => {
  it("were found, with the sources", () => {
    expect(LANGUAGES[0]).toBe(FALLBACK);
    expect(LANGUAGES).toContain("de");
    expect(Object.keys(SOURCES)).toContain("./App.svelte");
    expect(Object.keys(SOURCES)).toContain("./members.ts");
  });

  for (const lang of LANGUAGES) {
    it(`${lang} has every message of the English catalog, and no other`, () => {
      const theirs = new Set(Object.keys(CATALOGS[lang]));
      const missing = Object.keys(english).filter((k) => !theirs.has(k));
      const extra = [...theirs].filter((k) => !(k in english));
      expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    });

    it(`${lang}: every message is text that parses, with only the English message's placeholders`, () => {
      const wrong: string[] = [];
      for (const [key, message] of Object.entries(CATALOGS[lang])) {
        if (typeof message !== "string" || message.trim() === "") {
          wrong.push(`${key}: empty`);
          continue;
        }
        let mine: Set<string>;
        try {
          mine = placeholders(key, lang);
        } catch (e) {
          wrong.push(`${key}: ${String(e)}`);
          continue;
        }
        if (!(key in english)) continue;
        const allowed = placeholders(key, FALLBACK);
        const stray = [...mine].filter((p) => !allowed.has(p));
        if (stray.length) wrong.push(`${key}: unknown placeholders ${stray.join(", ")}`);
        // A translation may word a value differently, but not lose it.
        const lost = [...allowed].filter((p) => !mine.has(p));
        if (lost.length) wrong.push(`${key}: drops ${lost.join(", ")}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe("the code and the catalogs", () => {
  it("uses no key the English catalog lacks", () => {
    const unknown = [...used()].filter(([key]) => !(key in english)).map(([key, files]) => `${key} (${files.join(", ")})`);
    expect(unknown).toEqual([]);
  });

  it("uses every key of the catalogs", () => {
    const keys = used();
    expect(Object.keys(english).filter((k) => !keys.has(k))).toEqual([]);
  });

  it("names every message by its whole key, so the checks above see it", () => {
    const found: string[] = [];
    for (const [file, text] of Object.entries(SOURCES)) {
      for (const m of text.matchAll(UNCHECKABLE)) {
        found.push(`${file}: ${text.slice(m.index, m.index + 40)}`);
      }
    }
    expect(found).toEqual([]);
  });
});

describe("words in two languages", () => {
  const en = translator("en");
  const de = translator("de");

  it("count members in each language", () => {
    expect(en("app.membersButton", { count: 1, name: "Team" })).toBe("1 member of Team: show and change");
    expect(en("app.membersButton", { count: 2, name: "Team" })).toBe("2 members of Team: show and change");
    expect(de("app.membersButton", { count: 1, name: "Team" })).toContain("1 Mitglied ");
    expect(de("app.membersButton", { count: 2, name: "Team" })).toContain("2 Mitglieder ");
    expect(de("progress.sending", { done: 1200, total: 5000 })).toBe("Sende 1.200 von 5.000");
    expect(en("progress.sending", { done: 1200, total: 5000 })).toBe("Sending 1,200 of 5,000");
  });

  it("speak German in the helpers too: numbers, plurals and the nouns' genders", () => {
    expect(addingLabel(de, 1)).toBe("1 Mitglied wird hinzugefügt…");
    expect(addingLabel(de, 40)).toBe("40 Mitglieder werden hinzugefügt…");
    expect(formatSize(de, 14540)).toBe("14,2 KB");
    expect(formatSize(en, 14540)).toBe("14.2 KB");
    expect(saveLabel(de, 1)).toBe("1 Änderung speichern");
    expect(de("members.action.same", { who: "a@x", protocol: "smime" })).toBe(
      "a@x hat dieses Zertifikat bereits: Es gibt nichts zu speichern.",
    );
    expect(de("members.action.same", { who: "a@x", protocol: "openpgp" })).toBe(
      "a@x hat diesen Schlüssel bereits: Es gibt nichts zu speichern.",
    );
    expect(de("members.plan.summary", { count: 2, what: "cert", parts: "…" })).toBe("Die Datei enthält 2 Zertifikate: ….");
  });

  it("put an element where its placeholder is", () => {
    expect(around(en("forget.type", { address: SLOT }))).toEqual(["Type the list's address, ", ", to confirm:"]);
    expect(around("no slot")).toEqual(["no slot", ""]);
  });
});

describe("the language", () => {
  it("is the owner's choice, else the system's, else English", () => {
    expect(pickLanguage("de", ["en-US"])).toBe("de");
    expect(pickLanguage(null, ["de-AT", "en"])).toBe("de");
    expect(pickLanguage(null, ["fr-FR", "de-DE"])).toBe("de");
    expect(pickLanguage(null, ["fr-FR"])).toBe("en");
    expect(pickLanguage("xx", [])).toBe("en");
    expect(pickLanguage("toString", ["constructor"])).toBe("en");
  });
});
