// Tables and times for engine unit tests: table n is "T<n>" with a stable id, in one zone unless told.
import type { Table } from "../domain/snapshot.ts";

export const T0 = Date.parse("2030-01-07T19:00:00Z");
export const MIN = 60_000;
export const ZONE = "10000000-0000-4000-8000-000000000001";

export function table(n: number, capacity: number, extra: Partial<Table> = {}): Table {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    number: `T${n}`,
    zoneId: ZONE,
    capacity,
    minPartySize: 1,
    maxPartySize: capacity,
    movable: true,
    ...extra,
  };
}
