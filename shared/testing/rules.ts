// The seating rules restated from their definition, not from the engine's code, so tests and benchmarks
// can check the engine against them and a bug in candidates or strategies cannot hide itself.
import type { Table } from "../domain/snapshot.ts";

export interface Floor {
  readonly tables: readonly Table[];
  readonly adjacency: readonly (readonly [string, string])[];
  readonly maxTables: number;
}

/** Why seating `partySize` on `tableIds` breaks a rule, or null when it breaks none. Availability aside. */
export function seatingRuleBroken(
  floor: Floor,
  partySize: number,
  tableIds: readonly string[],
): string | null {
  if (tableIds.length === 0) return "no tables";
  const found = tableIds.map((id) => floor.tables.find((t) => t.id === id));
  if (found.some((t) => !t)) return "unknown table";
  const tables = found as Table[];
  if (new Set(tableIds).size !== tableIds.length) return "a table twice";
  if (tables.length > floor.maxTables) return "too many tables";
  if (tables.length === 1) {
    const [t] = tables;
    return partySize >= t.minPartySize && partySize <= t.maxPartySize
      ? null
      : "party outside the table's range";
  }
  if (tables.some((t) => !t.movable)) return "a fixed table in a combination";
  if (new Set(tables.map((t) => t.zoneId)).size > 1) return "a combination across zones";
  const seats = tables.reduce((n, t) => n + t.capacity, 0);
  if (seats < partySize) return "not enough seats";
  if (!connected(floor, tableIds)) return "tables not adjacent";
  // Every table is needed: without any one, the rest could not seat the party (one table left alone seats
  // up to the top of its range, a group by its seats), or the rest is no longer joined.
  const restSeats = (i: number) =>
    tables.length === 2 ? tables[1 - i].maxPartySize : seats - tables[i].capacity;
  const unneeded = tables.some((_, i) =>
    restSeats(i) >= partySize && connected(floor, tableIds.filter((_, j) => j !== i))
  );
  return unneeded ? "a table the party does not need" : null;
}

/** Whether the tables form one group through the floor's adjacency. */
function connected(floor: Floor, tableIds: readonly string[]): boolean {
  const linked = new Set([tableIds[0]]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [a, b] of floor.adjacency) {
      for (const [x, y] of [[a, b], [b, a]]) {
        if (linked.has(x) && tableIds.includes(y) && !linked.has(y)) {
          linked.add(y);
          grew = true;
        }
      }
    }
  }
  return linked.size === tableIds.length;
}
