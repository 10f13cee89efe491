// One benchmark cell: one generated day replayed against every policy, then both exact yardsticks.
import { DEFAULT_STRATEGY, strategyNames } from "../../../shared/engine/strategies/registry.ts";
import { percentile } from "../../../shared/testing/random.ts";
import { generateDay, type MixId, offeredLoad } from "./demand.ts";
import { layoutById } from "./layouts.ts";
import { type DayMetrics, measure } from "./metrics.ts";
import { PackingSolver } from "./packing-milp.ts";
import { type PolicyRun, replayExact, replayReoptimizing, replayStrategy } from "./policies.ts";
import { highsMemoryBytes, loadHighs } from "../../../shared/engine/exact/highs.ts";
import { clairvoyant, fcfsRepack } from "./yardsticks.ts";

export interface CellSpec {
  readonly layout: string;
  readonly mix: MixId;
  readonly load: number;
  readonly seed: number;
  /** Time limit of one FCFS-repack feasibility solve, and of the clairvoyant solve, in seconds. */
  readonly repackSeconds: number;
  readonly clairvoyantSeconds: number;
  readonly maxMoves: number;
  /** The exact fallback's solver budget per request, ms. */
  readonly exactMs: number;
  /** Keep each policy's seating, for the occupancy chart. */
  readonly keepSeating?: boolean;
}

export interface Timing {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface PolicyResult extends Omit<DayMetrics, "violations"> {
  readonly violations: number;
  /** Breaches a policy's seatings made at the moment they were made (a later move may have repaired them). */
  readonly stepViolations: number;
  readonly violationSamples: readonly string[];
  readonly moves: number;
  readonly lockedMoves: number;
  /** Engine time per request (the plain plan), ms. */
  readonly decision?: Timing;
  /** Re-optimisation time for requests the plain plan could not seat, ms. */
  readonly reoptimize?: Timing;
  /** Exact-fallback time for requests re-optimisation could not seat, ms, and its verdicts. */
  readonly exact?: Timing;
  readonly exactVerdicts?: PolicyRun["exactVerdicts"];
  readonly exactSolverErrors?: number;
  readonly exactUnproven?: number;
}

export interface CellResult {
  readonly spec: CellSpec;
  readonly offeredLoad: number;
  readonly requests: number;
  readonly seats: number;
  readonly tables: number;
  readonly policies: Readonly<Record<string, PolicyResult>>;
  readonly fcfsRepack: { seconds: number; solves: number; maxSolveSeconds: number; undetermined: number };
  /** HiGHS solves that aborted the WebAssembly module (answered "unknown"; see PackingSolver). */
  readonly solverAborts: number;
  readonly clairvoyant: {
    seconds: number;
    status: string;
    covers: number;
    bound: number;
    gap: number;
  };
  /** The exact fallback's solver: load time (first use in this worker, else 0) and WebAssembly memory after. */
  readonly highs: { loadMs: number; memoryBytes: number | null };
  /** Raw engine times per policy, for percentiles over many cells (not written to JSON). */
  readonly samples: Readonly<Record<string, { decision: number[]; reoptimize: number[]; exact: number[] }>>;
  readonly seating?: Readonly<Record<string, readonly (readonly string[] | null)[]>>;
}

export const LEGACY = "legacy_first_fit";
export const REPACK = "fcfs_repack";
export const CLAIRVOYANT = "clairvoyant";
export const REOPT = "+reopt";
export const reoptimizingName = (strategy: string) => `${strategy}${REOPT}`;
export const EXACT = "+exact";
/** The default with re-optimisation and the exact fallback: the pipeline where re-optimisation is on. */
export const DEFAULT_EXACT = `${reoptimizingName(DEFAULT_STRATEGY)}${EXACT}`;

/** The policies every cell runs, in report order. */
export function policyNames(): string[] {
  const v3 = strategyNames().filter((s) => s !== "first_fit");
  return [LEGACY, ...v3, reoptimizingName(DEFAULT_STRATEGY), DEFAULT_EXACT, REPACK, CLAIRVOYANT];
}

function timing(values: readonly number[]): Timing | undefined {
  if (values.length === 0) return undefined;
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
  };
}

export async function runCell(spec: CellSpec): Promise<CellResult> {
  // A fresh solver per cell: one cell's models never share WebAssembly memory with the next one's.
  const solver = await PackingSolver.load();
  const layout = layoutById(spec.layout);
  const day = generateDay(layout, spec.mix, spec.load, spec.seed);
  const runs = new Map<string, PolicyRun>();
  runs.set(LEGACY, replayStrategy(day, "first_fit"));
  for (const name of strategyNames().filter((s) => s !== "first_fit")) {
    runs.set(name, replayStrategy(day, name));
  }
  runs.set(reoptimizingName(DEFAULT_STRATEGY), replayReoptimizing(day, DEFAULT_STRATEGY, spec.maxMoves));
  // The clairvoyant solve is warm-started from the policies above only, so adding this one changes no
  // yardstick.
  const warmStarts = [...runs.values()];
  const loadStarted = performance.now();
  const fresh = (await highsMemoryBytes()) === null;
  await loadHighs();
  const highsLoadMs = fresh ? performance.now() - loadStarted : 0;
  runs.set(DEFAULT_EXACT, await replayExact(day, DEFAULT_STRATEGY, spec.maxMoves, spec.exactMs));

  const repack = await fcfsRepack(solver, day, { timeLimitSeconds: spec.repackSeconds });
  runs.set(REPACK, { tables: repack.tables, decisionMs: [], reoptimizeMs: [], moves: 0, lockedMoves: 0 });
  // Warm-start the clairvoyant solve from the best seating any policy found.
  const covers = (run: PolicyRun) =>
    day.requests.reduce((n, r) => n + (run.tables[r.index] ? r.partySize : 0), 0);
  const best = warmStarts.reduce((a, b) => (covers(b) > covers(a) ? b : a));
  const optimum = await clairvoyant(solver, day, { ...repack, tables: best.tables }, {
    timeLimitSeconds: spec.clairvoyantSeconds,
  });
  runs.set(CLAIRVOYANT, {
    tables: optimum.tables,
    decisionMs: [],
    reoptimizeMs: [],
    moves: 0,
    lockedMoves: 0,
  });

  const policies: Record<string, PolicyResult> = {};
  const samples: Record<string, { decision: number[]; reoptimize: number[]; exact: number[] }> = {};
  for (const [name, run] of runs) {
    const m = measure(day, run.tables);
    policies[name] = {
      ...m,
      violations: m.violations.length,
      stepViolations: run.stepViolations?.length ?? 0,
      violationSamples: [...m.violations, ...(run.stepViolations ?? [])].slice(0, 3),
      moves: run.moves,
      lockedMoves: run.lockedMoves,
      decision: timing(run.decisionMs),
      reoptimize: timing(run.reoptimizeMs),
      exact: timing(run.exactMs ?? []),
      exactVerdicts: run.exactVerdicts,
      exactSolverErrors: run.exactSolverErrors,
      exactUnproven: run.exactUnproven,
    };
    samples[name] = {
      decision: [...run.decisionMs],
      reoptimize: [...run.reoptimizeMs],
      exact: [...(run.exactMs ?? [])],
    };
  }
  return {
    spec,
    offeredLoad: offeredLoad(day),
    requests: day.requests.length,
    seats: layout.tables.reduce((n, t) => n + t.capacity, 0),
    tables: layout.tables.length,
    policies,
    fcfsRepack: {
      seconds: repack.seconds,
      solves: repack.solves,
      maxSolveSeconds: repack.maxSolveSeconds,
      undetermined: repack.undetermined,
    },
    clairvoyant: {
      seconds: optimum.seconds,
      status: optimum.status ?? "unknown",
      covers: policies[CLAIRVOYANT].covers,
      // Every request seated is the bound of last resort when the solver proved nothing better.
      bound: Math.max(
        Math.min(optimum.bound ?? Infinity, policies[CLAIRVOYANT].requestedCovers),
        policies[CLAIRVOYANT].covers,
      ),
      gap: optimum.gap ?? 1,
    },
    solverAborts: solver.aborts,
    highs: { loadMs: highsLoadMs, memoryBytes: await highsMemoryBytes() },
    samples,
    seating: spec.keepSeating ? Object.fromEntries([...runs].map(([k, v]) => [k, v.tables])) : undefined,
  };
}
