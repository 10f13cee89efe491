// Seeded restaurant days: who asks for which table when, in the order the requests arrive (reference notes,
// benchmark suite E.2). Turn times are the Kimes & Thompson Saturday means by party size (casual) or the
// operators' fine-dining policy, rounded to five minutes; load ρ is requested seat-minutes over the room's
// seat-minutes in the service window.
import { enumerateCandidates } from "../../../shared/engine/candidates.ts";
import { seededRandom, weighted } from "../../../shared/testing/random.ts";
import { type Layout, seats, type TurnProfile } from "./layouts.ts";

export type MixId = "casual" | "walk_in" | "groups" | "celebrations";

interface Mix {
  readonly parties: readonly (readonly [number, number])[];
  /** Share of requests made at the door, seated now. */
  readonly walkIns: number;
  /** Share of requests made on the day, a few hours ahead. */
  readonly sameDay: number;
  /** Added after the strategy was tuned: its results are out of sample in party mix, not only in seed. */
  readonly unseen?: boolean;
}

export const MIXES: Readonly<Record<MixId, Mix>> = {
  // Chevys-like: over 60 % of parties are 1 or 2.
  casual: {
    parties: [[1, 12], [2, 50], [3, 13], [4, 15], [5, 4], [6, 3], [7, 1], [8, 1], [9, .5], [10, .5]],
    walkIns: 0.1,
    sameDay: 0.15,
  },
  // SimOpt TABLEALLOCATION's party mix, mostly walk-ins.
  walk_in: {
    parties: [[1, 14.6], [2, 29.2], [3, 14.6], [4, 14.6], [5, 9.7], [6, 6.5], [7, 5.4], [8, 5.3]],
    walkIns: 0.45,
    sameDay: 0.15,
  },
  groups: {
    parties: [
      [1, 4],
      [2, 30],
      [3, 10],
      [4, 20],
      [5, 8],
      [6, 10],
      [7, 5],
      [8, 6],
      [9, 2],
      [10, 2],
      [11, 1.5],
      [
        12,
        1.5,
      ],
    ],
    walkIns: 0.05,
    sameDay: 0.1,
  },
  // Unseen by the tuning: birthdays and team dinners, booked ahead; over half the parties are five or more.
  celebrations: {
    parties: [[2, 20], [3, 5], [4, 18], [5, 9], [6, 15], [7, 8], [8, 12], [9, 4], [10, 5], [11, 2], [12, 2]],
    walkIns: 0.02,
    sameDay: 0.06,
    unseen: true,
  },
};

const TURN_MINUTES: Readonly<Record<TurnProfile, (party: number) => number>> = {
  casual: (party) => [45, 45, 50, 55, 55, 60, 60, 70][Math.min(party, 8) - 1] ?? 70,
  fine: (party) => (party <= 2 ? 90 : party <= 4 ? 105 : party <= 6 ? 120 : 150),
};

export function turnMinutes(profile: TurnProfile, party: number): number {
  return TURN_MINUTES[profile](party);
}

export interface Request {
  readonly id: string;
  /** Position in booking order. */
  readonly index: number;
  readonly partySize: number;
  readonly startAt: number;
  readonly diningMinutes: number;
  /** The stay plus the reset buffer: the time its tables are held. */
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly bookedAt: number;
  readonly walkIn: boolean;
}

export interface Day {
  readonly layout: Layout;
  readonly mix: MixId;
  readonly load: number;
  readonly seed: number;
  readonly serviceStart: number;
  readonly serviceEnd: number;
  readonly requests: readonly Request[];
}

const MIN = 60_000;
/** A Saturday; service runs 17:00–23:00 UTC. */
export const SERVICE_START = Date.parse("2030-03-02T17:00:00Z");
export const SERVICE_MINUTES = 360;
const LAST_SEATING = { casual: 285, fine: 255 } as const;

/** Evening demand by 15-minute slot: a floor plus peaks around 19:00 and 20:30. */
function slotWeights(lastSeating: number): (readonly [number, number])[] {
  const bell = (m: number, mean: number) => Math.exp(-0.5 * ((m - mean) / 60) ** 2);
  const slots: (readonly [number, number])[] = [];
  for (let m = 0; m <= lastSeating; m += 15) slots.push([m, 0.3 + 0.55 * bell(m, 120) + 0.45 * bell(m, 210)]);
  return slots;
}

/** Party sizes some arrangement can seat, per channel; others would be refused before assignment. */
function seatable(layout: Layout, walkIn: boolean, party: number): boolean {
  const tables = layout.tables.filter((t) => walkIn || !layout.walkInOnly.has(t.id));
  return enumerateCandidates({
    partySize: party,
    maxTables: layout.maxTables,
    tables,
    adjacency: layout.adjacency,
  })
    .length > 0;
}

function hashSeed(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join("|")) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

export function generateDay(layout: Layout, mix: MixId, load: number, seed: number): Day {
  const random = seededRandom(hashSeed(layout.id, mix, load, seed));
  const m = MIXES[mix];
  const slots = slotWeights(LAST_SEATING[layout.turnProfile]);
  const target = load * seats(layout) * SERVICE_MINUTES;
  const drafts: Omit<Request, "id" | "index">[] = [];
  for (let requested = 0; requested < target;) {
    const channel = random();
    const walkIn = channel < m.walkIns;
    const sameDay = channel < m.walkIns + m.sameDay;
    let party = weighted(random, m.parties);
    while (!seatable(layout, walkIn, party)) party = weighted(random, m.parties);
    const startAt = SERVICE_START + weighted(random, slots) * MIN;
    const diningMinutes = turnMinutes(layout.turnProfile, party);
    const leadMinutes = walkIn
      ? Math.floor(random() * 15)
      : sameDay
      ? 30 + Math.floor(random() * 330)
      : 60 * 24 * (0.25 + -Math.log(1 - random()) * 5);
    drafts.push({
      partySize: party,
      startAt,
      diningMinutes,
      windowStart: startAt,
      windowEnd: startAt + (diningMinutes + layout.bufferAfterMinutes) * MIN,
      bookedAt: Math.round(startAt - leadMinutes * MIN),
      walkIn,
    });
    requested += party * diningMinutes;
  }
  const order = drafts.map((d, i) => ({ d, i })).sort((a, b) => a.d.bookedAt - b.d.bookedAt || a.i - b.i);
  const requests = order.map(({ d }, index) => ({
    ...d,
    index,
    id: `c0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`,
  }));
  return {
    layout,
    mix,
    load,
    seed,
    serviceStart: SERVICE_START,
    serviceEnd: SERVICE_START + SERVICE_MINUTES * MIN,
    requests,
  };
}

/** Requested seat-minutes over available seat-minutes, as generated. */
export function offeredLoad(day: Day): number {
  const requested = day.requests.reduce((n, r) => n + r.partySize * r.diningMinutes, 0);
  return requested / (seats(day.layout) * SERVICE_MINUTES);
}
