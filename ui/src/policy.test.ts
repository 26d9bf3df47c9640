import { describe, expect, it } from "vitest";
import type { Preset, Settings } from "./api";
import {
  changes,
  draftOf,
  errorFields,
  formatSize,
  isDirty,
  parseSize,
  presetName,
  presetOf,
  problemsByKey,
  rebase,
  sameValue,
  saveLabel,
  savedMessage,
  sizeInWords,
  withPreset,
} from "./policy";
import { translator } from "./i18n";

const t = translator("en");

// As the engine sends them (settings in the CLI's spelling, max-size in bytes).
const SAVED: Settings = {
  "subject-prefix": "[Tenants] ",
  "reply-to": "poster",
  "non-member-posts": "hold",
  "max-size": "10485760",
  "send-rate": "0",
  "post-encrypt": "yes",
  "post-sign": "yes",
  "distrib-encrypt": "yes",
  "distrib-sign": "yes",
  "signature-max-age-days": "7",
  "owner-notices": "yes",
};

const DISCUSSION: Preset = {
  id: "encrypted-discussion",
  name: "Encrypted discussion",
  summary: "",
  settings: { "post-encrypt": "force", "post-sign": "force", "distrib-encrypt": "force", "distrib-sign": "yes" },
};
const SIGNED: Preset = {
  id: "signed-posts-only",
  name: "Signed posts only, no spam",
  summary: "",
  settings: { "post-encrypt": "yes", "post-sign": "force", "distrib-encrypt": "yes", "distrib-sign": "yes" },
};
const PRESETS = [DISCUSSION, SIGNED];

describe("sizes", () => {
  it("are written as the engine reads them", () => {
    expect(formatSize(10 * 1024 * 1024)).toBe("10M");
    expect(formatSize(500 * 1024)).toBe("500K");
    expect(formatSize(1536 * 1024)).toBe("1536K");
    expect(formatSize(1500)).toBe("1500");
  });

  it("parse like `list set max-size`", () => {
    expect(parseSize("2000000")).toBe(2000000);
    expect(parseSize(" 500k ")).toBe(500 * 1024);
    expect(parseSize("10M")).toBe(10 * 1024 * 1024);
    expect(parseSize("10 M")).toBe(10 * 1024 * 1024);
    for (const bad of ["", "0", "0K", "lots", "1.5M", "-1", "10G", "M"]) expect(parseSize(bad)).toBeNull();
  });

  it("are said in words for the hint", () => {
    expect(sizeInWords(t, "10M")).toBe("10 MiB");
    expect(sizeInWords(t, "1536K")).toBe("1.5 MiB");
    expect(sizeInWords(t, "500K")).toBe("500 KiB");
    expect(sizeInWords(t, "1500")).toBe("1.5 KiB");
    expect(sizeInWords(t, "900")).toBe("900 bytes");
    expect(sizeInWords(t, "big")).toBeNull();
  });
});

describe("the draft", () => {
  it("starts as the saved settings with the size in M or K, and is not dirty", () => {
    const draft = draftOf(SAVED);
    expect(draft["max-size"]).toBe("10M");
    expect(draft["subject-prefix"]).toBe("[Tenants] ");
    expect(changes(SAVED, draft)).toEqual([]);
    expect(isDirty(SAVED, draft)).toBe(false);
  });

  it("changes only what says something else", () => {
    const draft = {
      ...draftOf(SAVED),
      "max-size": "10240K", // the same 10 MiB
      "send-rate": "00",
      "reply-to": "list",
      "signature-max-age-days": "3",
    };
    expect(changes(SAVED, draft)).toEqual([
      ["reply-to", "list"],
      ["signature-max-age-days", "3"],
    ]);
    expect(isDirty(SAVED, draft)).toBe(true);
  });

  it("sends a value the engine will refuse as typed, so the engine says why", () => {
    const draft = { ...draftOf(SAVED), "max-size": "lots", "send-rate": "fast" };
    expect(changes(SAVED, draft)).toEqual([
      ["max-size", "lots"],
      ["send-rate", "fast"],
    ]);
  });

  it("takes a footer's line ends and trailing blanks as the engine keeps them", () => {
    expect(sameValue("footer", "Union\nTuesdays", "Union\r\nTuesdays\n\n")).toBe(true);
    expect(sameValue("footer", "Union", "union")).toBe(false);
    expect(sameValue("footer", "", "  ")).toBe(true);
  });

  it("keeps the subject prefix exact: a space is a change", () => {
    expect(sameValue("subject-prefix", "[T] ", "[T]")).toBe(false);
    expect(sameValue("subject-prefix", "", "")).toBe(true);
    expect(changes(SAVED, { ...draftOf(SAVED), "subject-prefix": "[Tenants]" })).toEqual([
      ["subject-prefix", "[Tenants]"],
    ]);
  });

  it("follows changes made elsewhere, except where the owner is editing", () => {
    const draft = { ...draftOf(SAVED), "reply-to": "list" };
    const elsewhere = { ...SAVED, "reply-to": "poster", "post-sign": "force", "max-size": "1048576" };
    const next = rebase(SAVED, elsewhere, draft);
    expect(next["reply-to"]).toBe("list");
    expect(next["post-sign"]).toBe("force");
    expect(next["max-size"]).toBe("1M");
    expect(changes(elsewhere, next)).toEqual([["reply-to", "list"]]);
    // After a save the saved settings are the draft: nothing is left dirty.
    const saved = { ...SAVED, "reply-to": "list" };
    expect(isDirty(saved, rebase(SAVED, saved, draft))).toBe(false);
  });
});

describe("presets", () => {
  it("are matched on the settings they name only", () => {
    expect(presetOf(SAVED, PRESETS)).toBeNull();
    const chosen = withPreset(draftOf(SAVED), DISCUSSION);
    expect(presetOf(chosen, PRESETS)).toBe(DISCUSSION);
    expect(presetOf({ ...chosen, "max-size": "1K", "reply-to": "list" }, PRESETS)).toBe(DISCUSSION);
    expect(presetOf({ ...chosen, "distrib-sign": "no" }, PRESETS)).toBeNull();
  });

  it("change the four settings and nothing else", () => {
    const draft = { ...draftOf(SAVED), "reply-to": "list" };
    const chosen = withPreset(draft, DISCUSSION);
    expect(changes(SAVED, chosen)).toEqual([
      ["reply-to", "list"],
      ["post-encrypt", "force"],
      ["post-sign", "force"],
      ["distrib-encrypt", "force"],
    ]);
    expect(withPreset(chosen, SIGNED)["post-encrypt"]).toBe("yes");
  });

  it("are named, or Custom", () => {
    expect(presetName(t, "encrypted-discussion", PRESETS)).toBe("Encrypted discussion");
    expect(presetName(t, null, PRESETS)).toBe("Custom");
    expect(presetName(t, "gone", PRESETS)).toBe("Custom");
  });
});

describe("saving", () => {
  it("puts each refusal next to its field", () => {
    const error = {
      code: "bad-settings",
      message: "Nothing was saved",
      fields: [
        { key: "max-size", message: "'lots' is not a size" },
        { key: "send-rate", message: "'fast' is not a number" },
      ],
    };
    expect(problemsByKey(errorFields(error))).toEqual({
      "max-size": "'lots' is not a size",
      "send-rate": "'fast' is not a number",
    });
    expect(errorFields({ code: "store", message: "the disk is full" })).toEqual([]);
    expect(errorFields("a string")).toEqual([]);
  });

  it("says how many changes and what the list follows now", () => {
    expect(saveLabel(t, 0)).toBe("Save");
    expect(saveLabel(t, 1)).toBe("Save 1 change");
    expect(saveLabel(t, 4)).toBe("Save 4 changes");
    expect(savedMessage(t, 3, "encrypted-discussion", PRESETS)).toBe(
      "3 settings were saved. The list follows “Encrypted discussion”.",
    );
    expect(savedMessage(t, 1, null, PRESETS)).toBe("1 setting was saved. The settings match no preset (Custom).");
  });
});
