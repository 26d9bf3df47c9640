import { describe, expect, it } from "vitest";
import { confirmsForget } from "./forget";

describe("confirmsForget", () => {
  it("takes the list's address typed again, and nothing else", () => {
    expect(confirmsForget("team@example.org", " Team@Example.org ")).toBe(true);
    expect(confirmsForget("team@example.org", "team@example.or")).toBe(false);
    expect(confirmsForget("team@example.org", "")).toBe(false);
    expect(confirmsForget("", "")).toBe(false);
  });
});
