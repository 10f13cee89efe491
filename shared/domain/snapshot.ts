// The snapshot assignment_begin returns: everything the engine needs to plan one booking.
// Parsed with zod at the boundary so the engine only ever sees well-formed data.
import { z } from "../deps.ts";

const uuid = z.uuid();
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
  tables: z.array(tableSchema),
  adjacency: z.array(z.tuple([uuid, uuid])),
  busy: z.array(z.object({ table_id: uuid, start: instant, end: instant })),
}).transform((s) => ({
  bookingId: s.booking.id,
  restaurantId: s.booking.restaurant_id,
  partySize: s.booking.party_size,
  startAt: s.booking.start_at,
  timezone: s.booking.timezone,
  windowStart: s.booking.window_start,
  windowEnd: s.booking.window_end,
  maxTables: s.max_tables,
  tables: s.tables,
  adjacency: s.adjacency,
  busy: s.busy.map((b) => ({ tableId: b.table_id, start: b.start, end: b.end })),
}));

export type Table = z.output<typeof tableSchema>;
export type Snapshot = z.output<typeof snapshotSchema>;
export type BusyInterval = Snapshot["busy"][number];
