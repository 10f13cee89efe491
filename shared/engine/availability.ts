// Which tables are free for a window, given the intervals other bookings hold them.
import type { BusyInterval, Table } from "../domain/snapshot.ts";

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
