import { assertEquals } from "../testing/assert.ts";
import { loadCoordinatorConfig, modeCeiling, parseMaxParallel } from "./config.ts";

Deno.test("the rollout plan's flags cap the mode Postgres decides", () => {
  assertEquals(modeCeiling(undefined, undefined), null, "unset: Postgres decides");
  assertEquals(modeCeiling("true", "false"), null, "V3 on: Postgres decides");
  assertEquals(modeCeiling("false", "true"), "shadow", "V3 off, shadow on: at most shadow");
  assertEquals(modeCeiling("false", "false"), "legacy", "both off: legacy");
});

Deno.test("FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL defaults to 3 and is clamped to 1–20", () => {
  assertEquals(parseMaxParallel(undefined), 3);
  assertEquals(parseMaxParallel("abc"), 3);
  assertEquals(parseMaxParallel("0"), 1);
  assertEquals(parseMaxParallel("7"), 7);
  assertEquals(parseMaxParallel("50"), 20);
});

Deno.test("the configuration refuses a short secret and an unknown strategy with a readable message", () => {
  const base = { ASSIGNMENT_PIPELINE_SECRET: "s".repeat(32) };
  assertEquals(loadCoordinatorConfig(base).strategy.length > 0, true);
  for (const bad of [{ ASSIGNMENT_PIPELINE_SECRET: "short" }, { ...base, ASSIGNMENT_STRATEGY: "magic" }]) {
    let message = "";
    try {
      loadCoordinatorConfig(bad);
    } catch (e) {
      message = String(e);
    }
    assertEquals(/at least 16 characters|must be one of/.test(message), true, message);
  }
});
