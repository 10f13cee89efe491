// Every way to seat a party on free tables: single tables whose party range fits, and connected groups
// of adjacent, movable tables in one zone (up to maxTables) with enough seats. A group is only offered
// when every table in it is needed, so a couple is never given three pushed-together tables.
import type { Table } from "../domain/snapshot.ts";
import { byNumericText } from "./numeric-order.ts";

export interface Candidate {
  /** Tables in table-number order. */
  readonly tables: readonly Table[];
  /** Stable identity: table numbers joined with "+". */
  readonly key: string;
  readonly capacity: number;
  readonly slack: number;
  readonly zoneId: string;
}

export interface CandidateRequest {
  partySize: number;
  maxTables: number;
  /** Free tables only. */
  tables: readonly Table[];
  adjacency: readonly (readonly [string, string])[];
}

const byNumber = (a: Table, b: Table) => byNumericText(a.number, b.number);

function candidateOf(tables: Table[], partySize: number): Candidate {
  const sorted = [...tables].sort(byNumber);
  const capacity = sorted.reduce((sum, t) => sum + t.capacity, 0);
  return {
    tables: sorted,
    key: sorted.map((t) => t.number).join("+"),
    capacity,
    slack: capacity - partySize,
    zoneId: sorted[0].zoneId,
  };
}

export function singleTableFits(table: Table, partySize: number): boolean {
  return partySize >= table.minPartySize && partySize <= table.maxPartySize;
}

export function enumerateCandidates(request: CandidateRequest): Candidate[] {
  const { partySize } = request;
  const candidates: Candidate[] = request.tables
    .filter((t) => singleTableFits(t, partySize))
    .map((t) => candidateOf([t], partySize));
  for (const group of connectedGroups(request.tables, request.adjacency, request.maxTables, partySize)) {
    const seats = group.reduce((sum, t) => sum + t.capacity, 0);
    if (seats >= partySize) candidates.push(candidateOf(group, partySize));
  }
  return sortByKey(candidates);
}

/**
 * Every connected group of 2..maxTables movable tables of one zone that some party of at most `maxParty`
 * needs all of: a group is kept while removing any one table would leave fewer than `maxParty` seats or split
 * the rest (a small table between two large ones joins them), and grown only while it has fewer than
 * `maxParty` seats (a bigger group would hold a table nobody needs). At most `limit` groups, the smallest
 * first (groups grow one table at a time).
 */
export function connectedGroups(
  tables: readonly Table[],
  adjacency: readonly (readonly [string, string])[],
  maxTables: number,
  maxParty = Infinity,
  limit = Infinity,
): Table[][] {
  if (maxTables < 2) return [];
  const neighbours = joinableNeighbours(tables, adjacency);
  const joinable = new Map(tables.filter((t) => t.movable).map((t) => [t.id, t]));

  // Grow connected groups one neighbour at a time; a seen-set keeps each group once.
  const groups: Table[][] = [];
  const seen = new Set<string>();
  let frontier: Table[][] = [...joinable.values()].filter((t) => neighbours.has(t.id)).map((t) => [t]);
  for (let size = 2; size <= maxTables && frontier.length > 0; size++) {
    const next: Table[][] = [];
    for (const group of frontier) {
      const ids = new Set(group.map((t) => t.id));
      for (const member of group) {
        for (const n of neighbours.get(member.id) ?? []) {
          if (ids.has(n.id)) continue;
          const grown = [...group, n];
          const key = grown.map((t) => t.id).sort().join(",");
          if (seen.has(key)) continue;
          seen.add(key);
          const seats = grown.reduce((sum, t) => sum + t.capacity, 0);
          const needed = maxParty === Infinity ||
            smallestPartyNeedingAll(grown, seats, neighbours) <= maxParty;
          if (needed && groups.push(grown) >= limit) return groups;
          if (seats < maxParty) next.push(grown);
        }
      }
    }
    frontier = next;
  }
  return groups;
}

/** Each movable table's neighbours it may be joined with: adjacent, movable, in its zone. */
export function joinableNeighbours(
  tables: readonly Table[],
  adjacency: readonly (readonly [string, string])[],
): Map<string, Table[]> {
  const joinable = new Map(tables.filter((t) => t.movable).map((t) => [t.id, t]));
  const neighbours = new Map<string, Table[]>();
  for (const [a, b] of adjacency) {
    const ta = joinable.get(a);
    const tb = joinable.get(b);
    if (!ta || !tb || ta.zoneId !== tb.zoneId || a === b) continue;
    neighbours.set(a, [...(neighbours.get(a) ?? []), tb]);
    neighbours.set(b, [...(neighbours.get(b) ?? []), ta]);
  }
  return neighbours;
}

/**
 * The smallest party that needs every table of the connected group: without any one of them, the rest could
 * not seat it, or the rest is no longer joined. A table whose removal splits the group is needed by every
 * party; any other table t only by parties the rest cannot seat: above the top of its party range when one
 * table is left alone (a 6-top kept for at most four, joined with a 2-top, seats five), else above seats − t's
 * capacity.
 */
export function smallestPartyNeedingAll(
  group: readonly Table[],
  seats: number,
  neighbours: ReadonlyMap<string, readonly Table[]>,
): number {
  let smallest = 1;
  for (const t of group) {
    const alone = group.length === 2 ? group.find((other) => other !== t) : undefined;
    const above = (alone ? alone.maxPartySize : seats - t.capacity) + 1;
    if (above > smallest && connectedWithout(group, t, neighbours)) smallest = above;
  }
  return smallest;
}

function connectedWithout(
  group: readonly Table[],
  left: Table,
  neighbours: ReadonlyMap<string, readonly Table[]>,
): boolean {
  const rest = new Set(group.filter((t) => t !== left).map((t) => t.id));
  const [first] = rest;
  const reached = new Set([first]);
  for (const id of reached) {
    for (const n of neighbours.get(id) ?? []) {
      if (rest.has(n.id)) reached.add(n.id);
    }
  }
  return reached.size === rest.size;
}

function sortByKey(candidates: Candidate[]): Candidate[] {
  return candidates.sort((a, b) => a.tables.length - b.tables.length || byNumericText(a.key, b.key));
}
