// The snapshot assignment_begin returns: everything the engine needs to plan one booking.
// Parsed with zod at the boundary so the engine only ever sees well-formed data.
import { z } from "../deps.ts";
import { idSchema } from "./id.ts";

const uuid = idSchema();
/**
 * A timestamp in whole milliseconds, rounded outward for the interval it bounds: Postgres keeps microseconds
 * and Date.parse drops them, so an end at 19:00:00.0005 read as 19:00:00.000 would look free to the engine
 * while the database finds the tables busy, and refuse the same plan every retry. Starts are floored (as
 * Date.parse does) and ends ceiled, so every interval, the new booking's included, only ever grows.
 */
export const instantSchema = (bound: "start" | "end") =>
  z.string().transform((value, ctx) => {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: `not a timestamp: ${value}` });
      return z.NEVER;
    }
    const beyondMs = /\.\d{3}(\d+)/.exec(value)?.[1];
    return bound === "end" && beyondMs && /[1-9]/.test(beyondMs) ? ms + 1 : ms;
  });
const start = instantSchema("start");
const end = instantSchema("end");

export const tableSchema = z.object({
  id: uuid,
  number: z.string(),
  zone_id: uuid,
  capacity: z.number().int().positive(),
  min_party_size: z.number().int().positive(),
  max_party_size: z.number().int().positive(),
  movable: z.boolean(),
}).transform((t) => ({
  id: t.id,
  number: t.number,
  zoneId: t.zone_id,
  capacity: t.capacity,
  minPartySize: t.min_party_size,
  maxPartySize: t.max_party_size,
  movable: t.movable,
}));

const placedSchema = z.object({
  id: uuid,
  party_size: z.number().int().positive(),
  window_start: start,
  window_end: end,
  table_ids: z.array(uuid).min(1),
  locked: z.boolean(),
}).transform((p) => ({
  id: p.id,
  partySize: p.party_size,
  windowStart: p.window_start,
  windowEnd: p.window_end,
  tableIds: p.table_ids,
  locked: p.locked,
}));

export const snapshotSchema = z.object({
  booking: z.object({
    id: uuid,
    restaurant_id: uuid,
    party_size: z.number().int().positive(),
    start_at: start,
    timezone: z.string().default("UTC"),
    window_start: start,
    window_end: end,
  }),
  max_tables: z.number().int().min(1).max(6),
  // How far either side of the window busy and placed reach (private.snapshot_horizon() owns the number).
  horizon_minutes: z.number().int().positive(),
  // The shortest stay the restaurant's turn-time policy allows (turn plus buffers), when known.
  min_stay_minutes: z.number().int().positive().optional(),
  tables: z.array(tableSchema),
  adjacency: z.array(z.tuple([uuid, uuid])),
  busy: z.array(z.object({ table_id: uuid, start, end })),
  // Only where re-optimisation is on: the bookings holding those tables, and whether each may still move.
  reoptimize: z.boolean().default(false),
  placed: z.array(placedSchema).default([]),
}).transform((s) => ({
  bookingId: s.booking.id,
  restaurantId: s.booking.restaurant_id,
  partySize: s.booking.party_size,
  startAt: s.booking.start_at,
  timezone: s.booking.timezone,
  windowStart: s.booking.window_start,
  windowEnd: s.booking.window_end,
  maxTables: s.max_tables,
  horizonMs: s.horizon_minutes * 60_000,
  minStayMinutes: s.min_stay_minutes,
  tables: s.tables,
  adjacency: s.adjacency,
  busy: s.busy.map((b) => ({ tableId: b.table_id, start: b.start, end: b.end })),
  placed: s.reoptimize ? s.placed : undefined,
}));

export type Table = z.output<typeof tableSchema>;
/** A booking holding tables near the one being planned, as re-optimisation sees it. */
export interface PlacedBooking {
  readonly id: string;
  readonly partySize: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly tableIds: readonly string[];
  /** Seated, placed by staff, or starting soon: never moved. */
  readonly locked: boolean;
}
/** Optional parts may be left out by callers that build snapshots themselves (tests, benchmarks). */
export type Snapshot = Omit<z.output<typeof snapshotSchema>, "minStayMinutes" | "placed" | "horizonMs"> & {
  minStayMinutes?: number;
  /** How far either side of the window `busy` and `placed` reach; absent: they hold everything. */
  horizonMs?: number;
  /** Present only where re-optimisation is on. */
  placed?: readonly PlacedBooking[];
};
export type BusyInterval = Snapshot["busy"][number];

/**
 * Whether a placed booking lies wholly within the snapshot's view (its window widened by the horizon): only
 * then does the snapshot show every hold that could clash with it where it moves, so only then may it move.
 */
export function fullyInView(
  snapshot: Pick<Snapshot, "windowStart" | "windowEnd" | "horizonMs">,
  p: Pick<PlacedBooking, "windowStart" | "windowEnd">,
): boolean {
  const horizon = snapshot.horizonMs ?? Infinity;
  return p.windowStart >= snapshot.windowStart - horizon && p.windowEnd <= snapshot.windowEnd + horizon;
}
