// The coordinator's settings, from the environment Supabase gives the function (function secrets).
import { z } from "../deps.ts";
import { DEFAULT_STRATEGY, strategyNames } from "../engine/strategies/registry.ts";
import type { ModeCeiling } from "../store/port.ts";

/** "default 3, clamped 1–20"; anything unparsable falls back to the default. */
export function parseMaxParallel(raw: string | undefined): number {
  const n = Number.parseInt(raw ?? "", 10);
  return Number.isFinite(n) ? Math.min(20, Math.max(1, n)) : 3;
}

const envSchema = z.object({
  ASSIGNMENT_PIPELINE_SECRET: z.string().min(16, "ASSIGNMENT_PIPELINE_SECRET must be at least 16 characters"),
  ASSIGNMENT_STRATEGY: z.string().default(DEFAULT_STRATEGY).refine((s) => strategyNames().includes(s), {
    message: `ASSIGNMENT_STRATEGY must be one of ${strategyNames().join(", ")}`,
  }),
  FEATURE_ASSIGNMENT_PIPELINE_V3: z.enum(["true", "false"]).optional(),
  FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW: z.enum(["true", "false"]).optional(),
  FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL: z.string().optional(),
  ASSIGNMENT_MAX_REPLANS: z.coerce.number().int().min(0).max(10).default(3),
  ASSIGNMENT_DRAIN_BUDGET_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
});

/**
 * The rollout plan's deployment flags, as a ceiling on the mode Postgres decides per restaurant:
 * FEATURE_ASSIGNMENT_PIPELINE_V3 unset or "true" → no ceiling (Postgres decides: off/legacy/shadow/v3);
 * "false" with FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW="true" → at most shadow; "false" otherwise → legacy.
 */
export function modeCeiling(v3: string | undefined, shadow: string | undefined): ModeCeiling {
  if (v3 !== "false") return null;
  return shadow === "true" ? "shadow" : "legacy";
}

export interface CoordinatorConfig {
  secret: string;
  strategy: string;
  modeCeiling: ModeCeiling;
  maxParallel: number;
  maxReplans: number;
  /** How long a running instance keeps claiming due bookings after a request (0 disables). */
  drainBudgetMs: number;
}

export function loadCoordinatorConfig(env: Record<string, string | undefined>): CoordinatorConfig {
  const parsed = envSchema.parse(env);
  return {
    secret: parsed.ASSIGNMENT_PIPELINE_SECRET,
    strategy: parsed.ASSIGNMENT_STRATEGY,
    modeCeiling: modeCeiling(
      parsed.FEATURE_ASSIGNMENT_PIPELINE_V3,
      parsed.FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW,
    ),
    maxParallel: parseMaxParallel(parsed.FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL),
    maxReplans: parsed.ASSIGNMENT_MAX_REPLANS,
    drainBudgetMs: parsed.ASSIGNMENT_DRAIN_BUDGET_MS,
  };
}
