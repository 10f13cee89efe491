// A strategy orders the feasible candidates for one booking; the planner takes the first.
import type { Candidate } from "../candidates.ts";
import type { Snapshot, Table } from "../../domain/snapshot.ts";
import { byNumericText } from "../numeric-order.ts";

export interface RankedCandidate {
  candidate: Candidate;
  /** Lower is better. Comparable only within one strategy and one booking. */
  score: number;
}

export interface Strategy {
  readonly name: string;
  readonly description: string;
  /** `free`: the snapshot's tables free for the whole stay, as the caller already worked out. */
  rank(candidates: readonly Candidate[], snapshot: Snapshot, free: readonly Table[]): RankedCandidate[];
}

/** Sort by score, then by table key, so equal scores always resolve the same way. */
export function byScoreThenKey(a: RankedCandidate, b: RankedCandidate): number {
  return a.score - b.score || byNumericText(a.candidate.key, b.candidate.key);
}
