// What one policy achieved on one day: acceptance, covers, how well it used the room, and how safely.
import type { Day } from "./demand.ts";
import { SERVICE_MINUTES } from "./demand.ts";
import { seats } from "./layouts.ts";
import { violations } from "./safety.ts";

export const PARTY_BUCKETS = ["1-2", "3-4", "5-6", "7+"] as const;
export type PartyBucket = (typeof PARTY_BUCKETS)[number];

export function bucketOf(party: number): PartyBucket {
  return party <= 2 ? "1-2" : party <= 4 ? "3-4" : party <= 6 ? "5-6" : "7+";
}

export interface DayMetrics {
  readonly requests: number;
  readonly accepted: number;
  readonly covers: number;
  readonly requestedCovers: number;
  /** Seat-minutes of diners over seat-minutes of the room in the service window. */
  readonly utilisation: number;
  /** Party sizes over the seats of the tables they were given. */
  readonly fitEfficiency: number;
  /** Accepted bookings seated on a combination of tables. */
  readonly combinations: number;
  /** Requests the policy could not seat: in the pipeline these go to manual review. */
  readonly manualReview: number;
  readonly byParty: Readonly<Record<PartyBucket, { requests: number; accepted: number }>>;
  /** Parties of six or more, whose acceptance the default strategy must not lower. */
  readonly largeParties: { requests: number; accepted: number };
  /** Double bookings and broken rules found by the independent checker: must be none. */
  readonly violations: readonly string[];
}

export function measure(day: Day, seating: readonly (readonly string[] | null)[]): DayMetrics {
  const capacity = new Map(day.layout.tables.map((t) => [t.id, t.capacity]));
  const byParty = Object.fromEntries(PARTY_BUCKETS.map((b) => [b, { requests: 0, accepted: 0 }])) as Record<
    PartyBucket,
    { requests: number; accepted: number }
  >;
  const largeParties = { requests: 0, accepted: 0 };
  let accepted = 0, covers = 0, requestedCovers = 0, seatMinutes = 0, seatsGiven = 0, combinations = 0;
  for (const r of day.requests) {
    const bucket = byParty[bucketOf(r.partySize)];
    bucket.requests++;
    if (r.partySize >= 6) largeParties.requests++;
    requestedCovers += r.partySize;
    const tables = seating[r.index];
    if (!tables) continue;
    bucket.accepted++;
    if (r.partySize >= 6) largeParties.accepted++;
    accepted++;
    covers += r.partySize;
    seatMinutes += r.partySize * r.diningMinutes;
    seatsGiven += tables.reduce((n, id) => n + capacity.get(id)!, 0);
    if (tables.length > 1) combinations++;
  }
  return {
    requests: day.requests.length,
    accepted,
    covers,
    requestedCovers,
    utilisation: seatMinutes / (seats(day.layout) * SERVICE_MINUTES),
    fitEfficiency: seatsGiven === 0 ? 0 : covers / seatsGiven,
    combinations,
    manualReview: day.requests.length - accepted,
    byParty,
    largeParties,
    violations: violations(day, seating),
  };
}
