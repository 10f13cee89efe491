// The exact model as a 0-1 program: one column per (booking, arrangement), one row per booking (exactly one
// arrangement), and per table one row for each group of bookings present at the same instant (at most one
// of them on it). Overlapping half-open windows always share the later start, so the instants where some
// booking starts (or where the model's range starts) are enough, and a group contained in the table's
// previous group adds nothing.
import type { ExactModel } from "./model.ts";

export interface Milp {
  readonly columns: number;
  /** First column of each item; item i's option k is column columnOf[i] + k. */
  readonly columnOf: readonly number[];
  /** Cost per column: 1 for an arrangement other than the one a booking holds. */
  readonly cost: readonly number[];
  /** Rows as column lists, all coefficients 1; the first `items` rows are equalities (= 1). */
  readonly rows: readonly (readonly number[])[];
  readonly items: number;
  /** The table of each row after the first `items` (row `items + r` keeps table `tableOf[r]` to one booking). */
  readonly tableOf: readonly string[];
  /** When set, one more row: at most this many bookings move (the columns that cost 1). */
  readonly movesAtMost?: number;
}

export function toMilp(model: ExactModel): Milp {
  const columnOf: number[] = [];
  const cost: number[] = [];
  const uses = new Map<string, { item: number; column: number }[]>();
  model.items.forEach((item, i) => {
    columnOf.push(cost.length);
    item.options.forEach((tableIds, k) => {
      const column = cost.length;
      cost.push(item.current === null || item.current === k ? 0 : 1);
      for (const id of tableIds) {
        const onTable = uses.get(id);
        if (onTable) onTable.push({ item: i, column });
        else uses.set(id, [{ item: i, column }]);
      }
    });
  });
  const rows: number[][] = model.items.map((item, i) => item.options.map((_, k) => columnOf[i] + k));
  const [from, to] = model.within;
  const instants = [
    ...new Set(
      model.items.map((item) => Math.max(item.windowStart, from)).filter((p, i) =>
        p < to && p < model.items[i].windowEnd
      ),
    ),
  ].sort((a, b) => a - b);
  const tableOf: string[] = [];
  for (const [table, onTable] of uses) {
    let previous = new Set<number>();
    for (const p of instants) {
      const present = onTable.filter(({ item }) =>
        model.items[item].windowStart <= p && p < model.items[item].windowEnd
      );
      const here = new Set(present.map((u) => u.item));
      if (here.size < 2 || [...here].every((i) => previous.has(i))) {
        if (here.size < 2) previous = here;
        continue;
      }
      rows.push(present.map((u) => u.column));
      tableOf.push(table);
      previous = here;
    }
  }
  return { columns: cost.length, columnOf, cost, rows, items: model.items.length, tableOf };
}
