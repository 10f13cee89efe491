// The online policies, replayed request by request in booking order: the engine plans each booking on a
// snapshot of what the policy has accepted so far, exactly as the pipeline would. Only the engine call is
// timed; building the snapshot stands in for the database's read.
import { planAssignment } from "../../../shared/engine/planner.ts";
import { planWithMoves } from "../../../shared/engine/reoptimize.ts";
import { type ExactOutcome, NEIGHBOURHOODS_MS, planExactly } from "../../../shared/engine/exact/fallback.ts";
import type { Strategy } from "../../../shared/engine/strategies/strategy.ts";
import type { Day, Request } from "./demand.ts";
import { isLocked, Occupancy } from "./floor.ts";

export interface PolicyRun {
  readonly tables: readonly (readonly string[] | null)[];
  /** Engine time per request, ms. */
  readonly decisionMs: readonly number[];
  /** Re-optimisation time for the requests the plain plan could not seat, ms. */
  readonly reoptimizeMs: readonly number[];
  readonly moves: number;
  /** Moves of bookings that were locked when moved: must be none. */
  readonly lockedMoves: number;
  /** Rules broken or tables double-held at the moment a seating was made (a policy's replay): must be none. */
  readonly stepViolations?: readonly string[];
  /** Exact-fallback time for the requests re-optimisation could not seat, ms, and its verdicts. */
  readonly exactMs?: readonly number[];
  readonly exactVerdicts?: Readonly<Record<ExactOutcome["verdict"], number>>;
  /** Exact-fallback calls left undecided because HiGHS failed (counted among budget_exhausted): must be none. */
  readonly exactSolverErrors?: number;
  /** Exact-fallback plans not proven to move the fewest bookings (the budget ran out first). */
  readonly exactUnproven?: number;
}

/** `onNoFit` sees each request the strategy refuses, with the floor as it was at that moment. */
export function replayStrategy(
  day: Day,
  strategy: string | Strategy,
  onNoFit?: (request: Request, seated: Occupancy) => void,
): PolicyRun {
  const seated = new Occupancy(day);
  const decisionMs: number[] = [];
  for (const r of day.requests) {
    const snapshot = seated.snapshotFor(r);
    const started = performance.now();
    const plan = planAssignment(snapshot, strategy);
    decisionMs.push(performance.now() - started);
    if (plan.decision === "assign") seated.seatChecked(r.index, plan.tableIds);
    else onNoFit?.(r, seated);
  }
  return {
    tables: seated.result(),
    decisionMs,
    reoptimizeMs: [],
    moves: 0,
    lockedMoves: 0,
    stepViolations: seated.stepViolations,
  };
}

/**
 * The strategy plus re-optimisation. A booking starting within LOCK_AHEAD_MINUTES of the moment a request is
 * made is seated or on its way and keeps its tables, as in the pipeline; every later booking may move.
 */
export function replayReoptimizing(
  day: Day,
  strategy: string,
  maxMoves: number,
  maxExplored?: number,
): PolicyRun {
  const seated = new Occupancy(day);
  const decisionMs: number[] = [];
  const reoptimizeMs: number[] = [];
  const byId = new Map(day.requests.map((a) => [a.id, a]));
  let moves = 0;
  let lockedMoves = 0;
  for (const r of day.requests) {
    const { snapshot, tablesFor } = seated.reoptimizationInput(r);
    const started = performance.now();
    const result = planWithMoves(snapshot, { strategy, maxMoves, maxExplored, tablesFor });
    const ms = performance.now() - started;
    (result.explored > 0 ? reoptimizeMs : decisionMs).push(ms);
    if (result.plan.decision !== "assign") continue;
    lockedMoves += result.moves.filter((m) => isLocked(byId.get(m.bookingId)!, r)).length;
    seated.seatWithMoves(r, result.plan.tableIds, result.moves);
    moves += result.moves.length;
  }
  return {
    tables: seated.result(),
    decisionMs,
    reoptimizeMs,
    moves,
    lockedMoves,
    stepViolations: seated.stepViolations,
  };
}

/**
 * The strategy plus re-optimisation plus the exact fallback, as the pipeline runs them: a request the plan and
 * the bounded search cannot seat goes to the exact fallback, and is refused only when it proves there is no
 * re-seating or runs out of its budget (then `onNoFit` sees it, with the floor as it was at that moment).
 */
export async function replayExact(
  day: Day,
  strategy: string,
  maxMoves: number,
  timeLimitMs: number,
  onNoFit?: (request: Request, seated: Occupancy) => void,
): Promise<PolicyRun> {
  const seated = new Occupancy(day);
  const decisionMs: number[] = [];
  const reoptimizeMs: number[] = [];
  const exactMs: number[] = [];
  const exactVerdicts = { plan: 0, none: 0, budget_exhausted: 0 };
  let exactSolverErrors = 0;
  let exactUnproven = 0;
  const byId = new Map(day.requests.map((a) => [a.id, a]));
  let moves = 0;
  let lockedMoves = 0;
  for (const r of day.requests) {
    const { snapshot, tablesFor } = seated.reoptimizationInput(r);
    const started = performance.now();
    let result = planWithMoves(snapshot, { strategy, maxMoves, tablesFor });
    (result.explored > 0 ? reoptimizeMs : decisionMs).push(performance.now() - started);
    if (result.plan.decision === "no_fit") {
      const exactStarted = performance.now();
      const exact = await planExactly(snapshot, {
        strategy,
        noFitReason: result.plan.reason,
        timeLimitMs,
        tablesFor,
        neighbourhoods: NEIGHBOURHOODS_MS,
      });
      exactMs.push(performance.now() - exactStarted);
      exactVerdicts[exact.verdict]++;
      if (exact.verdict === "plan" && !exact.proven) exactUnproven++;
      if (exact.solverError !== undefined) {
        exactSolverErrors++;
        console.error(
          `the exact fallback's solver failed (${day.layout.id} ${day.mix} ρ=${day.load} seed ${day.seed}, request ${r.id}): ${exact.solverError}`,
        );
      }
      result = { ...exact, explored: result.explored };
    }
    if (result.plan.decision !== "assign") {
      onNoFit?.(r, seated);
      continue;
    }
    lockedMoves += result.moves.filter((m) => isLocked(byId.get(m.bookingId)!, r)).length;
    seated.seatWithMoves(r, result.plan.tableIds, result.moves);
    moves += result.moves.length;
  }
  return {
    tables: seated.result(),
    decisionMs,
    reoptimizeMs,
    moves,
    lockedMoves,
    stepViolations: seated.stepViolations,
    exactMs,
    exactVerdicts,
    exactSolverErrors,
    exactUnproven,
  };
}
