// Plan one booking: free tables → feasible candidates → the strategy's first choice, or a reason an
// operator can act on when nothing fits. Pure and deterministic: same snapshot, same answer.
import type { Snapshot } from "../domain/snapshot.ts";
import { freeTables } from "./availability.ts";
import { type Candidate, GROUP_LOOK_LIMIT, searchCandidates, someArrangementSeats } from "./candidates.ts";
import { getStrategy } from "./strategies/registry.ts";
import type { RankedCandidate, Strategy } from "./strategies/strategy.ts";

export type Plan =
  | {
    decision: "assign";
    strategy: string;
    tableIds: string[];
    tableNumbers: string[];
    score: number;
    slack: number;
    candidates: number;
  }
  | {
    decision: "no_fit";
    strategy: string;
    reason: string;
    candidates: 0;
    /** Not even an empty room seats the party: the floor plan, not the bookings, is the cause. */
    emptyRoomCannotSeat?: true;
  };

export function planAssignment(snapshot: Snapshot, strategyName: string | Strategy): Plan {
  const strategy = getStrategy(strategyName);
  const { ranked, free, complete } = rankCandidates(snapshot, strategy);
  if (ranked.length === 0) {
    // Every table free and none found means no arrangement at all; otherwise the empty room is asked.
    const emptyRoomCannotSeat = complete &&
      (free === snapshot.tables.length || someArrangementSeats(snapshot) === false);
    return {
      decision: "no_fit",
      strategy: strategy.name,
      reason: noFitReason(snapshot, free, complete, emptyRoomCannotSeat),
      candidates: 0,
      ...(emptyRoomCannotSeat ? { emptyRoomCannotSeat } : {}),
    };
  }
  const [best] = ranked;
  return assignment(strategy.name, best.candidate, best.score, ranked.length);
}

/**
 * Every arrangement free for the booking's whole window, as the strategy ranks them, best first (none ranked
 * when there is none); how many tables were free, and whether the search saw every arrangement.
 */
export function rankCandidates(
  snapshot: Snapshot,
  strategy: Strategy,
): { ranked: RankedCandidate[]; free: number; complete: boolean } {
  const free = freeTables(snapshot.tables, snapshot.busy, snapshot.windowStart, snapshot.windowEnd);
  const { candidates, complete } = searchCandidates({
    partySize: snapshot.partySize,
    maxTables: snapshot.maxTables,
    tables: free,
    adjacency: snapshot.adjacency,
  });
  const ranked = candidates.length === 0 ? [] : strategy.rank(candidates, snapshot, free);
  return { ranked, free: free.length, complete };
}

function assignment(strategy: string, c: Candidate, score: number, count: number): Plan {
  return {
    decision: "assign",
    strategy,
    tableIds: c.tables.map((t) => t.id),
    tableNumbers: c.tables.map((t) => t.number),
    score,
    slack: c.slack,
    candidates: count,
  };
}

// Building a formatter costs far more than using one, and re-optimisation asks for many reasons.
const clocks = new Map<string, { clock: Intl.DateTimeFormat; zone: string }>();
/**
 * A clock for the zone, or for UTC where Intl refuses a name Postgres accepts (the restaurants' CHECK admits the
 * zones Postgres knows, and the runtime's time-zone data may lack a newer one).
 */
function clockIn(timeZone: string): { clock: Intl.DateTimeFormat; zone: string } {
  let found = clocks.get(timeZone);
  if (!found) {
    const format = (zone: string) =>
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" });
    try {
      found = { clock: format(timeZone), zone: timeZone };
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      found = { clock: format("UTC"), zone: "UTC" };
    }
    clocks.set(timeZone, found);
  }
  return found;
}

function noFitReason(
  snapshot: Snapshot,
  freeCount: number,
  complete: boolean,
  emptyRoomCannotSeat: boolean,
): string {
  const { clock, zone } = clockIn(snapshot.timezone);
  const party = `a party of ${snapshot.partySize} at ${clock.format(snapshot.startAt)} ${zone} ` +
    `(${freeCount} of ${snapshot.tables.length} tables free for the whole stay)`;
  // Tables whose party ranges leave a gap (1–2 and 4–6 for a party of 3), say, that no join bridges.
  if (emptyRoomCannotSeat) {
    return `no_table_fits: no table or combination in this room seats ${party}, even with every table free: ` +
      `widen a table's party range, put a table back in service or join movable tables of one zone (each ` +
      `plans it again by itself), raise max_tables_per_booking and retry it, or seat the party by hand`;
  }
  if (complete) return `no_table_fits: no free table or combination seats ${party}`;
  // Not a verdict that none exists: what stopped the search, and what an operator can do.
  return `no_table_fits: no free table or combination was found that seats ${party}; the search stopped ` +
    `after ${GROUP_LOOK_LIMIT.toLocaleString("en")} combinations of joined tables, so one may exist: seat ` +
    `the party by hand, or mark fewer tables adjacent`;
}
