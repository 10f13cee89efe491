// An independent check of every final seating: restated from the rules, not from the engine's code, so
// a bug in candidates or strategies cannot hide itself. Returns one line per violation.
import { seatingRuleBroken } from "../../../shared/testing/rules.ts";
import type { Day, Request } from "./demand.ts";

export function violations(day: Day, seating: readonly (readonly string[] | null)[]): string[] {
  const found: string[] = [];
  const byId = new Map(day.layout.tables.map((t) => [t.id, t]));
  const holds = new Map<string, Request[]>();
  for (const r of day.requests) {
    const ids = seating[r.index];
    if (!ids) continue;
    const broken = ruleBroken(day, r, ids);
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

/** The rule a request seated at `ids` breaks, or null. */
export function ruleBroken(day: Day, r: Request, ids: readonly string[]): string | null {
  if (!r.walkIn && ids.some((id) => day.layout.walkInOnly.has(id))) return "walk-in-only table for a booking";
  return seatingRuleBroken(day.layout, r.partySize, ids);
}
