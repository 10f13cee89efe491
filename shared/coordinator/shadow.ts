// Shadow mode: the primary (legacy) plan decides; the candidate plans on the very same snapshot and only
// the comparison is kept. Candidate failures are caught and recorded, never allowed to touch the booking.
// Experiment "v3" compares legacy with the V3 engine as V3 would run it, re-seating others where the
// restaurant allows it (the snapshot then lists them); "aa" runs legacy again as the candidate. Because both
// comparisons use one snapshot, changes between snapshots cannot cause a mismatch in either, and A/A
// measures the noise a v3 comparison can contain where nobody is re-seated: planner nondeterminism (any A/A
// mismatch) and the timing spread between two identical runs (ops.shadow_report's ms_diff columns); V3's
// re-seating search is also bounded by time, which A/A never uses. Without re-seating,
// both seat exactly the bookings some arrangement of free tables fits (the strategies only rank them), so
// their decisions can differ only where V3 moves others or fails.
import type { Snapshot } from "../domain/snapshot.ts";
import type { Plan } from "../engine/planner.ts";
import { planWithMoves } from "../engine/reoptimize.ts";
import type { ShadowComparison } from "../store/port.ts";
import { scrubAndCut } from "../telemetry/personal-data.ts";

/** How the candidate may re-seat others: V3's bound on moves and the attempt's search deadline. */
export interface CandidateMoves {
  readonly maxMoves: number;
  readonly deadline?: number;
}

export function compareWithCandidate(
  snapshot: Snapshot,
  primary: Plan,
  primaryMs: number,
  candidateStrategy: string,
  experiment: "v3" | "aa",
  now: () => number,
  moves: CandidateMoves = { maxMoves: 0 },
): ShadowComparison {
  const started = now();
  let candidate: Plan | null = null;
  let error: string | null = null;
  try {
    candidate = planWithMoves(snapshot, { strategy: candidateStrategy, ...moves }).plan;
  } catch (e) {
    error = scrubAndCut(e instanceof Error ? e.message : String(e), 500);
  }
  const candidateMs = Math.max(0, now() - started);
  return {
    experiment,
    primary_strategy: primary.strategy,
    candidate_strategy: candidateStrategy,
    primary_decision: primary.decision === "assign" ? "assign" : "escalate",
    candidate_decision: candidate === null
      ? "error"
      : candidate.decision === "assign"
      ? "assign"
      : "escalate",
    primary_tables: primary.decision === "assign" ? primary.tableIds : [],
    candidate_tables: candidate?.decision === "assign" ? candidate.tableIds : [],
    // Wasted seats are the one measure both strategies share; negative means the candidate seats tighter.
    score_diff: primary.decision === "assign" && candidate?.decision === "assign"
      ? candidate.slack - primary.slack
      : null,
    primary_ms: round(primaryMs),
    candidate_ms: round(candidateMs),
    candidate_error: error,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
