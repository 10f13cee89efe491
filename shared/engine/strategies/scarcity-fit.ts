// scarcity_fit: the choice that costs the fewest future covers. Every candidate is priced in seat-minutes:
//   - seats it leaves empty for the stay (as optimal_fit);
//   - dead time it makes on its tables: a gap to the neighbouring booking too short for any party to use;
//   - the flexibility it takes away: for each party size, the share of the ways that size could still be
//     seated during this stay which these tables would block, weighted by how often such parties ask.
//     Taking the last combination that seats eight costs far more than taking one of thirty tables for two,
//     so big and combinable tables stay free for the parties that need them. The weight is the share of
//     requests, not of covers: weighting by covers as well guarded the rare big arrangements so hard that
//     the tables small parties needed ran out first, and lost covers on every tuning day's mix, group-heavy
//     ones included.
// Ties go to the tighter fit in time (back-to-back with the neighbouring bookings), then to table order.
import type { Snapshot } from "../../domain/snapshot.ts";
import { Flexibility } from "../flexibility.ts";
import { byScoreThenKey, type RankedCandidate, type Strategy } from "./strategy.ts";

const MIN = 60_000;

export interface ScarcityWeights {
  /** Weight of dead seat-minutes relative to empty seat-minutes. */
  readonly deadTime: number;
  /** A gap shorter than this many times the restaurant's shortest stay is dead. */
  readonly usefulGap: number;
  /** Weight of the flexibility taken away (the party-size mix below weighs each size's share). */
  readonly flexibility: number;
  /** Weight of the time left between this stay and its neighbours (prefer back-to-back). */
  readonly snugness: number;
  /** Share of requests by party size (index = party size); the tail repeats the last value. */
  readonly partyMix: readonly number[];
  /**
   * What a party size's share of the flexibility is weighed by: how often it asks ("requests"), or that
   * times its covers ("covers", the weighting before the benchmark's tuning days showed it cost covers).
   */
  readonly weighBy?: "requests" | "covers";
}

// A generic mix (casual dining surveys: most parties are 1–4, a thin tail of groups), not tuned per venue.
export const DEFAULT_WEIGHTS: ScarcityWeights = {
  deadTime: 0.2,
  usefulGap: 1.2,
  flexibility: 1,
  snugness: 0.05,
  partyMix: [0, 0.1, 0.4, 0.13, 0.17, 0.06, 0.05, 0.03, 0.03, 0.01, 0.01, 0.005, 0.005],
};

export function scarcityFit(weights: ScarcityWeights = DEFAULT_WEIGHTS, name = "scarcity_fit"): Strategy {
  const share = (party: number) => weights.partyMix[Math.min(party, weights.partyMix.length - 1)];
  const mix = weights.weighBy === "covers" ? (party: number) => share(party) * party : share;
  return {
    name,
    description:
      "fewest future covers lost: empty seats, dead gaps and the flexibility taken from scarce party sizes",
    rank(candidates, snapshot, free) {
      const stay = (snapshot.windowEnd - snapshot.windowStart) / MIN;
      // Without a turn-time policy, this booking's own stay stands in for the shortest one.
      const usefulGap = weights.usefulGap * (snapshot.minStayMinutes ?? stay);
      const flexibility = new Flexibility(free, snapshot.adjacency, snapshot.maxTables);
      const gaps = new Gaps(snapshot);
      return candidates.map((candidate): RankedCandidate => {
        let dead = 0;
        let leftover = 0;
        for (const t of candidate.tables) {
          const [before, after] = gaps.around(t.id);
          for (const gap of [before, after]) {
            if (gap < usefulGap) dead += t.capacity * gap;
            leftover += t.capacity * Math.min(gap, 120);
          }
        }
        const lost = flexibility.loss(candidate.tables.map((t) => t.id), mix) * stay;
        const score = candidate.slack * stay + weights.deadTime * dead + weights.flexibility * lost +
          weights.snugness * leftover;
        return { candidate, score };
      }).sort(byScoreThenKey);
    },
  };
}

/** Minutes between this stay and the bookings before and after it on each table (Infinity when none). */
class Gaps {
  private readonly byTable = new Map<string, [number, number]>();

  constructor(snapshot: Snapshot) {
    for (const b of snapshot.busy) {
      const [before, after] = this.byTable.get(b.tableId) ?? [Infinity, Infinity];
      this.byTable.set(b.tableId, [
        b.end <= snapshot.windowStart ? Math.min(before, (snapshot.windowStart - b.end) / MIN) : before,
        b.start >= snapshot.windowEnd ? Math.min(after, (b.start - snapshot.windowEnd) / MIN) : after,
      ]);
    }
  }

  around(tableId: string): [number, number] {
    return this.byTable.get(tableId) ?? [Infinity, Infinity];
  }
}
