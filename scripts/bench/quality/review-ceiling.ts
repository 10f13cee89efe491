// The ceiling of review alternatives: would a review that got no alternative have had one if the bookings
// that may still move were re-seated? At each grid time the alternatives search tries (open, not past, within
// ±90 minutes), the exact fallback decides whether some re-seating of the bookings that are not locked seats
// the party then, as the pipeline's re-optimisation would, with a solver budget per time far above the
// pipeline's. The pipeline's own re-seating search (shared/engine/reseating.ts) gets the same input here
// (reseatingInput) and its budget per review.
import type { Snapshot } from "../../../shared/domain/snapshot.ts";
import { planExactly } from "../../../shared/engine/exact/fallback.ts";
import type { ReoptimizeOptions } from "../../../shared/engine/reoptimize.ts";
import type { ReseatingProbe } from "../../../shared/engine/reseating.ts";
import type { Day, Request } from "./demand.ts";
import type { Occupancy } from "./floor.ts";
import { alternativeStarts } from "./review-alternatives.ts";

const MIN = 60_000;

export interface CeilingProbe {
  readonly snapshot: Snapshot;
  readonly tablesFor: ReoptimizeOptions["tablesFor"];
}

export type CeilingVerdict = "seatable" | "none" | "budget_exhausted";

/** The open grid times within ±90 minutes, not before the request was made, nearest first. */
function ceilingStarts(day: Day, request: Request): number[] {
  const stayMs = request.diningMinutes * MIN;
  return alternativeStarts(request.startAt, request.bookedAt)
    .filter((start) => start >= day.serviceStart && start + stayMs <= day.serviceEnd);
}

/** What the re-optimiser would see at each time the alternatives search tries, nearest first. */
export function ceilingProbes(day: Day, seated: Occupancy, request: Request): CeilingProbe[] {
  const holdMs = request.windowEnd - request.windowStart;
  return ceilingStarts(day, request)
    .map((start) =>
      seated.reoptimizationInput({
        ...request,
        startAt: start,
        windowStart: start,
        windowEnd: start + holdMs,
      })
    );
}

/** What the pipeline's re-seating search gets for a review (review_reseating_probes): the floor as it is, and
 * the same open grid times, nearest first. */
export function reseatingInput(day: Day, seated: Occupancy, request: Request): CeilingProbe & {
  probes: ReseatingProbe[];
} {
  const holdMs = request.windowEnd - request.windowStart;
  return {
    ...seated.reoptimizationInput(request),
    probes: ceilingStarts(day, request).map((start) => ({
      startAt: start,
      windowStart: start,
      windowEnd: start + holdMs,
    })),
  };
}

/** Seatable at the first time some re-seating makes room; a run-out only counts when no time is seatable. */
export async function ceilingVerdict(
  probes: readonly CeilingProbe[],
  strategy: string,
  timeLimitMs: number,
): Promise<CeilingVerdict> {
  let ranOut = false;
  for (const { snapshot, tablesFor } of probes) {
    const outcome = await planExactly(snapshot, {
      strategy,
      noFitReason: "no_table_fits",
      timeLimitMs,
      tablesFor,
    });
    if (outcome.verdict === "plan") return "seatable";
    ranOut ||= outcome.verdict === "budget_exhausted";
  }
  return ranOut ? "budget_exhausted" : "none";
}
