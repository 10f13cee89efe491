// The table-packing MILP of the reference ILP (A.13), solved with HiGHS: each item (a booking) takes at most
// one option (a table or a combination), and no table holds two items at once. Intervals are half-open, so
// the clique constraints only need the instants where some item starts.
import highsModule, { type Highs } from "highs";

export interface PackingItem {
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Each option is a list of table indices. */
  readonly options: readonly (readonly number[])[];
  /** Objective value of choosing each option (maximised). */
  readonly values: readonly number[];
  /** The item must be seated. */
  readonly required: boolean;
  /** An option index to start from, for a warm start. */
  readonly start?: number | null;
}

export interface PackingSolve {
  readonly status: "optimal" | "feasible" | "infeasible" | "unknown";
  /** The option chosen per item, or null. */
  readonly choice: readonly (number | null)[];
  readonly objective: number;
  /** Best proven bound on the objective. */
  readonly bound: number;
  readonly gap: number;
  readonly seconds: number;
  readonly columns: number;
  readonly rows: number;
  /** Per item, each option's value in the LP relaxation (linearRelaxation only). */
  readonly fractional?: readonly (readonly number[])[];
}

export interface PackingOptions {
  readonly tableCount: number;
  readonly timeLimitSeconds: number;
  readonly relativeGap?: number;
  /** Solve the LP relaxation only and report each option's fractional value. */
  readonly linearRelaxation?: boolean;
  /** Constrain only instants in [from, to): a relaxation when items outside it are dropped. */
  readonly within?: readonly [number, number];
}

// The package is CommonJS with ES-style declarations, so the checker types the default import as the whole
// module while Deno runs the package's ES build, whose default export is the loader itself.
const highsLoader = highsModule as unknown as typeof highsModule.default;

/**
 * HiGHS in WebAssembly, kept usable: a solve that aborts the module (it runs out of WebAssembly memory on the
 * largest models) is reported as status "unknown" and the module is loaded afresh for the next one.
 */
export class PackingSolver {
  /** Solves that aborted the module, each answered "unknown". */
  aborts = 0;

  private constructor(private highs: Highs) {}

  static async load(): Promise<PackingSolver> {
    return new PackingSolver(await highsLoader());
  }

  async solve(items: readonly PackingItem[], options: PackingOptions): Promise<PackingSolve> {
    const started = performance.now();
    try {
      return solvePacking(this.highs, items, options);
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      this.aborts++;
      this.highs = await highsLoader();
      return {
        status: "unknown",
        choice: items.map(() => null),
        objective: 0,
        bound: Infinity,
        gap: 1,
        seconds: (performance.now() - started) / 1000,
        columns: 0,
        rows: 0,
      };
    }
  }
}

export function solvePacking(
  highs: Highs,
  items: readonly PackingItem[],
  options: PackingOptions,
): PackingSolve {
  const started = performance.now();
  const columnOf: number[] = [];
  let columns = 0;
  for (const item of items) {
    columnOf.push(columns);
    columns += item.options.length;
  }
  const rows: number[][] = items.map((item, i) => item.options.map((_, k) => columnOf[i] + k));
  const lower: number[] = items.map((item) => (item.required ? 1 : 0));
  for (const row of conflictRows(items, columnOf, options)) {
    rows.push(row);
    lower.push(-highs.infinity);
  }
  if (columns === 0) {
    const infeasible = items.some((item) => item.required);
    return {
      status: infeasible ? "infeasible" : "optimal",
      choice: items.map(() => null),
      objective: 0,
      bound: 0,
      gap: 0,
      seconds: 0,
      columns: 0,
      rows: 0,
    };
  }
  const starts = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => (starts[r + 1] = starts[r] + row.length));
  const model = highs.createModel({
    numCols: columns,
    numRows: rows.length,
    sense: highs.constants.objectiveSense.maximize,
    colCost: items.flatMap((item) => item.values),
    colLower: new Float64Array(columns),
    colUpper: new Float64Array(columns).fill(1),
    rowLower: lower,
    rowUpper: rows.map(() => 1),
    matrix: {
      format: "csr",
      numRows: rows.length,
      numCols: columns,
      starts,
      indices: Int32Array.from(rows.flat()),
      values: new Float64Array(starts[rows.length]).fill(1),
    },
    integrality: new Int32Array(columns).fill(
      options.linearRelaxation
        ? highs.constants.variableType.continuous
        : highs.constants.variableType.integer,
    ),
  });
  try {
    model.options.set({
      output_flag: false,
      time_limit: options.timeLimitSeconds,
      mip_rel_gap: options.relativeGap ?? 1e-6,
      random_seed: 1,
    });
    if (items.some((item) => item.start != null)) {
      const hint = new Float64Array(columns);
      items.forEach((item, i) => item.start != null && (hint[columnOf[i] + item.start] = 1));
      model.setSolution({ colValue: hint });
    }
    model.run();
    const code = model.getModelStatus();
    const s = highs.constants.modelStatus;
    const solved = model.info.get("primal_solution_status") === 2;
    const status = code === s.optimal
      ? "optimal"
      : code === s.infeasible
      ? "infeasible"
      : solved
      ? "feasible"
      : "unknown";
    const value = solved ? model.getSolution().colValue : undefined;
    const choice = items.map((item, i) => {
      if (!value) return null;
      const k = item.options.findIndex((_, k) => value[columnOf[i] + k] > 0.5);
      return k < 0 ? null : k;
    });
    const objective = solved ? model.getObjectiveValue() : 0;
    const bound = status === "infeasible" ? 0 : Number(model.info.get("mip_dual_bound"));
    const fractional = options.linearRelaxation && value
      ? items.map((item, i) => item.options.map((_, k) => value[columnOf[i] + k]))
      : undefined;
    return {
      status,
      fractional,
      choice,
      objective,
      bound,
      gap: status === "optimal"
        ? 0
        : solved
        ? Math.abs(bound - objective) / Math.max(1, Math.abs(objective))
        : 1,
      seconds: (performance.now() - started) / 1000,
      columns,
      rows: rows.length,
    };
  } finally {
    model.dispose();
  }
}

/**
 * One row per table per instant where an item starts: the options holding that table for items present
 * then sum to at most one. A row whose items are a subset of the table's previous row adds nothing.
 */
function conflictRows(
  items: readonly PackingItem[],
  columnOf: readonly number[],
  options: PackingOptions,
): number[][] {
  const [from, to] = options.within ?? [-Infinity, Infinity];
  const instants = new Set<number>();
  for (const item of items) {
    const p = Math.max(item.windowStart, from);
    if (p < to && p < item.windowEnd) instants.add(p);
  }
  const byTable: { item: number; column: number }[][] = Array.from({ length: options.tableCount }, () => []);
  items.forEach((item, i) =>
    item.options.forEach((tables, k) => {
      for (const t of tables) byTable[t].push({ item: i, column: columnOf[i] + k });
    })
  );
  const sorted = [...instants].sort((a, b) => a - b);
  const rows: number[][] = [];
  for (const uses of byTable) {
    let previous = new Set<number>();
    for (const p of sorted) {
      const present = uses.filter(({ item }) => items[item].windowStart <= p && p < items[item].windowEnd);
      const itemsHere = new Set(present.map((u) => u.item));
      if (itemsHere.size < 2) {
        previous = itemsHere;
        continue;
      }
      if ([...itemsHere].every((i) => previous.has(i))) continue;
      rows.push(present.map((u) => u.column));
      previous = itemsHere;
    }
  }
  return rows;
}
