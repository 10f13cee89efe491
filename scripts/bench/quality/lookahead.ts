// What choosing better could win without moves: a one-step lookahead that tries the strategy's best few
// choices for a request and keeps the one after which the rest of the day, replayed with the same strategy,
// seats the most covers. With the day's own later requests (clairvoyant) it shows how much better choices
// alone could gain; with other days drawn from the same generator, what a forecast that knew the demand's
// exact distribution could gain. A diagnostic for tune.ts, not a policy: the engine has no forecast, and the
// lookahead takes far longer than a decision may.
import { planAssignment, rankCandidates } from "../../../shared/engine/planner.ts";
import type { Strategy } from "../../../shared/engine/strategies/strategy.ts";
import { type Day, generateDay, type Request } from "./demand.ts";
import { Occupancy } from "./floor.ts";
import type { PolicyRun } from "./policies.ts";

export interface LookaheadOptions {
  /** How many of the strategy's best choices are tried. */
  readonly top: number;
  /** 0: the day's own later requests; n: n other days of the generator, their requests booked later. */
  readonly samples: number;
}

export function replayLookahead(day: Day, strategy: Strategy, options: LookaheadOptions): PolicyRun {
  const futures = Array.from(
    { length: options.samples },
    (_, s) => generateDay(day.layout, day.mix, day.load, 1_000_000 + day.seed * 1_000 + s),
  );
  const seated = new Occupancy(day);
  const decisionMs: number[] = [];
  for (const r of day.requests) {
    const started = performance.now();
    const { ranked } = rankCandidates(seated.snapshotFor(r), strategy);
    const later = futures.length === 0
      ? [day.requests.slice(r.index + 1)]
      : futures.map((f) => f.requests.filter((q) => q.bookedAt > r.bookedAt));
    let best: { tableIds: string[]; covers: number } | undefined;
    for (const { candidate } of ranked.slice(0, options.top)) {
      const tableIds = candidate.tables.map((t) => t.id);
      const covers = later.reduce(
        (sum, requests) => sum + coversAfter(day, seated, r, tableIds, requests, strategy),
        0,
      );
      if (!best || covers > best.covers) best = { tableIds, covers };
    }
    decisionMs.push(performance.now() - started);
    if (best) seated.seatChecked(r.index, best.tableIds);
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

/** The covers `strategy` seats of `later` once `r` sits at `tableIds`, everyone seated so far keeping theirs. */
function coversAfter(
  day: Day,
  seated: Occupancy,
  r: Request,
  tableIds: readonly string[],
  later: readonly Request[],
  strategy: Strategy,
): number {
  // One day of the requests so far and the later ones, indexed afresh (Occupancy knows requests by index; a
  // sampled day's ids repeat the day's own, which nothing here reads).
  const requests = [...day.requests.slice(0, r.index + 1), ...later].map((q, index) => ({ ...q, index }));
  const trial = new Occupancy({ ...day, requests });
  for (const [index, tables] of seated.tablesOf) trial.seat(index, tables);
  trial.seat(r.index, tableIds);
  let covers = 0;
  for (const q of requests.slice(r.index + 1)) {
    const plan = planAssignment(trial.snapshotFor(q), strategy);
    if (plan.decision !== "assign") continue;
    trial.seat(q.index, plan.tableIds);
    covers += q.partySize;
  }
  return covers;
}
