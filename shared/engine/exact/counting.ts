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

/** A weight on the tables: what it counts, and how much of it the table at each position of the room carries. */
interface Weight {
  readonly counted: string;
  readonly of: Int32Array;
}

/**
 * An instant of the new booking's stay at which its neighbours need more than the room has; null when there
 * is none, or when `outOfTime` says so first. A room of very many table sizes, full of bookings each of which
 * could sit at most of its tables, takes long to count (150 sizes and 150 such couples, about fourteen million
 * reads), so counting asks before each weight it lists, each booking's needs and each instant, as the rest of
 * the exact path does.
 */
export function countingShortfall(
  problem: ExactProblem,
  tables: readonly Table[],
  outOfTime: () => boolean = () => false,
): Shortfall | null {
  const weights = weightsFor(tables, outOfTime);
  if (!weights) return null;
  const position = new Map(tables.map((t, i) => [t.id, i]));
  const positions = (ids: readonly string[]) => ids.flatMap((id) => position.get(id) ?? []);
  const { windowStart, windowEnd } = problem.subject;
  const items = [problem.subject, ...problem.movable].filter((item) =>
    item.windowStart < windowEnd && windowStart < item.windowEnd
  );
  const usable = items.map((item) => new Set(positions(item.options.flat())));
  const needs: number[][] = [];
  for (const item of items) {
    if (outOfTime()) return null;
    const options = item.options.map(positions);
    needs.push(weights.map(({ of }) => Math.min(...options.map((at) => at.reduce((n, i) => n + of[i], 0)))));
  }
  for (const instant of stayInstants(problem)) {
    if (outOfTime()) return null;
    const present = items.flatMap((item, i) =>
      item.windowStart <= instant && instant < item.windowEnd ? [i] : []
    );
    const open = new Set(present.flatMap((i) => [...usable[i]]));
    for (const [k, w] of weights.entries()) {
      const need = present.reduce((n, i) => n + needs[i][k], 0);
      let have = 0;
      for (const i of open) have += w.of[i];
      if (need > have) return { instant, counted: w.counted, need, have };
    }
  }
  return null;
}

/** The most weights' worth of table positions kept (8 MB): past it, the zones are left out of the count. */
const WEIGHT_CELLS = 2_000_000;

/**
 * Weights that count tables and seats over the whole room, each capacity and up or down (at most 201 subsets:
 * a table seats at most 100) and each zone, each as an array by the tables' positions, unless the room has so
 * many zones that their arrays would outgrow WEIGHT_CELLS: then the zones are left out, which proves less,
 * never something false. A subset that another already names (the same tables) is counted once, told apart by
 * its tables' count, seats and a hash of their positions (a collision too could only leave a weight out). Null
 * when `outOfTime` says so first.
 */
function weightsFor(tables: readonly Table[], outOfTime: () => boolean): Weight[] | null {
  const subsets: { what: string; has: (t: Table) => boolean }[] = [{ what: "tables", has: () => true }];
  for (const c of [...new Set(tables.map((t) => t.capacity))].sort((a, b) => a - b)) {
    subsets.push({ what: `tables of ${c} or more`, has: (t) => t.capacity >= c });
    subsets.push({ what: `tables of ${c} or fewer`, has: (t) => t.capacity <= c });
  }
  const zones = new Set(tables.map((t) => t.zoneId));
  if ((subsets.length + zones.size) * 2 * tables.length <= WEIGHT_CELLS) {
    for (const zone of zones) subsets.push({ what: `tables of zone ${zone}`, has: (t) => t.zoneId === zone });
  }
  const weights: Weight[] = [];
  const seen = new Set<string>();
  for (const { what, has } of subsets) {
    if (outOfTime()) return null;
    const count = new Int32Array(tables.length);
    const seats = new Int32Array(tables.length);
    let members = 0, seated = 0, hash = 0;
    tables.forEach((t, i) => {
      if (!has(t)) return;
      count[i] = 1;
      seats[i] = t.capacity;
      members++;
      seated += t.capacity;
      hash = (Math.imul(hash, 31) + i + 1) | 0;
    });
    const key = `${members}/${seated}/${hash}`;
    if (members === 0 || seen.has(key)) continue;
    seen.add(key);
    weights.push({ counted: what, of: count }, { counted: `seats at ${what}`, of: seats });
  }
  return weights;
}
