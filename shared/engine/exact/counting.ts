// A proof by counting that no re-seating exists, found before any solve. At an instant of the new booking's
// stay, the bookings present then need pairwise different tables; so for any weight on the tables, the least
// weight each of them must take (over its arrangements) adds up to at most the weight of the tables any of
// them can use. Weights that count tables or seats, over the whole room and over the tables of each zone or
// of each capacity and up or down, settle most refusals in a full room at once. Each such sum is a
// combination of the exact model's rows, so this only finds what the solver would prove, much sooner.
import type { Table } from "../../domain/snapshot.ts";
import { stayInstants } from "./instant.ts";
import type { ExactProblem } from "./model.ts";

export interface Shortfall {
  readonly instant: number;
  /** What was counted, e.g. "seats at tables of 4 or more". */
  readonly counted: string;
  readonly need: number;
  readonly have: number;
}

interface Weight {
  readonly counted: string;
  readonly of: ReadonlyMap<string, number>;
}

/** An instant of the new booking's stay at which its neighbours need more than the room has, or null. */
export function countingShortfall(problem: ExactProblem, tables: readonly Table[]): Shortfall | null {
  const weights = weightsFor(tables);
  const { windowStart, windowEnd } = problem.subject;
  const items = [problem.subject, ...problem.movable].filter((item) =>
    item.windowStart < windowEnd && windowStart < item.windowEnd
  );
  const usable = items.map((item) => new Set(item.options.flat()));
  const needs = items.map((item) =>
    weights.map((w) =>
      Math.min(...item.options.map((ids) => ids.reduce((n, id) => n + (w.of.get(id) ?? 0), 0)))
    )
  );
  for (const instant of stayInstants(problem)) {
    const present = items.flatMap((item, i) =>
      item.windowStart <= instant && instant < item.windowEnd ? [i] : []
    );
    const open = new Set(present.flatMap((i) => [...usable[i]]));
    for (const [k, w] of weights.entries()) {
      const need = present.reduce((n, i) => n + needs[i][k], 0);
      let have = 0;
      for (const id of open) have += w.of.get(id) ?? 0;
      if (need > have) return { instant, counted: w.counted, need, have };
    }
  }
  return null;
}

function weightsFor(tables: readonly Table[]): Weight[] {
  const subsets: { what: string; tables: readonly Table[] }[] = [{ what: "tables", tables }];
  const capacities = [...new Set(tables.map((t) => t.capacity))].sort((a, b) => a - b);
  for (const c of capacities) {
    subsets.push({ what: `tables of ${c} or more`, tables: tables.filter((t) => t.capacity >= c) });
    subsets.push({ what: `tables of ${c} or fewer`, tables: tables.filter((t) => t.capacity <= c) });
  }
  for (const zone of new Set(tables.map((t) => t.zoneId))) {
    subsets.push({ what: `tables of zone ${zone}`, tables: tables.filter((t) => t.zoneId === zone) });
  }
  const weights: Weight[] = [];
  const seen = new Set<string>();
  for (const { what, tables: subset } of subsets) {
    const key = subset.map((t) => t.id).sort().join();
    if (subset.length === 0 || seen.has(key)) continue;
    seen.add(key);
    weights.push({ counted: what, of: new Map(subset.map((t) => [t.id, 1])) });
    weights.push({ counted: `seats at ${what}`, of: new Map(subset.map((t) => [t.id, t.capacity])) });
  }
  return weights;
}
