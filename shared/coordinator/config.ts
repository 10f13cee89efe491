// The coordinator's settings, from the environment Supabase gives the function (function secrets): the
// settings it shares with the notification dispatcher, and its own. Read by the policy in config/env.ts:
// the rollout plan's three flags never stop the function from starting (an unreadable on/off flag is taken
// as false, its safe side); the strategy and the limits do.
import { z } from "../deps.ts";
import {
  consoleWarn,
  type Env,
  loadSharedConfig,
  parseFlag,
  type SharedConfig,
  type Warn,
} from "../config/env.ts";
import { DEFAULT_STRATEGY, strategyNames } from "../engine/strategies/registry.ts";
import type { ModeCeiling } from "../store/port.ts";
import { DEFAULT_MAX_MOVES } from "../engine/reoptimize.ts";
import { DEFAULT_EXACT_TIME_LIMIT_MS } from "../engine/exact/fallback.ts";
import { DEFAULT_SEARCH_BUDGET_MS, LEGACY_STRATEGY } from "./coordinator.ts";

/** A hosted request's CPU time (2 s) less what an attempt spends besides the search and the solver. */
const ENGINE_CPU_ALLOWANCE_MS = 1700;

/**
 * Claimed bookings one draining instance works on at once. Once a backlog forms (overload, a reservation
 * drop) every booking is taken by a claim loop, so this sets how hard one instance drives the database. On 2
 * cores no other count beat 4 in the overload benchmark (docs/benchmarks.md); a database with more cores may
 * take more. Each restaurant's max_parallel holds whatever it is.
 */
export const DEFAULT_DRAIN_WORKERS = 4;

/** Time for one review's re-seating search (the quality benchmark measures what it finds within it). */
export const DEFAULT_RESEATING_BUDGET_MS = 1000;

/**
 * FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL: a cap this deployment puts on the database's
 * per-restaurant limit. Unset or empty means no cap (the database setting, default 3, applies alone);
 * a whole number is clamped to 1–20 (and reported when it had to be); anything else is reported and ignored.
 */
export function parseMaxParallel(raw: string | undefined, warn: Warn): number | null {
  const value = raw?.trim() ?? "";
  if (value === "") return null;
  if (!/^[+-]?\d+$/.test(value)) {
    warn(
      `FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL=${
        JSON.stringify(raw)
      } is not a whole number; ignored (the database limit applies)`,
    );
    return null;
  }
  const given = Number.parseInt(value, 10);
  const cap = Math.min(20, Math.max(1, given));
  // 0 is not "no cap" here: it would throttle every restaurant to one booking at a time. Say so.
  if (cap !== given) {
    warn(
      `FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL=${JSON.stringify(raw)} is outside 1–20; ${cap} applies`,
    );
  }
  return cap;
}

/**
 * A whole number written in decimal digits, within [min, max]; unset or blank takes the default. ("" is not
 * 0, and "1e4", "0x10" or "2.5" are refused, which z.coerce.number() would accept.)
 */
function wholeNumber(min: number, max: number, fallback: number) {
  return z.preprocess(
    (raw) => (typeof raw === "string" && raw.trim() === "" ? undefined : raw),
    z.string().trim().regex(/^[0-9]+$/, "must be a whole number in decimal digits").transform(Number)
      .pipe(z.number().int().min(min).max(max)).default(fallback),
  );
}

const envSchema = z.object({
  // Blank is unset and the ends are trimmed, as for every other setting.
  ASSIGNMENT_STRATEGY: z.preprocess(
    (raw) => (typeof raw === "string" ? raw.trim() || undefined : raw),
    z.string().default(DEFAULT_STRATEGY).refine((s) => strategyNames().includes(s), {
      message: `ASSIGNMENT_STRATEGY must be one of ${strategyNames().join(", ")}`,
    }),
  ),
  ASSIGNMENT_MAX_REPLANS: wholeNumber(0, 10, 3),
  ASSIGNMENT_DRAIN_BUDGET_MS: wholeNumber(0, 120_000, 10_000),
  ASSIGNMENT_DRAIN_WORKERS: wholeNumber(1, 32, DEFAULT_DRAIN_WORKERS),
  // Where ops turned re-optimisation on (ops.set_reoptimization): the most bookings one new booking may move.
  ASSIGNMENT_REOPTIMIZE_MAX_MOVES: wholeNumber(1, 6, DEFAULT_MAX_MOVES),
  // The time one review's re-seating search may take, once the drain is idle (0: off).
  ASSIGNMENT_RESEATING_BUDGET_MS: wholeNumber(0, 10_000, DEFAULT_RESEATING_BUDGET_MS),
  // An attempt's time for the bounded re-seating search and for the exact fallback's solver, each shared by
  // its re-plans.
  ASSIGNMENT_SEARCH_BUDGET_MS: wholeNumber(10, 10_000, DEFAULT_SEARCH_BUDGET_MS),
  ASSIGNMENT_EXACT_BUDGET_MS: wholeNumber(10, 10_000, DEFAULT_EXACT_TIME_LIMIT_MS),
});

/**
 * The rollout plan's deployment flags, as a ceiling on the mode Postgres decides per restaurant:
 * FEATURE_ASSIGNMENT_PIPELINE_V3 unset or true → no ceiling (Postgres decides: off/legacy/shadow/v3);
 * false with FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW true → at most shadow; false otherwise → legacy.
 * A value either flag cannot be read as counts as false: the V3 flag is the kill switch, so a rollback
 * written as, say, "nope" must not leave V3 deciding bookings.
 */
export function modeCeiling(v3: boolean | undefined, shadow: boolean | undefined): ModeCeiling {
  if (v3 !== false) return null;
  return shadow === true ? "shadow" : "legacy";
}

/** What the deployment's flags came to, logged once when an instance starts, so a rollout step can be checked in
 * the function's logs (the plan's "flags loaded correctly (verified in logs)"). */
export function loadedFlags(config: CoordinatorConfig): Record<string, string | number> {
  return {
    mode_ceiling: config.modeCeiling ?? "none",
    max_parallel_cap: config.maxParallel ?? "none",
    strategy: config.strategy,
  };
}

export interface CoordinatorConfig extends SharedConfig {
  strategy: string;
  modeCeiling: ModeCeiling;
  /** This deployment's cap on the database's max_parallel; null = no cap. */
  maxParallel: number | null;
  maxReplans: number;
  /** How long a running instance keeps claiming due bookings after a request (0 disables). */
  drainBudgetMs: number;
  /** How many claimed bookings a draining instance works on at once. */
  drainWorkers: number;
  reoptimizeMaxMoves: number;
  /** Time per review for the search of alternatives that re-seat other bookings; 0 turns it off. */
  reseatingBudgetMs: number;
  /** An attempt's time for the bounded search and for the exact fallback's solver. */
  searchBudgetMs: number;
  exactBudgetMs: number;
}

// Every setting of the functions' own, so one misspelt is said rather than ignored: a rollback typed as
// FEATURE_ASIGNMENT_PIPELINE_V3=false would otherwise leave V3 on the path without a word.
const SETTINGS = [
  ...Object.keys(envSchema.shape),
  "ASSIGNMENT_PIPELINE_SECRET",
  "ASSIGNMENT_PIPELINE_SECRET_PREVIOUS",
  "ASSIGNMENT_DB_PORT",
  "FEATURE_ASSIGNMENT_PIPELINE_V3",
  "FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW",
  "FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL",
];

/**
 * A name that is none of the settings but reads like one: ASSIGNMENT_ and something else, or within three
 * letters of a setting whatever its case (FEATURE_ASIGNMENT_PIPELINE_V3, FEATURES_ASSIGNMENT_PIPELINE_V3). A
 * project's other functions' names (FEATURE_AUTO_ASSIGN, say) are further off than that.
 */
function misspeltSetting(name: string): boolean {
  if (SETTINGS.includes(name)) return false;
  const upper = name.toUpperCase();
  return upper.startsWith("ASSIGNMENT_") || SETTINGS.some((setting) => editDistance(upper, setting) <= 3);
}

/** Levenshtein distance: the fewest letters added, dropped or changed that turn one into the other. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

export function loadCoordinatorConfig(env: Env, warn: Warn = consoleWarn): CoordinatorConfig {
  for (const name of Object.keys(env).filter(misspeltSetting)) {
    warn(
      `${name} is no setting of the functions and does nothing (misspelt? they read ${SETTINGS.join(", ")})`,
    );
  }
  const shared = loadSharedConfig(env, warn);
  const parsed = envSchema.parse(env);
  const engineMs = parsed.ASSIGNMENT_SEARCH_BUDGET_MS + parsed.ASSIGNMENT_EXACT_BUDGET_MS;
  if (engineMs > ENGINE_CPU_ALLOWANCE_MS) {
    warn(
      `ASSIGNMENT_SEARCH_BUDGET_MS + ASSIGNMENT_EXACT_BUDGET_MS = ${engineMs} ms: an attempt that uses both may pass a hosted request's 2 s of CPU, and the runtime then ends the instance mid-attempt (its lease runs out, counted as an error); keep them under ${ENGINE_CPU_ALLOWANCE_MS} ms together on hosted Supabase`,
    );
  }
  if (parsed.ASSIGNMENT_STRATEGY === LEGACY_STRATEGY) {
    warn(
      `ASSIGNMENT_STRATEGY=${LEGACY_STRATEGY} is the legacy planner's ranking: V3 then chooses tables as legacy does, and shadow mode's "v3" comparisons differ from A/A only where V3 re-seats others`,
    );
  }
  return {
    ...shared,
    strategy: parsed.ASSIGNMENT_STRATEGY,
    modeCeiling: modeCeiling(
      parseFlag("FEATURE_ASSIGNMENT_PIPELINE_V3", env.FEATURE_ASSIGNMENT_PIPELINE_V3, warn, false),
      parseFlag(
        "FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW",
        env.FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW,
        warn,
        false,
      ),
    ),
    maxParallel: parseMaxParallel(env.FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL, warn),
    maxReplans: parsed.ASSIGNMENT_MAX_REPLANS,
    drainBudgetMs: parsed.ASSIGNMENT_DRAIN_BUDGET_MS,
    drainWorkers: parsed.ASSIGNMENT_DRAIN_WORKERS,
    reoptimizeMaxMoves: parsed.ASSIGNMENT_REOPTIMIZE_MAX_MOVES,
    reseatingBudgetMs: parsed.ASSIGNMENT_RESEATING_BUDGET_MS,
    searchBudgetMs: parsed.ASSIGNMENT_SEARCH_BUDGET_MS,
    exactBudgetMs: parsed.ASSIGNMENT_EXACT_BUDGET_MS,
  };
}
