import { assert, assertEquals } from "../testing/assert.ts";
import { loadCoordinatorConfig, loadedFlags, modeCeiling, parseMaxParallel } from "./config.ts";

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => void warnings.push(m) };
}

// What a deployment must set: the secret, and where confirmations go.
const SETTINGS = { ASSIGNMENT_PIPELINE_SECRET: "s".repeat(32), NOTIFICATION_SENDER: "log" };

Deno.test("the rollout plan's flags cap the mode Postgres decides", () => {
  assertEquals(modeCeiling(undefined, undefined), null, "unset: Postgres decides");
  assertEquals(modeCeiling(true, false), null, "V3 on: Postgres decides");
  assertEquals(modeCeiling(true, true), null, "V3 on wins over shadow");
  assertEquals(modeCeiling(false, true), "shadow", "V3 off, shadow on: at most shadow");
  assertEquals(modeCeiling(false, false), "legacy", "both off: legacy");
  assertEquals(modeCeiling(false, undefined), "legacy", "V3 off, shadow unset: legacy");
});

Deno.test("the configuration loads with flags in any spelling, and a bad one only warns", () => {
  const { warnings, warn } = collect();
  const shadow = loadCoordinatorConfig({
    ...SETTINGS,
    FEATURE_ASSIGNMENT_PIPELINE_V3: "FALSE",
    FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW: "1",
  }, warn);
  assertEquals(shadow.modeCeiling, "shadow");
  const legacy = loadCoordinatorConfig({ ...SETTINGS, FEATURE_ASSIGNMENT_PIPELINE_V3: "0" }, warn);
  assertEquals(legacy.modeCeiling, "legacy");
  assertEquals(warnings, []);

  const bad = loadCoordinatorConfig({
    ...SETTINGS,
    FEATURE_ASSIGNMENT_PIPELINE_V3: "maybe",
    FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW: "perhaps",
    FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL: "lots",
  }, warn);
  assertEquals(bad.modeCeiling, "legacy", "unreadable flags count as false: the kill switch fails closed");
  assertEquals(bad.maxParallel, null);
  assertEquals(warnings.length, 3, warnings.join("\n"));
});

Deno.test("V3 set to rank tables as legacy does says so: its shadow comparison would be A/A in all but name", () => {
  const { warnings, warn } = collect();
  assertEquals(
    loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_STRATEGY: "first_fit" }, warn).strategy,
    "first_fit",
  );
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assert(warnings[0].includes("legacy planner's ranking"), warnings[0]);
  loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_STRATEGY: "optimal_fit" }, warn);
  assertEquals(warnings.length, 1, "another strategy loads without a word");
});

Deno.test("a blank strategy is the default and one with spaces around is read without them, as every setting", () => {
  const { warnings, warn } = collect();
  for (const blank of ["", "  "]) {
    assertEquals(
      loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_STRATEGY: blank }, warn).strategy,
      "scarcity_fit",
    );
  }
  assertEquals(
    loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_STRATEGY: " optimal_fit\n" }, warn).strategy,
    "optimal_fit",
  );
  assertEquals(warnings, []);
});

Deno.test("a setting of the functions' misspelt is said at start, naming the ones they read", () => {
  const { warnings, warn } = collect();
  const misspelt = [
    "FEATURE_ASSIGMENT_PIPELINE_V3",
    "FEATURE_ASIGNMENT_PIPELINE_V3",
    "FEATUR_ASSIGNMENT_PIPELINE_V3",
    "FEATURES_ASSIGNMENT_PIPELINE_V3",
    "feature_assignment_pipeline_v3",
    "FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOWS",
    "ASSIGNMENT_STRATEGIES",
    "ASSIGNMENT_EXACT_BUDGET",
  ];
  // Another function's flags, the platform's own names, and the settings themselves.
  const others = [
    "FEATURE_AUTO_ASSIGN",
    "FEATURE_REASSIGN_TABLES",
    "SUPABASE_URL",
    "SB_REGION",
    "DENO_DEPLOYMENT_ID",
  ];
  const config = loadCoordinatorConfig(
    {
      ...SETTINGS,
      ...Object.fromEntries([...misspelt, ...others].map((n) => [n, "false"])),
      ASSIGNMENT_STRATEGY: "first_fit",
    },
    warn,
  );
  assertEquals(config.modeCeiling, null, "none of them is read");
  const named = warnings.filter((w) => w.includes("is no setting")).map((w) => w.split(" ")[0]);
  assertEquals(named, misspelt);
  assert(warnings[0].includes("does nothing (misspelt? they read ASSIGNMENT_STRATEGY,"), warnings[0]);
  assert(warnings[0].includes("FEATURE_ASSIGNMENT_PIPELINE_V3,"), warnings[0]);
});

Deno.test("the V3 kill switch pulled in any spelling, or an unreadable one, keeps V3 off the path", () => {
  const levels: (string | undefined)[] = [];
  const warn = (_: string, level?: string) => void levels.push(level);
  const ceiling = (v3: string, shadow?: string) =>
    loadCoordinatorConfig({
      ...SETTINGS,
      FEATURE_ASSIGNMENT_PIPELINE_V3: v3,
      FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW: shadow,
    }, warn).modeCeiling;
  for (const v3 of ["off", "disabled", "No", "nope", "0ff"]) assertEquals(ceiling(v3), "legacy", v3);
  assertEquals(ceiling("nope", "true"), "shadow", "read as false: the shadow flag still applies");
  assertEquals(ceiling("enabled"), null, "on: Postgres decides");
  assertEquals(ceiling("", "on"), null, "unset is unchanged: Postgres decides");
  assertEquals(levels, ["error", "error", "error"], "each unreadable kill switch is an error, not a warning");
});

Deno.test("the flags an instance loaded are what its start-up log line says", () => {
  const flags = (env: Record<string, string>) =>
    loadedFlags(loadCoordinatorConfig({ ...SETTINGS, ...env }, () => {}));
  assertEquals(flags({}), { mode_ceiling: "none", max_parallel_cap: "none", strategy: "scarcity_fit" });
  assertEquals(
    flags({
      FEATURE_ASSIGNMENT_PIPELINE_V3: "false",
      FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW: "true",
      FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL: "5",
    }),
    { mode_ceiling: "shadow", max_parallel_cap: 5, strategy: "scarcity_fit" },
  );
  assertEquals(flags({ FEATURE_ASSIGNMENT_PIPELINE_V3: "false" }).mode_ceiling, "legacy");
});

Deno.test("FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL only caps when set, clamped to 1–20", () => {
  const { warnings, warn } = collect();
  assertEquals(parseMaxParallel(undefined, warn), null, "unset: no cap, the database limit applies");
  assertEquals(parseMaxParallel("", warn), null);
  assertEquals(parseMaxParallel(" 7 ", warn), 7);
  assertEquals(warnings, [], "a cap within 1–20 is taken as it is");
  assertEquals(parseMaxParallel("0", warn), 1, "0 is not 'no cap': it is clamped, and said");
  assertEquals(parseMaxParallel("-4", warn), 1);
  assertEquals(parseMaxParallel("50", warn), 20);
  assertEquals(warnings.length, 3, "each clamped value is reported");
  assert(warnings[0].includes("outside 1–20; 1 applies"), warnings[0]);
  assertEquals(parseMaxParallel("2.5", warn), null, "not a whole number: ignored");
  assertEquals(parseMaxParallel("abc", warn), null);
  assertEquals(warnings.length, 5);
  assertEquals(loadCoordinatorConfig(SETTINGS, warn).maxParallel, null, "a default deployment sets no cap");
});

Deno.test("the configuration refuses a short secret and an unknown strategy with a readable message", () => {
  assertEquals(loadCoordinatorConfig(SETTINGS).strategy.length > 0, true);
  for (
    const bad of [{ ASSIGNMENT_PIPELINE_SECRET: "short" }, { ...SETTINGS, ASSIGNMENT_STRATEGY: "magic" }]
  ) {
    let message = "";
    try {
      loadCoordinatorConfig(bad);
    } catch (e) {
      message = String(e);
    }
    assertEquals(/at least 16 characters|must be one of/.test(message), true, message);
  }
});

Deno.test("the default strategy is scarcity_fit and re-optimisation moves at most 5 bookings unless told", () => {
  const config = loadCoordinatorConfig(SETTINGS);
  assertEquals([config.strategy, config.reoptimizeMaxMoves], ["scarcity_fit", 5]);
  assertEquals(
    loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_REOPTIMIZE_MAX_MOVES: "2" }).reoptimizeMaxMoves,
    2,
  );
  for (const value of ["0", "7", "two"]) {
    let message = "";
    try {
      loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_REOPTIMIZE_MAX_MOVES: value });
    } catch (e) {
      message = String(e);
    }
    assertEquals(message.includes("ASSIGNMENT_REOPTIMIZE_MAX_MOVES"), true, `${value}: ${message}`);
  }
});

Deno.test("a typo in NOTIFICATION_SENDER does not stop the coordinator: it is reported and kept as unusable", () => {
  const { warnings, warn } = collect();
  const config = loadCoordinatorConfig({ ...SETTINGS, NOTIFICATION_SENDER: "webhok" }, warn);
  assertEquals(config.sender.kind, "unusable");
  assertEquals(warnings.length, 1, warnings.join("\n"));
});

Deno.test("a draining instance works on 4 claimed bookings at once unless told 1–32", () => {
  assertEquals(loadCoordinatorConfig(SETTINGS).drainWorkers, 4);
  assertEquals(loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_DRAIN_WORKERS: "16" }).drainWorkers, 16);
  for (const value of ["0", "33", "many", "2.5", "1e1", "0x10", "-4"]) {
    let message = "";
    try {
      loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_DRAIN_WORKERS: value });
    } catch (e) {
      message = String(e);
    }
    assertEquals(message.includes("ASSIGNMENT_DRAIN_WORKERS"), true, `${value}: ${message}`);
  }
});

Deno.test("a numeric setting left blank takes its default instead of reading as 0", () => {
  const blank = loadCoordinatorConfig({
    ...SETTINGS,
    ASSIGNMENT_DRAIN_BUDGET_MS: "",
    ASSIGNMENT_MAX_REPLANS: " ",
    ASSIGNMENT_DRAIN_WORKERS: "",
    ASSIGNMENT_REOPTIMIZE_MAX_MOVES: "",
  });
  assertEquals(
    [blank.drainBudgetMs, blank.maxReplans, blank.drainWorkers, blank.reoptimizeMaxMoves],
    [10_000, 3, 4, 5],
  );
  assertEquals(loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_DRAIN_BUDGET_MS: " 0 " }).drainBudgetMs, 0);
});

Deno.test("an attempt's search and solver budgets are set by the environment, warned of past a hosted request's CPU", () => {
  const { warnings, warn } = collect();
  const defaults = loadCoordinatorConfig(SETTINGS, warn);
  assertEquals([defaults.searchBudgetMs, defaults.exactBudgetMs], [700, 1000]);
  assertEquals(warnings, [], "the defaults fit together");
  const set = loadCoordinatorConfig(
    { ...SETTINGS, ASSIGNMENT_SEARCH_BUDGET_MS: "400", ASSIGNMENT_EXACT_BUDGET_MS: "800" },
    warn,
  );
  assertEquals([set.searchBudgetMs, set.exactBudgetMs], [400, 800]);
  assertEquals(warnings, []);
  loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_SEARCH_BUDGET_MS: "1000" }, warn);
  assertEquals(warnings.length, 1);
  assert(warnings[0].includes("2 s of CPU"), warnings[0]);
  let refused = false;
  try {
    loadCoordinatorConfig({ ...SETTINGS, ASSIGNMENT_EXACT_BUDGET_MS: "1e3" }, warn);
  } catch {
    refused = true;
  }
  assertEquals(refused, true, "a budget not written as a whole number is refused at start");
});
