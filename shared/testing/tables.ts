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

/** Every pair of the tables adjacent: a zone whose tables all join each other. */
export function allJoined(tables: readonly Table[]): [string, string][] {
  return tables.flatMap((a, i) => tables.slice(i + 1).map((b) => [a.id, b.id] as [string, string]));
}

/**
 * A zone of forty 1-tops that all join, a 6-top joined to each of them, and another 6-top joined to them only
 * through a row of six 1-tops: its two 6-tops let six tables reach twelve seats, but no connected six do, and
 * the candidate search cannot know that before it has looked at more groups than it may.
 */
export function twoSixTopsApart(): { tables: Table[]; adjacency: [string, string][] } {
  const ones = Array.from({ length: 40 }, (_, i) => table(i + 1, 1));
  const near = table(41, 6);
  const row = Array.from({ length: 6 }, (_, i) => table(42 + i, 1));
  const far = table(48, 6);
  const chain = [ones[0], ...row, far];
  return {
    tables: [...ones, near, ...row, far],
    adjacency: [
      ...allJoined([...ones, near]),
      ...chain.slice(1).map((t, i) => [chain[i].id, t.id] as [string, string]),
    ],
  };
}
