// How many ways each party size can still be seated during one window, and how many of those a choice of
// tables would take away. A choice that leaves a party size with no way at all to be seated costs covers
// later; one that takes one of thirty ways for a couple costs next to nothing. (Vidotto et al.'s
// "flexibility": prefer the assignment that keeps the most alternatives open.)
import type { Table } from "../domain/snapshot.ts";
import { connectedGroups, joinableNeighbours, smallestPartyNeedingAll } from "./candidates.ts";
import { appendTo } from "./multimap.ts";

/**
 * Most combinations counted, as the database's group search (private.group_search_limit). Floors as drawn
 * have fewer than 200; a zone of thirty movable tables all adjacent, joining up to six, has about 768,000,
 * and counting them all took minutes per ranking. Past the limit the larger combinations go uncounted.
 */
export const GROUP_SEARCH_LIMIT = 2000;

export interface Arrangement {
  readonly tableIds: readonly string[];
  /** Smallest and largest party this arrangement may seat. */
  readonly minParty: number;
  readonly maxParty: number;
}

export class Flexibility {
  private readonly arrangements: Arrangement[] = [];
  private readonly byTable = new Map<string, number[]>();
  /** Arrangements per party size, index = party size. */
  private readonly alive: number[] = [];

  constructor(
    freeTables: readonly Table[],
    adjacency: readonly (readonly [string, string])[],
    maxTables: number,
  ) {
    for (const t of freeTables) {
      this.add({ tableIds: [t.id], minParty: t.minPartySize, maxParty: t.maxPartySize });
    }
    const neighbours = joinableNeighbours(freeTables, adjacency);
    for (const group of connectedGroups(freeTables, adjacency, maxTables, Infinity, GROUP_SEARCH_LIMIT)) {
      const seats = group.reduce((n, t) => n + t.capacity, 0);
      // A combination is only offered to the parties that need every table of it (see candidates.ts).
      const minParty = smallestPartyNeedingAll(group, seats, neighbours);
      this.add({ tableIds: group.map((t) => t.id), minParty, maxParty: seats });
    }
  }

  /**
   * The share of each party size's arrangements that taking `tableIds` removes, weighted by `weight(party)`:
   * Σ weight(p) · removed(p) / alive(p).
   */
  loss(tableIds: readonly string[], weight: (party: number) => number): number {
    // Each arrangement taken away marks where its party range starts and ends, and one pass adds them up: a
    // table in 2,000 arrangements of parties 2 to 200 costs 4,000 marks, not 400,000 counts, a candidate.
    const marks: number[] = [];
    let lowest = Infinity, highest = -Infinity;
    const seen = new Set<number>();
    for (const id of tableIds) {
      for (const a of this.byTable.get(id) ?? []) {
        if (seen.has(a)) continue;
        seen.add(a);
        const { minParty, maxParty } = this.arrangements[a];
        marks[minParty] = (marks[minParty] ?? 0) + 1;
        marks[maxParty + 1] = (marks[maxParty + 1] ?? 0) - 1;
        lowest = Math.min(lowest, minParty);
        highest = Math.max(highest, maxParty);
      }
    }
    let total = 0;
    let removed = 0;
    for (let p = lowest; p <= highest; p++) {
      removed += marks[p] ?? 0;
      if (removed) total += weight(p) * removed / this.alive[p];
    }
    return total;
  }

  private add(a: Arrangement): void {
    if (a.minParty > a.maxParty) return;
    const index = this.arrangements.push(a) - 1;
    for (const id of a.tableIds) appendTo(this.byTable, id, index);
    for (let p = a.minParty; p <= a.maxParty; p++) this.alive[p] = (this.alive[p] ?? 0) + 1;
  }
}
