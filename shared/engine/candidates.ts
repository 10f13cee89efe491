// Every way to seat a party on free tables: single tables whose party range fits, and connected groups
// of adjacent, movable tables in one zone (up to maxTables) with enough seats. A group is only offered
// when every table in it is needed, so a couple is never given three pushed-together tables.
import type { Table } from "../domain/snapshot.ts";
import { appendTo } from "./multimap.ts";
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

/**
 * Most arrangements listed for one party, and most combinations looked at to find them. Floors as drawn list a
 * few hundred at most; a zone of twenty movable tables all adjacent lists 38,760 ways to join six for a party
 * of twelve, which took a second to list and seconds more to rank (an edge function has 2 s of CPU a
 * request), and one of thirty has 593,775. Past either limit the search stops with what it found (20,000 looks
 * take about a tenth of a second).
 */
export const CANDIDATE_LIMIT = 2000;
export const GROUP_LOOK_LIMIT = 20_000;

/** The candidates, and whether they are all there are (false: a limit above stopped the search). */
export interface CandidateSearch {
  readonly candidates: Candidate[];
  readonly complete: boolean;
}

export function enumerateCandidates(request: CandidateRequest): Candidate[] {
  return searchCandidates(request).candidates;
}

export function searchCandidates(request: CandidateRequest): CandidateSearch {
  const { partySize } = request;
  const candidates: Candidate[] = request.tables
    .filter((t) => singleTableFits(t, partySize))
    .map((t) => candidateOf([t], partySize));
  // Depth first, growing only groups that can still reach the party's seats: in a dense zone the first
  // arrangements come at once instead of after every smaller group.
  const complete = growGroups(
    request.tables,
    request.adjacency,
    request.maxTables,
    partySize,
    (group, seats) => {
      if (seats >= partySize) candidates.push(candidateOf(group, partySize));
      return candidates.length < CANDIDATE_LIMIT;
    },
    { depthFirst: true, reachOnly: true, lookLimit: GROUP_LOOK_LIMIT },
  );
  return { candidates: sortByKey(candidates), complete };
}

/**
 * Whether some arrangement of these tables seats the party: true at the first one found, false when the search
 * saw every arrangement and none does, undefined when it stopped at the look limit before knowing.
 */
export function someArrangementSeats(request: CandidateRequest): boolean | undefined {
  if (request.tables.some((t) => singleTableFits(t, request.partySize))) return true;
  let found = false;
  const complete = growGroups(
    request.tables,
    request.adjacency,
    request.maxTables,
    request.partySize,
    () => (found = true, false),
    { depthFirst: true, reachOnly: true, lookLimit: GROUP_LOOK_LIMIT },
  );
  return found || (complete ? false : undefined);
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
  const groups: Table[][] = [];
  growGroups(tables, adjacency, maxTables, maxParty, (group) => groups.push(group) < limit);
  return groups;
}

interface GrowOptions {
  /** Depth first (the largest groups soonest); else breadth first, the smallest groups first. */
  readonly depthFirst?: boolean;
  /** Grow only groups that joining more tables could bring to `maxParty` seats within maxTables. */
  readonly reachOnly?: boolean;
  /** Most distinct groups to look at. */
  readonly lookLimit?: number;
}

/**
 * Hands each group connectedGroups describes to `take`, until it answers false. True when every group was
 * handed over; false when `take` or the look limit stopped the search.
 */
function growGroups(
  tables: readonly Table[],
  adjacency: readonly (readonly [string, string])[],
  maxTables: number,
  maxParty: number,
  take: (group: Table[], seats: number) => boolean,
  { depthFirst = false, reachOnly = false, lookLimit = Infinity }: GrowOptions = {},
): boolean {
  if (maxTables < 2) return true;
  const neighbours = joinableNeighbours(tables, adjacency);
  // A group grows within the tables joined to it, directly or through others (its part of the zone): r more
  // tables add at most the seats of that part's r largest it lacks. By the zone's largest instead, a zone of
  // many joined 2-tops beside a large table they cannot reach grew every group of 2-tops in vain, and used up
  // the look limit before it came to the large table's own groups.
  const partOf = reachOnly ? connectedParts(neighbours) : new Map<string, number>();
  const byCapacity = new Map<number, Table[]>();
  for (const t of tables.filter((t) => partOf.has(t.id))) appendTo(byCapacity, partOf.get(t.id)!, t);
  for (const part of byCapacity.values()) part.sort((a, b) => b.capacity - a.capacity);
  const reachable = (group: readonly Table[], seats: number) => {
    if (!reachOnly) return true;
    let most = seats;
    let more = maxTables - group.length;
    for (const t of byCapacity.get(partOf.get(group[0].id)!)!) {
      if (more === 0 || most >= maxParty) break;
      if (group.includes(t)) continue;
      most += t.capacity;
      more--;
    }
    return most >= maxParty;
  };
  // A table that seats the party on its own, by its seats and the top of its range, starts no group: no group grown
  // from it is needed (without the other tables it still seats the party) or grown further (it has the seats).
  // In a zone of hundreds of tables that all join, looking at its pairs used up the look limit for a couple.
  const seatsAlone = (t: Table) => reachOnly && t.capacity >= maxParty && t.maxPartySize >= maxParty;
  const joinable = tables.filter((t) =>
    t.movable && neighbours.has(t.id) && !seatsAlone(t) && reachable([t], t.capacity)
  );
  // Each group once, whichever way it was reached (keyed by the tables' places in the list, short to build);
  // grown one neighbour at a time.
  const place = new Map(tables.map((t, i) => [t.id, i]));
  const seen = new Set<string>();
  const work: Table[][] = joinable.map((t) => [t]);
  if (depthFirst) work.reverse(); // so the first table is grown first
  for (let next = 0; depthFirst ? work.length > 0 : next < work.length;) {
    const group = depthFirst ? work.pop()! : work[next++];
    if (group.length >= maxTables) continue;
    const ids = new Set(group.map((t) => t.id));
    const grownHere: Table[][] = [];
    for (const member of group) {
      for (const n of neighbours.get(member.id) ?? []) {
        if (ids.has(n.id)) continue;
        const grown = [...group, n];
        const key = grown.map((t) => place.get(t.id)!).sort((a, b) => a - b).join(",");
        if (seen.has(key)) continue;
        if (seen.size >= lookLimit) return false;
        seen.add(key);
        const seats = grown.reduce((sum, t) => sum + t.capacity, 0);
        // Only a group with the seats can be a candidate: the others need not be asked about (reachOnly).
        const offered = !reachOnly || seats >= maxParty;
        const needed = offered &&
          (maxParty === Infinity || smallestPartyNeedingAll(grown, seats, neighbours) <= maxParty);
        if (needed && !take(grown, seats)) return false;
        if (seats < maxParty && reachable(grown, seats)) grownHere.push(grown);
      }
    }
    // Depth first takes the last pushed next: reversed, a group's first child is grown first.
    work.push(...(depthFirst ? grownHere.reverse() : grownHere));
  }
  return true;
}

/** Each joinable table's connected part, numbered: tables joined directly or through others share one. */
function connectedParts(neighbours: ReadonlyMap<string, readonly Table[]>): Map<string, number> {
  const partOf = new Map<string, number>();
  let parts = 0;
  for (const id of neighbours.keys()) {
    if (partOf.has(id)) continue;
    partOf.set(id, parts);
    const stack = [id];
    while (stack.length > 0) {
      for (const n of neighbours.get(stack.pop()!)!) {
        if (partOf.has(n.id)) continue;
        partOf.set(n.id, parts);
        stack.push(n.id);
      }
    }
    parts++;
  }
  return partOf;
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
    appendTo(neighbours, a, tb);
    appendTo(neighbours, b, ta);
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
