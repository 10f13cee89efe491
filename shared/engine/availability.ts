// Which tables are free for a window, given the intervals other bookings hold them.
import type { BusyInterval, PlacedBooking, Table } from "../domain/snapshot.ts";
import { appendTo } from "./multimap.ts";

/** Half-open intervals [start, end) overlap when each starts before the other ends. */
export function overlaps(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart < bEnd && bStart < aEnd;
}

export function freeTables(
  tables: readonly Table[],
  busy: readonly BusyInterval[],
  windowStart: number,
  windowEnd: number,
): Table[] {
  const taken = new Set(
    busy.filter((b) => overlaps(b.start, b.end, windowStart, windowEnd)).map((b) => b.tableId),
  );
  return tables.filter((t) => !taken.has(t.id));
}

/**
 * The holds no placed booking accounts for (blocks, bookings out of the snapshot's reach), in the order given.
 * The placed bookings are read by table, so a snapshot of thousands of holds is read once, not once a hold.
 */
export function unexplainedHolds(
  busy: readonly BusyInterval[],
  placed: readonly PlacedBooking[],
): BusyInterval[] {
  const placedAt = new Map<string, PlacedBooking[]>();
  for (const p of placed) for (const tableId of p.tableIds) appendTo(placedAt, tableId, p);
  return busy.filter((b) =>
    !(placedAt.get(b.tableId) ?? []).some((p) => overlaps(p.windowStart, p.windowEnd, b.start, b.end))
  );
}
