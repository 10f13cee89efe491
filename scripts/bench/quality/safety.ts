// An independent check of every final seating: restated from the rules, not from the engine's code, so
// a bug in candidates or strategies cannot hide itself. Returns one line per violation.
import type { Table } from "../../../shared/domain/snapshot.ts";
import type { Day, Request } from "./demand.ts";

export function violations(day: Day, seating: readonly (readonly string[] | null)[]): string[] {
  const found: string[] = [];
  const byId = new Map(day.layout.tables.map((t) => [t.id, t]));
  const holds = new Map<string, Request[]>();
  for (const r of day.requests) {
    const ids = seating[r.index];
    if (!ids) continue;
    const broken = ruleBroken(day, r, ids, byId);
    if (broken) found.push(`request ${r.index} (party of ${r.partySize}): ${broken}`);
    for (const id of ids) holds.set(id, [...(holds.get(id) ?? []), r]);
  }
  for (const [id, rs] of holds) {
    const sorted = [...rs].sort((a, b) => a.windowStart - b.windowStart);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].windowStart < sorted[i - 1].windowEnd) {
        found.push(
          `double booking: table ${byId.get(id)?.number} holds requests ${sorted[i - 1].index} and ${
            sorted[i].index
          }`,
        );
      }
    }
  }
  return found;
}

function ruleBroken(day: Day, r: Request, ids: readonly string[], byId: Map<string, Table>): string | null {
  const { layout } = day;
  const tables = ids.map((id) => byId.get(id));
  if (ids.length === 0) return "no tables";
  if (tables.some((t) => !t)) return "unknown table";
  const ts = tables as Table[];
  if (new Set(ids).size !== ids.length) return "a table twice";
  if (ids.length > layout.maxTables) return "too many tables";
  if (!r.walkIn && ids.some((id) => layout.walkInOnly.has(id))) return "walk-in-only table for a booking";
  if (ts.length === 1) {
    const [t] = ts;
    return r.partySize >= t.minPartySize && r.partySize <= t.maxPartySize
      ? null
      : "party outside the table's range";
  }
  if (ts.some((t) => !t.movable)) return "a fixed table in a combination";
  if (new Set(ts.map((t) => t.zoneId)).size > 1) return "a combination across zones";
  const seats = ts.reduce((n, t) => n + t.capacity, 0);
  if (seats < r.partySize) return "not enough seats";
  if (seats - Math.min(...ts.map((t) => t.capacity)) >= r.partySize) return "a table the party does not need";
  const linked = new Set([ids[0]]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [a, b] of layout.adjacency) {
      for (const [x, y] of [[a, b], [b, a]]) {
        if (linked.has(x) && ids.includes(y) && !linked.has(y)) {
          linked.add(y);
          grew = true;
        }
      }
    }
  }
  return linked.size === ids.length ? null : "tables not adjacent";
}
