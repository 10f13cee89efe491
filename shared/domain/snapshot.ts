// The snapshot assignment_begin returns: everything the engine needs to plan one booking.
// Parsed with zod at the boundary so the engine only ever sees well-formed data.
import { z } from "../deps.ts";
import { idSchema } from "./id.ts";

const uuid = idSchema();
const instant = z.string().transform((value, ctx) => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `not a timestamp: ${value}` });
    return z.NEVER;
  }
  return ms;
});

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
  window_start: instant,
  window_end: instant,
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
    start_at: instant,
    timezone: z.string().default("UTC"),
    window_start: instant,
    window_end: instant,
  }),
  max_tables: z.number().int().min(1).max(6),
  // How far either side of the window busy and placed reach (private.snapshot_horizon() owns the number).
  horizon_minutes: z.number().int().positive(),
  // The shortest stay the restaurant's turn-time policy allows (turn plus buffers), when known.
  min_stay_minutes: z.number().int().positive().optional(),
  tables: z.array(tableSchema),
  adjacency: z.array(z.tuple([uuid, uuid])),
  busy: z.array(z.object({ table_id: uuid, start: instant, end: instant })),
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
