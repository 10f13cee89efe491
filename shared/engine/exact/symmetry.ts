// A proof that no re-seating exists, from the linear relaxation of the whole affected period, stated once per
// class of interchangeable parts of the room instead of once per part. Tables fall into parts no arrangement
// spans (a row of 4-tops that join); two parts are interchangeable when every booking's arrangements on the
// one are, table for table, its arrangements on the other (so the fixed holds on them agree too). Averaging a
// solution of the relaxation over the permutations of interchangeable parts gives a solution that uses each
// part of a class alike, so the relaxation has a solution exactly when the one with a column per booking and
// arrangement *shape* (summed over the class's parts) has one. In the 60-table room, whose 14 rows of 4-tops
// are interchangeable while no booking is locked, that is a fourteenth of the columns and rows: a few
// milliseconds where the full relaxation took a few hundred. No solution of the relaxation means no
// re-seating at all. In a full room the relaxation alone refutes most of the refusals the per-instant
// relaxations cannot (they depend on how bookings chain over time); what it cannot refute is left to the
// full model.
import type { IntegerProgram } from "./highs.ts";
import type { Milp } from "./milp.ts";
import type { ExactModel } from "./model.ts";

/** A class of interchangeable parts: each part's tables, in the order that maps one part onto another. */
export type PartClass = readonly (readonly string[])[];

/** Classes of two or more interchangeable parts of the tables the model's arrangements use. */
export function interchangeableParts(model: ExactModel, tableOrder: readonly string[]): PartClass[] {
  const rank = new Map(tableOrder.map((id, i) => [id, i]));
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(id, r);
    return r;
  };
  for (const item of model.items) {
    for (const tables of item.options) {
      for (const id of tables) if (!parent.has(id)) parent.set(id, id);
      for (const id of tables.slice(1)) parent.set(root(id), root(tables[0]));
    }
  }
  const members = new Map<string, string[]>();
  for (const id of parent.keys()) {
    const r = root(id);
    const list = members.get(r);
    if (list) list.push(id);
    else members.set(r, [id]);
  }
  const byOrder = (a: string, b: string) =>
    (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0);
  const parts = [...members.values()].map((tables) => tables.sort(byOrder));
  const partOf = new Map<string, number>();
  const position = new Map<string, number>();
  parts.forEach((tables, p) => tables.forEach((id, i) => (partOf.set(id, p), position.set(id, i))));
  // A part's signature: per booking, its arrangements on the part as sets of positions in the part.
  const perItem = parts.map(() => [] as (string | number)[]);
  model.items.forEach((item, i) => {
    const shapes = new Map<number, (string | number)[]>();
    for (const tables of item.options) {
      const p = partOf.get(tables[0])!;
      const list = shapes.get(p) ?? shapes.set(p, []).get(p)!;
      list.push(shape(tables.map((id) => position.get(id)!)));
    }
    for (const [p, list] of shapes) perItem[p].push(i, ":", ...list.sort(), "|");
  });
  const classes = new Map<string, string[][]>();
  parts.forEach((tables, p) => {
    const signature = `${tables.length}/${perItem[p].join(",")}`;
    const known = classes.get(signature);
    if (known) known.push(tables);
    else classes.set(signature, [tables]);
  });
  return [...classes.values()].filter((c) => c.length > 1);
}

/**
 * The linear relaxation of `milp` (built from `model`) with each class of interchangeable parts folded into
 * its first part: one column per booking and arrangement shape on the class, and the first part's rows with
 * room for as many bookings as the class has parts. It has a solution exactly when the relaxation does.
 * Costs are only a guide (staying put is free), as the question is whether any solution exists.
 */
export function foldedRelaxation(
  model: ExactModel,
  milp: Milp,
  tableOrder: readonly string[],
): IntegerProgram {
  const classOf = new Map<string, { index: number; size: number; first: boolean; position: number }>();
  interchangeableParts(model, tableOrder).forEach((parts, index) => {
    parts.forEach((tables, j) =>
      tables.forEach((id, position) =>
        classOf.set(id, { index, size: parts.length, first: j === 0, position })
      )
    );
  });
  // Each column of the model maps to a folded column: per booking, the arrangement or, on a class, its shape.
  const columnMap = new Int32Array(milp.columns);
  const columns: { upper: number; integer: boolean; cost: number }[] = [];
  model.items.forEach((item, i) => {
    const shapes = new Map<number, Map<string | number, number>>();
    item.options.forEach((tables, k) => {
      const c = milp.columnOf[i] + k;
      const cls = classOf.get(tables[0]);
      let f: number | undefined;
      if (cls) {
        const onClass = shapes.get(cls.index) ?? shapes.set(cls.index, new Map()).get(cls.index)!;
        const key = shape(tables.map((id) => classOf.get(id)!.position));
        f = onClass.get(key);
        if (f === undefined) onClass.set(key, f = columns.push({ upper: 1, integer: false, cost: 1 }) - 1);
      } else {
        f = columns.push({ upper: 1, integer: false, cost: 1 }) - 1;
      }
      if (milp.cost[c] === 0) columns[f].cost = 0;
      columnMap[c] = f;
    });
  });
  const rows: { terms: [number, number][]; lower: number; upper: number }[] = [];
  milp.rows.forEach((row, r) => {
    let upper = 1;
    if (r >= milp.items) {
      const cls = classOf.get(milp.tableOf[r - milp.items]);
      if (cls && !cls.first) return;
      if (cls) upper = cls.size;
    }
    // A folded column is the sum of the columns it stands for, so each enters a row once.
    const terms = [...new Set(Array.from(row, (c) => columnMap[c]))].map((f): [number, number] => [f, 1]);
    rows.push({ terms, lower: r < milp.items ? 1 : -Infinity, upper });
  });
  return { columns, rows };
}

/** A set of positions in a part as one value: a bit mask while the part is small, else the sorted list. */
function shape(positions: readonly number[]): string | number {
  if (positions.every((p) => p < 31)) return positions.reduce((mask, p) => mask | (1 << p), 0);
  return [...positions].sort((a, b) => a - b).join(".");
}
